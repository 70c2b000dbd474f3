import { readFileSync } from "node:fs";
import { addUsage, emptyUsage, type AgentEvent } from "@corral/core";
import { describe, expect, it } from "vitest";
import { describeAgentParserConformance } from "@corral/core/testing";
import { LineSplitter } from "@corral/core/plugin-kit";
import { claude, claudeAgent } from "./index.js";
import { createClaudeParser } from "./parser.js";

/** Streams recorded from the real Claude Code 2.1.197 against @corral/mock-model-api. */
function parseFixture(name: string): AgentEvent[] {
  const parser = createClaudeParser();
  const lines = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8").split("\n").filter(Boolean);
  return [...lines.flatMap((line) => parser.parse(line, "stdout")), ...(parser.end?.() ?? [])];
}

/** The iteration's tokens: every usage event summed, as the run loop counts them. */
const spent = (events: AgentEvent[]) => ofType(events, "usage").reduce((sum, e) => addUsage(sum, e.usage), emptyUsage());

const ofType = <T extends AgentEvent["type"]>(events: AgentEvent[], type: T) => events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);

describe("claude stream-json parser, recorded streams", () => {
  it("reads session, text, tool call, tool result, usage and result of a run that commits", () => {
    const events = parseFixture("claude-tool-commit.jsonl");
    expect(events.map((e) => e.type).filter((t) => t !== "usage")).toEqual(["session", "text", "tool-call", "tool-result", "text", "result"]);
    const [session] = ofType(events, "session");
    expect(session).toMatchObject({ sessionId: "ef3d35c1-069b-4df8-92b7-8117ab172bbe", model: "claude-sonnet-4-5" });
    expect(session!.tools).toContain("Bash");
    expect(ofType(events, "tool-call")[0]).toMatchObject({ id: "toolu_mock_1_0", name: "Bash", input: { command: expect.stringContaining("git commit") } });
    expect(ofType(events, "tool-result")[0]).toEqual({ type: "tool-result", id: "toolu_mock_1_0", output: "done" });
    expect(ofType(events, "text").map((e) => e.text)).toEqual(["I'll write the file.", "Done. <promise>COMPLETE</promise>"]);
    expect(spent(events)).toEqual({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 20, cacheWriteTokens: 10, costUsd: 0.0012435 });
    expect(ofType(events, "result")[0]).toEqual({ type: "result", isError: false, text: "Done. <promise>COMPLETE</promise>", costUsd: 0.0012435, turns: 2 });
  });

  it("treats is_error: true as a failure although the subtype says success, and the API message is an error, not text", () => {
    const events = parseFixture("claude-error.jsonl");
    expect(ofType(events, "text")).toEqual([]);
    expect(ofType(events, "error")[0]!.message).toContain("API Error: 500 Internal server error: overloaded (mock)");
    const [result] = ofType(events, "result");
    expect(result!.isError).toBe(true);
    expect(result!.text).toContain("overloaded (mock)");
  });

  it("reports permission denials instead of swallowing them", () => {
    const events = parseFixture("claude-denied.jsonl");
    const [result] = ofType(events, "result");
    expect(result!.isError).toBe(false);
    expect(result!.permissionDenials).toEqual([{ tool: "Bash", input: { command: "touch denied.txt", description: "Run a shell command" } }]);
    expect(ofType(events, "tool-result")[0]).toMatchObject({ isError: true, output: expect.stringContaining("Permission to use Bash has been denied") });
  });

  it("fails a run that hit the turn limit, with Claude's own reason", () => {
    const [result] = ofType(parseFixture("claude-maxturns.jsonl"), "result");
    expect(result).toMatchObject({ isError: true, text: "Reached maximum number of turns (1)", turns: 2 });
  });

  it("reports a resumed session's own usage", () => {
    const events = parseFixture("claude-resume.jsonl");
    expect(spent(events)).toMatchObject({ inputTokens: 7, outputTokens: 3 });
    expect(ofType(events, "text").map((e) => e.text)).toEqual(["Second answer after resume"]);
  });
});

describe("claude parser, robustness", () => {
  const parse = (line: string, stream: "stdout" | "stderr" = "stdout") => createClaudeParser().parse(line, stream);

  it("passes unknown types, non-JSON and stderr through as raw", () => {
    for (const line of ['{"type":"stream_event","event":{}}', '{"type":"system","subtype":"hook_started"}', "not json", "[1,2]", '{"broken'])
      expect(parse(line)).toEqual([{ type: "raw", line, stream: "stdout" }]);
    expect(parse("warning: x", "stderr")).toEqual([{ type: "raw", line: "warning: x", stream: "stderr" }]);
  });

  it("reads keys whatever their order and ignores thinking blocks", () => {
    const line = JSON.stringify({ message: { content: [{ thinking: "hmm", type: "thinking" }, { text: "hi", type: "text" }] }, type: "assistant" });
    expect(parse(line)).toEqual([{ type: "text", text: "hi" }]);
  });

  it("joins a tool result given as blocks", () => {
    const line = JSON.stringify({ type: "user", message: { content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "a" }, { type: "image" }] }] } });
    expect(parse(line)).toEqual([{ type: "tool-result", id: "t1", output: "a\n[image]" }]);
  });

  it("fails an error_during_execution result even without is_error", () => {
    const [, result] = parse(JSON.stringify({ type: "result", subtype: "error_during_execution", usage: {} }));
    expect(result).toEqual({ type: "result", isError: true, text: "claude ended with error_during_execution" });
  });
});

