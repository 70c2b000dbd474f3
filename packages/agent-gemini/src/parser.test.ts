import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { AgentEvent } from "@corral/core";
import { describeAgentParserConformance } from "@corral/core/testing";
import { describe, expect, it } from "vitest";
import { createGeminiParser, gemini, geminiAgent } from "./index.js";
import { identityEnv } from "./setup.js";

// Recorded from Gemini CLI 0.61.0 against @corral/mock-model-api (one shell tool call that commits, then the answer).
const recorded = readFileSync(new URL("./fixtures/commit.stream.jsonl", import.meta.url), "utf8").split("\n").filter(Boolean);
const parse = (lines: string[]): AgentEvent[] => {
  const parser = createGeminiParser();
  return [...lines.flatMap((line) => parser.parse(line, "stdout")), ...(parser.end?.() ?? [])];
};

describeAgentParserConformance("gemini", () => geminiAgent.create(geminiAgent.configure({}).options), {
  jsonLines: true,
  transcript: recorded.map((line) => ({ line })),
  expectTypes: ["session", "text", "tool-call", "tool-result", "usage", "result"],
});

describe("gemini parser", () => {
  it("turns the recorded stream into the session, one text per message, the tool call and result, usage and the result", () => {
    const events = parse(recorded);
    expect(events.filter((e) => e.type !== "raw")).toEqual([
      { type: "session", sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/), model: "gemini-2.5-pro" },
      { type: "text", text: "Writing the file." },
      { type: "tool-call", id: expect.stringContaining("run_shell_command"), name: "run_shell_command", input: { command: expect.stringContaining("git commit") } },
      { type: "tool-result", id: expect.stringContaining("run_shell_command"), output: "committed" },
      // The completion signal arrived in two pieces: joined, it matches.
      { type: "text", text: "Done. <promise>COMPLETE</promise>" },
      // Two turns of the mock's usage: 100 uncached in, 10 cached, 20 out each.
      { type: "usage", usage: { inputTokens: 200, outputTokens: 40, cacheReadTokens: 20, cacheWriteTokens: 0 } },
      { type: "result", isError: false, text: "Done. <promise>COMPLETE</promise>" },
    ]);
    // The user's own prompt, echoed back, is no agent text.
    expect(events.some((e) => e.type === "text" && e.text.includes("Write hello.txt"))).toBe(false);
  });

  it("a result with status error fails the iteration with its message", () => {
    const events = parse([
      '{"type":"init","session_id":"s1","model":"m"}',
      '{"type":"result","status":"error","error":{"type":"Error","message":"[API Error: quota exceeded]"},"stats":{"input_tokens":0,"output_tokens":0}}',
    ]);
    expect(events.at(-1)).toEqual({ type: "result", isError: true, text: "[API Error: quota exceeded]" });
  });

  it("an error line followed by no result fails the exec with it; a failed tool is an error result", () => {
    const events = parse(['{"type":"error","severity":"error","message":"boom"}']);
    expect(events).toEqual([{ type: "error", message: "boom" }, { type: "result", isError: true, text: "boom" }]);
    const tool = parse(['{"type":"tool_result","tool_id":"t1","status":"error","error":{"message":"no such file"}}']);
    expect(tool).toEqual([{ type: "tool-result", id: "t1", output: "no such file", isError: true }]);
  });

  it("text still pending when the stream ends is not lost", () => {
    expect(parse(['{"type":"message","role":"assistant","content":"half","delta":true}'])).toEqual([{ type: "text", text: "half" }]);
  });
});

describe("gemini command", () => {
  const agent = (options = {}) => geminiAgent.create(gemini(options).options);
  const input = { prompt: "p".repeat(200_000), iteration: 1, home: "/home/agent", cwd: "/workspace" };

  it("runs headless with streaming JSON, every tool approved, the prompt on stdin whatever its size", async () => {
    const command = await agent({ model: "gemini-2.5-pro" }).command(input);
    expect(command.argv).toEqual(["gemini", "--output-format", "stream-json", "--yolo", "--skip-trust", "-m", "gemini-2.5-pro", "-p", ""]);
    expect(command.stdin).toBe(input.prompt);
  });

  it("resumes a session by its id; extra args go before -p", async () => {
    const command = await agent({ extraArgs: ["--debug"] }).command({ ...input, resumeSessionId: "abc" });
    expect(command.argv).toEqual(["gemini", "--output-format", "stream-json", "--yolo", "--skip-trust", "--resume", "abc", "--debug", "-p", ""]);
  });

  it("declares its key as a credential and its base URL as passthrough; bad options are rejected", () => {
    expect(agent().env).toEqual({ credentials: ["GEMINI_API_KEY"], passthrough: ["GOOGLE_GEMINI_BASE_URL"] });
    expect(() => gemini({ baseUrl: "not a url" })).toThrow(/baseUrl/);
    expect(() => gemini({ permissionMode: "x" } as never)).toThrow();
  });
});

describe("gemini setup", () => {
  const agent = (options = {}) => geminiAgent.create(gemini(options).options);

  it("writes the per-run settings (API-key auth, nothing phoning home) and points the CLI at the API", async () => {
    const home = mkdtempSync(join(tmpdir(), "corral-gemini-home-"));
    const env = await agent().setup!({ env: { GEMINI_API_KEY: "k", GOOGLE_GEMINI_BASE_URL: "http://127.0.0.1:9" }, home } as never);
    expect(env).toMatchObject({ GOOGLE_GEMINI_BASE_URL: "http://127.0.0.1:9", GEMINI_CLI_NO_RELAUNCH: "true" });
    const settings = JSON.parse(readFileSync(join(home, ".gemini/settings.json"), "utf8"));
    expect(settings).toMatchObject({ security: { auth: { selectedType: "gemini-api-key" } }, telemetry: { enabled: false }, privacy: { usageStatisticsEnabled: false } });
    expect(statSync(join(home, ".gemini/settings.json")).mode & 0o777).toBe(0o600);
    expect(agent().api!({})).toMatchObject({ gateway: { name: "gemini", upstream: "https://generativelanguage.googleapis.com", keyEnv: "GEMINI_API_KEY" } });
  });

  it("without the key: MissingCredentialsError naming the variable, before anything is written", async () => {
    const home = mkdtempSync(join(tmpdir(), "corral-gemini-home-"));
    await expect(agent({ envKey: "MY_GEMINI_KEY" }).setup!({ env: {}, home } as never)).rejects.toMatchObject({ code: "E_MISSING_CREDENTIALS", message: expect.stringContaining("MY_GEMINI_KEY") });
    expect(existsSync(join(home, ".gemini"))).toBe(false);
  });
});

describe("gemini git identity", () => {
  it("hands the identity of the run's ~/.gitconfig over as GIT_AUTHOR_*/GIT_COMMITTER_* (its shell ignores the global config)", async () => {
    const home = mkdtempSync(join(tmpdir(), "corral-gemini-home-"));
    writeFileSync(join(home, ".gitconfig"), '[user]\n\tname = "Ada \\"the\\" Lovelace"\n\temail = "ada@example.com"\n');
    expect(await identityEnv(home)).toEqual({ GIT_AUTHOR_NAME: 'Ada "the" Lovelace', GIT_AUTHOR_EMAIL: "ada@example.com", GIT_COMMITTER_NAME: 'Ada "the" Lovelace', GIT_COMMITTER_EMAIL: "ada@example.com" });
    expect(await identityEnv(mkdtempSync(join(tmpdir(), "corral-gemini-home-")))).toEqual({});
  });
});
