import { readFileSync } from "node:fs";
import type { AgentEvent } from "@corral/core";
import { describeAgentParserConformance } from "@corral/core/testing";
import { LineSplitter } from "@corral/core/plugin-kit";
import { describe, expect, it } from "vitest";
import { codex, codexAgent } from "./index.js";
import { createCodexParser, type CodexParserOptions } from "./parser.js";
import { ThreadUsage } from "./usage.js";

/** Streams recorded from the real Codex CLI 0.169.0 against @corral/mock-model-api. */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8").split("\n").filter(Boolean);

function parseLines(lines: string[], options?: CodexParserOptions): AgentEvent[] {
  const parser = createCodexParser(options);
  return [...lines.flatMap((line) => parser.parse(line, "stdout")), ...(parser.end?.() ?? [])];
}

const ofType = <T extends AgentEvent["type"]>(events: AgentEvent[], type: T) => events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);

describe("codex exec --json parser, recorded streams", () => {
  it("reads the thread, messages, the command and its exit code, and usage of a run that commits", () => {
    const events = parseLines(fixture("codex-tool-commit.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["session", "error", "text", "tool-call", "tool-result", "text", "usage", "result"]);
    expect(ofType(events, "session")[0]).toEqual({ type: "session", sessionId: "01a20379-ab7e-7972-99a7-635eb8e8b86a" });
    expect(ofType(events, "tool-call")[0]).toMatchObject({ id: "item_2", name: "shell", input: { command: expect.stringContaining("git commit") } });
    expect(ofType(events, "tool-result")[0]).toEqual({ type: "tool-result", id: "item_2", output: "done\n", exitCode: 0 });
    expect(ofType(events, "text").map((e) => e.text)).toEqual(["I'll write the file.", "Done. <promise>COMPLETE</promise>"]);
    // 220 input tokens of which 20 cached: corral counts them apart.
    expect(ofType(events, "usage")[0]!.usage).toEqual({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 20, cacheWriteTokens: 0 });
    expect(ofType(events, "result")[0]).toEqual({ type: "result", isError: false, text: "Done. <promise>COMPLETE</promise>" });
  });

  it("reports only the resumed exec's own usage, although codex reports the thread's total", () => {
    const threads = new ThreadUsage();
    parseLines(fixture("codex-tool-commit.jsonl"), { threads });
    const events = parseLines(fixture("codex-resume.jsonl"), { threads, resumedThreadId: "01a20379-ab7e-7972-99a7-635eb8e8b86a" });
    expect(ofType(events, "usage")[0]!.usage).toEqual({ inputTokens: 7, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 });
  });

  it("the agent's parser for a resumed exec learns of the resume from its input", () => {
    const agent = codexAgent.create(codex({ model: "m" }).options);
    const first = agent.parser({ prompt: "go", iteration: 1, home: "/h", cwd: "/w" });
    for (const line of fixture("codex-tool-commit.jsonl")) first.parse(line, "stdout");
    const resumed = agent.parser({ prompt: "again", iteration: 2, home: "/h", cwd: "/w", resumeSessionId: "01a20379-ab7e-7972-99a7-635eb8e8b86a" });
    const usage = fixture("codex-resume.jsonl").flatMap((line) => resumed.parse(line, "stdout")).find((e) => e.type === "usage");
    expect(usage).toMatchObject({ usage: { inputTokens: 7, outputTokens: 3 } });
  });

  it("fails on turn.failed after an HTTP 500, with codex's message", () => {
    const events = parseLines(fixture("codex-error.jsonl"));
    expect(ofType(events, "result")).toEqual([{ type: "result", isError: true, text: "We’re currently experiencing high demand, which may cause temporary errors." }]);
    expect(ofType(events, "usage")).toEqual([]);
  });

  it("fails on an HTTP 400 with the API's own message", () => {
    const [result] = ofType(parseLines(fixture("codex-error400.jsonl")), "result");
    expect(result).toMatchObject({ isError: true, text: expect.stringContaining("Invalid model (mock 400)") });
  });
});

describe("codex parser, robustness", () => {
  const parse = (lines: object[]) => parseLines(lines.map((l) => JSON.stringify(l)));

  it("passes unknown events and items, non-JSON and stderr through as raw", () => {
    const parser = createCodexParser();
    for (const line of ['{"type":"session.configured"}', '{"type":"item.completed","item":{"type":"brand_new"}}', "Reading prompt from stdin...", "[]"])
      expect(parser.parse(line, "stdout")).toEqual([{ type: "raw", line, stream: "stdout" }]);
    expect(parser.parse('{"type":"turn.started"}', "stderr")).toEqual([{ type: "raw", line: '{"type":"turn.started"}', stream: "stderr" }]);
  });

  it("reports a transient error without failing, and fails a stream that ends on an error", () => {
    const recovered = parse([{ type: "error", message: "Reconnecting... 1/5" }, { type: "turn.completed", usage: {} }]);
    expect(ofType(recovered, "result")).toEqual([{ type: "result", isError: false }]);
    const died = parse([{ type: "thread.started", thread_id: "t" }, { type: "error", message: "stream disconnected" }]);
    expect(ofType(died, "result")).toEqual([{ type: "result", isError: true, text: "stream disconnected" }]);
  });

  it("a reconnect is a retry event (attempt of max, and why), not an error", () => {
    const events = parse([{ type: "error", message: "Reconnecting... 2/5 (We’re currently experiencing high demand)" }, { type: "error", message: "Reconnecting... 1/5" }]);
    expect(events).toEqual([
      { type: "retry", attempt: 2, maxRetries: 5, message: "We’re currently experiencing high demand" },
      { type: "retry", attempt: 1, maxRetries: 5 },
      // the stream ended on it: the last message is the failure
      { type: "result", isError: true, text: "Reconnecting... 1/5" },
    ]);
  });

  it("reads a failed command, file changes and MCP calls", () => {
    const events = parse([
      { type: "item.completed", item: { id: "c", type: "command_execution", command: "false", aggregated_output: "", exit_code: 1, status: "failed" } },
      { type: "item.completed", item: { id: "f", type: "file_change", changes: [{ path: "a.txt", kind: "add" }], status: "completed" } },
      { type: "item.completed", item: { id: "m", type: "mcp_tool_call", server: "docs", tool: "find", arguments: { q: 1 }, error: { message: "boom" }, status: "failed" } },
    ]);
    expect(events).toEqual([
      { type: "tool-call", id: "c", name: "shell", input: { command: "false" } },
      { type: "tool-result", id: "c", output: "", exitCode: 1, isError: true },
      { type: "tool-call", id: "f", name: "file_change", input: { changes: [{ path: "a.txt", kind: "add" }] } },
      { type: "tool-result", id: "f", output: "add a.txt" },
      { type: "tool-call", id: "m", name: "docs.find", input: { q: 1 } },
      { type: "tool-result", id: "m", output: "boom", isError: true },
    ]);
  });
});

describeAgentParserConformance("codex", () => codexAgent.create(codex({ model: "m" }).options), {
  jsonLines: true,
  transcript: fixture("codex-tool-commit.jsonl").map((line) => ({ line })),
  expectTypes: ["session", "text", "tool-call", "tool-result", "usage", "result"],
});

describe("codex parser, a line cut at the run's line cap", () => {
  const line = JSON.stringify({ type: "item.completed", item: { id: "item_0", type: "agent_message", text: "x".repeat(5000) } });
  const split = (maxLineChars: number) => {
    const lines: string[] = [];
    const splitter = new LineSplitter((l) => lines.push(l), { maxLineChars });
    splitter.push(`${line}\n`);
    splitter.end();
    const parser = createCodexParser();
    return lines.flatMap((l) => parser.parse(l, "stdout"));
  };

  it("becomes one error event that names the cut, not a raw event holding the broken JSON", () => {
    const events = split(2000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "error" });
    expect((events[0] as { message: string }).message).toMatch(/Codex printed a line longer than the line cap; it was cut after 2000 characters/);
  });

  it("is read as usual when it fits the cap", () => {
    expect(split(8000)).toContainEqual({ type: "text", text: "x".repeat(5000) });
  });
});
