import { readFileSync } from "node:fs";
import type { AgentEvent } from "@corral/core";
import { describeAgentParserConformance } from "@corral/core/testing";
import { describe, expect, it } from "vitest";
import { opencode, opencodeAgent } from "./index.js";
import { createOpencodeParser } from "./parser.js";

/** Streams recorded from the real OpenCode CLI 1.18.33 (`opencode run --format json`) against @corral/mock-model-api. */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8").split("\n").filter(Boolean);

function parseLines(lines: string[]): AgentEvent[] {
  const parser = createOpencodeParser();
  return [...lines.flatMap((line) => parser.parse(line, "stdout")), ...(parser.end?.() ?? [])];
}

const ofType = <T extends AgentEvent["type"]>(events: AgentEvent[], type: T) => events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);

describe("opencode run --format json parser, recorded streams", () => {
  it("reads the session, text, the bash call with its output and exit code, and each step's usage of a run that commits", () => {
    const events = parseLines(fixture("opencode-tool-commit.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["session", "text", "tool-call", "tool-result", "usage", "text", "usage", "result"]);
    expect(ofType(events, "session")[0]).toEqual({ type: "session", sessionId: "ses_dcb1e205cffe7594ySYm8JkH3G" });
    expect(ofType(events, "tool-call")[0]).toMatchObject({ id: "call_mock_1_0", name: "bash", input: { command: expect.stringContaining("git commit") } });
    expect(ofType(events, "tool-result")[0]).toEqual({ type: "tool-result", id: "call_mock_1_0", output: "committed\n", exitCode: 0 });
    expect(ofType(events, "text").map((e) => e.text)).toEqual(["Writing the file.", "Done. <promise>COMPLETE</promise>"]);
    // The mock's 110 prompt tokens of which 10 cached: OpenCode already reports them apart.
    expect(ofType(events, "usage").map((e) => e.usage)).toEqual([
      { inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, cacheWriteTokens: 0 },
      { inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, cacheWriteTokens: 0 },
    ]);
    // OpenCode prints no closing line: the result is the last text, made at the end.
    expect(ofType(events, "result")[0]).toEqual({ type: "result", isError: false, text: "Done. <promise>COMPLETE</promise>", turns: 2 });
  });

  it("a text answer: one step, its usage, the text as the result", () => {
    const events = parseLines(fixture("opencode-text.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["session", "text", "usage", "result"]);
    expect(ofType(events, "usage")[0]!.usage).toEqual({ inputTokens: 1200, outputTokens: 7, cacheReadTokens: 300, cacheWriteTokens: 0 });
    expect(ofType(events, "result")[0]).toMatchObject({ isError: false, text: "The answer is 42." });
  });

  it("a resumed session (`--session`) reports the same session id and only its own step's usage", () => {
    const first = ofType(parseLines(fixture("opencode-text.jsonl")), "session")[0]!.sessionId;
    const events = parseLines(fixture("opencode-resume.jsonl"));
    expect(ofType(events, "session")[0]!.sessionId).toBe(first);
    expect(ofType(events, "usage").map((e) => e.usage.inputTokens)).toEqual([100]);
  });

  it("an API error becomes an error event and a failed result naming the status and the API's message", () => {
    const events = parseLines(fixture("opencode-api-error.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["session", "error", "result"]);
    expect(ofType(events, "error")[0]!.message).toBe("APIError 401: invalid api key sk-test-secret");
    expect(ofType(events, "result")[0]).toMatchObject({ isError: true, text: "APIError 401: invalid api key sk-test-secret" });
  });

  it("a shell command that exits non-zero is a completed tool result with its exit code", () => {
    const events = parseLines(fixture("opencode-tool-exit.jsonl"));
    expect(ofType(events, "tool-call")[0]).toMatchObject({ name: "bash", input: { command: "exit 3" } });
    expect(ofType(events, "tool-result")[0]).toEqual({ type: "tool-result", id: "call_mock_1_0", output: "(no output)", exitCode: 3 });
    expect(ofType(events, "result")[0]).toMatchObject({ isError: false, text: "It failed.", turns: 2 });
  });

  it("a failed tool call is a tool result marked as an error; a cost OpenCode knows is reported, per step and in the result", () => {
    const line = (o: unknown) => JSON.stringify(o);
    const events = parseLines([
      line({ type: "tool_use", sessionID: "ses_1", part: { type: "tool", tool: "read", callID: "c1", state: { status: "error", input: { filePath: "/x" }, error: "File not found: /x" } } }),
      line({ type: "step_finish", sessionID: "ses_1", part: { type: "step-finish", reason: "stop", cost: 0.0125, tokens: { input: 10, output: 5, reasoning: 3, cache: { read: 0, write: 7 } } } }),
    ]);
    expect(ofType(events, "tool-result")[0]).toEqual({ type: "tool-result", id: "c1", output: "File not found: /x", isError: true });
    expect(ofType(events, "usage")[0]!.usage).toEqual({ inputTokens: 10, outputTokens: 8, cacheReadTokens: 0, cacheWriteTokens: 7, costUsd: 0.0125 });
    expect(ofType(events, "result")[0]).toMatchObject({ isError: false, costUsd: 0.0125, turns: 1 });
  });

  it("stderr, noise and unknown event types pass through as raw; a stream with no step makes no result", () => {
    const events = parseLines(['{"type":"future_kind","sessionID":"ses_2"}', "not json", '{"type":"text","part":{}}']);
    expect(events.map((e) => e.type)).toEqual(["session", "raw", "raw", "raw"]);
    expect(createOpencodeParser().parse("opencode: warning", "stderr")).toEqual([{ type: "raw", line: "opencode: warning", stream: "stderr" }]);
  });
});

describeAgentParserConformance("opencode", () => opencodeAgent.create(opencode({ model: "m" }).options), {
  jsonLines: true,
  transcript: fixture("opencode-tool-commit.jsonl").map((line) => ({ line })),
  expectTypes: ["session", "text", "tool-call", "tool-result", "usage", "result"],
});
