import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "@corral/core";
import { tempDir } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { collectEnv, parseEnvFile } from "./env.js";

async function envFile(text: string): Promise<string> {
  const file = join(await tempDir(), ".env");
  await writeFile(file, text);
  return file;
}

const errorOf = (fn: () => unknown): UsageError => {
  try {
    fn();
  } catch (error) {
    return error as UsageError;
  }
  throw new Error("expected an error");
};

describe("env files", () => {
  it("parses NAME=value, export, quotes and comments", async () => {
    const file = await envFile('# a comment\nexport A=1\nB = "two words"\nC=\'x # y\'\nD=plain # note\nE="q" # note\nF="a\\"b"\n');
    expect(parseEnvFile(file)).toEqual({ A: "1", B: "two words", C: "x # y", D: "plain", E: "q", F: 'a\\"b' });
  });

  it("an empty value (the .env.example placeholder) does not override: the exported key stays in charge", async () => {
    const file = await envFile("ANTHROPIC_API_KEY=\nOTHER=set\nQUOTED=\"\"\n");
    expect(collectEnv({ files: [file], hostEnv: { ANTHROPIC_API_KEY: "sk-exported" } })).toEqual({ OTHER: "set" });
  });

  it("a malformed line is an error naming the file and the line, not its text", async () => {
    const file = await envFile("A=1\n\nthis is not an assignment sk-secret\n");
    const error = errorOf(() => parseEnvFile(file));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.code).toBe("E_USAGE");
    expect(error.message).toBe(`${file}:3 is not NAME=value.`);
    expect(error.hint).toMatch(/Fix or remove that line/);
  });

  it("an unclosed quote is an error naming the file and the line", async () => {
    const file = await envFile('A="never closed\n');
    expect(errorOf(() => parseEnvFile(file)).message).toBe(`${file}:1: the value of A opens a " quote it never closes.`);
    const after = await envFile('A="x" y\n');
    expect(errorOf(() => parseEnvFile(after)).message).toMatch(/:1: the value of A has text after its closing quote/);
  });

  it("a missing file says so, with a hint for the flag or the config", async () => {
    const missing = join(await tempDir(), "nope.env");
    expect(errorOf(() => parseEnvFile(missing))).toMatchObject({ message: `Cannot read the env file ${missing}: it does not exist.`, hint: "Check the --env-file path." });
    expect(errorOf(() => collectEnv({ files: [missing], source: "env in the config" })).hint).toMatch(/cp \.env\.example nope\.env.*envFile in the config/);
  });
});