describe("claude stream-json parser, retries and tokens spent", () => {
  const line = (value: unknown) => JSON.stringify(value);

  it("an API retry is a retry event (attempt of max), not raw stream-json", () => {
    const parser = createClaudeParser();
    const events = parser.parse(line({ type: "system", subtype: "api_retry", attempt: 2, max_retries: 10, retry_delay_ms: 1059.01, error_status: 500, error: "server_error", session_id: "s" }), "stdout");
    expect(events).toEqual([{ type: "retry", attempt: 2, maxRetries: 10, message: "API error 500 (server_error)", delayMs: 1059 }]);
  });

  it("counts tokens as messages stream in (once per message id), so an iteration stopped before its result still counts them", () => {
    const parser = createClaudeParser();
    const assistant = (id: string, output: number, block: unknown) => line({ type: "assistant", message: { id, model: "m", content: [block], usage: { input_tokens: 100, output_tokens: output, cache_read_input_tokens: 5 } } });
    const events = [
      ...parser.parse(assistant("msg_1", 10, { type: "text", text: "thinking about it" }), "stdout"),
      // the same message's next content block repeats its usage: counted once
      ...parser.parse(assistant("msg_1", 10, { type: "tool_use", id: "t1", name: "Bash", input: { command: "ls" } }), "stdout"),
      ...parser.parse(assistant("msg_2", 4, { type: "text", text: "more" }), "stdout"),
    ];
    expect(spent(events)).toEqual({ inputTokens: 200, outputTokens: 14, cacheReadTokens: 10, cacheWriteTokens: 0 });
    // The result's total wins: the sum of the iteration's usage events is exactly it.
    const withResult = [...events, ...parser.parse(line({ type: "result", subtype: "success", is_error: false, result: "ok", usage: { input_tokens: 200, output_tokens: 30, cache_read_input_tokens: 10 } }), "stdout")];
    expect(spent(withResult)).toEqual({ inputTokens: 200, outputTokens: 30, cacheReadTokens: 10, cacheWriteTokens: 0 });
  });

  it("remembers the usage of the last 256 messages only (a stream of new ids grows no memory); twin: interleaved messages are still counted once each", () => {
    const parser = createClaudeParser();
    const assistant = (id: string, output: number) => line({ type: "assistant", message: { id, model: "m", content: [{ type: "text", text: "x" }], usage: { input_tokens: 1, output_tokens: output } } });
    // Two messages whose lines interleave among 200 others: each counted once, at its latest size.
    const events = [parser.parse(assistant("a", 1), "stdout"), parser.parse(assistant("b", 1), "stdout")].flat();
    for (let i = 0; i < 200; i++) events.push(...parser.parse(assistant(`m${i}`, 1), "stdout"), ...parser.parse(assistant("a", 2), "stdout"), ...parser.parse(assistant("b", 3), "stdout"));
    expect(spent(events)).toEqual({ inputTokens: 202, outputTokens: 200 + 2 + 3, cacheReadTokens: 0, cacheWriteTokens: 0 });
    // A flood of ids: what is remembered stays bounded (an id from 10,000 messages back counts again).
    for (let i = 0; i < 10_000; i++) parser.parse(assistant(`flood${i}`, 1), "stdout");
    expect(spent(parser.parse(assistant("flood0", 1), "stdout"))).toMatchObject({ outputTokens: 1 });
    expect(spent(parser.parse(assistant("flood9999", 1), "stdout"))).toMatchObject({ outputTokens: 0 });
  });
});

describeAgentParserConformance("claude", () => claudeAgent.create(claude().options), {
  jsonLines: true,
  transcript: readFileSync(new URL("./fixtures/claude-tool-commit.jsonl", import.meta.url), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => ({ line })),
  expectTypes: ["session", "text", "tool-call", "tool-result", "usage", "result"],
});

describe("claude parser, a line cut at the run's line cap", () => {
  const line = JSON.stringify({ type: "assistant", message: { id: "m1", content: [{ type: "text", text: "x".repeat(5000) }] } });
  const split = (maxLineChars: number) => {
    const lines: string[] = [];
    const splitter = new LineSplitter((l) => lines.push(l), { maxLineChars });
    splitter.push(`${line}\n`);
    splitter.end();
    return lines.flatMap((l) => createClaudeParser().parse(l, "stdout"));
  };

  it("becomes one error event that names the cut, not a raw event holding the broken JSON", () => {
    const events = split(2000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "error" });
    expect((events[0] as { message: string }).message).toMatch(/longer than the line cap; it was cut after 2000 characters/);
  });

  it("is read as usual when it fits the cap", () => {
    expect(split(8000)).toEqual([{ type: "text", text: "x".repeat(5000) }]);
  });
});
