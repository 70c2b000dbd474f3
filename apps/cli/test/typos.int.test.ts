import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/corral.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa(BIN, args, { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });

describe("typos get the true state and a did-you-mean", () => {
  it("--agent claud: claude is listed as installed (it is, here) and suggested", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--agent", "claud", "--isolation", "in-place", "--prompt", "x"], repo);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('Unknown agent "claud". Known agents: claude, codex, command, copilot, gemini, opencode, pi.');
    expect(r.stderr).not.toContain("(not installed)");
    expect(r.stderr).toContain('hint: Did you mean "claude"?');
  });

  it("a config key such as sandbx", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "corral.config.json"), JSON.stringify({ agent: "command", sandbx: "bwrap" }));
    const r = await corral(["run", "--isolation", "in-place", "--prompt", "x", "--", "true"], repo);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('sandbx: unknown key (did you mean "sandbox"?)');
  });

  it("--cwd to a folder that does not exist says so", async () => {
    const missing = join(await tempDir(), "nonexistent");
    const r = await corral(["run", "--cwd", missing, "--prompt", "x"], await tempDir());
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`The folder ${missing} does not exist.`);
    expect(r.stderr).not.toContain("No agent was chosen");
  });

  it("corral init for codex writes a model (codex has no default)", async () => {
    const repo = await tempRepo();
    const r = await corral(["init", "--agent", "codex", "--sandbox", "bwrap"], repo);
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(repo, "corral.config.ts"), "utf8")).toContain('model: "gpt-5-codex",');
  });
});
