import { readFileSync } from "node:fs";
import type { AgentEvent } from "@corral/core";
import { describeAgentParserConformance } from "@corral/core/testing";
import { describe, expect, it } from "vitest";
import { copilot, copilotAgent } from "./index.js";
import { createCopilotParser, parseCopilotUsageFile } from "./parser.js";

/** Streams recorded from the real GitHub Copilot CLI 1.0.102 (`copilot --output-format json`, BYOK, offline) against @corral/mock-model-api. */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8").split("\n").filter(Boolean);

function parseLines(lines: string[]): AgentEvent[] {
  const parser = createCopilotParser();
  return [...lines.flatMap((line) => parser.parse(line, "stdout")), ...(parser.end?.() ?? [])];
}

const ofType = <T extends AgentEvent["type"]>(events: AgentEvent[], type: T) => events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);

describe("copilot --output-format json parser, recorded streams", () => {
  it("reads the bash call with its output and exit code, the text, and the session and result from the closing line of a run that commits", () => {
    const events = parseLines(fixture("copilot-tool-commit.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["tool-call", "tool-result", "text", "session", "result"]);
    expect(ofType(events, "tool-call")[0]).toMatchObject({ id: "call_mock_1_0", name: "bash", input: { command: expect.stringContaining("git commit") } });
    expect(ofType(events, "tool-result")[0]).toEqual({ type: "tool-result", id: "call_mock_1_0", output: "committed", exitCode: 0 });
    expect(ofType(events, "session")[0]!.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ofType(events, "result")[0]).toEqual({ type: "result", isError: false, text: "Done. <promise>COMPLETE</promise>", turns: 2 });
    // Copilot CLI 1.0.102 prints no token counts on stdout.
    expect(ofType(events, "usage")).toEqual([]);
  });

  it("a text answer: the text and the result", () => {
    const events = parseLines(fixture("copilot-text.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["text", "session", "result"]);
    expect(ofType(events, "result")[0]).toMatchObject({ isError: false, text: "The answer is 42.", turns: 1 });
  });

  it("a resumed session (`--resume=<id>`) reports the same session id", () => {
    const first = ofType(parseLines(fixture("copilot-text.jsonl")), "session")[0]!.sessionId;
    const events = parseLines(fixture("copilot-resume.jsonl"));
    expect(ofType(events, "session")[0]!.sessionId).toBe(first);
    expect(ofType(events, "text")[0]!.text).toBe("Resumed: still 42.");
  });

  it("an API error becomes an error event and a failed result naming the status", () => {
    const events = parseLines(fixture("copilot-api-error.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["error", "session", "result"]);
    expect(ofType(events, "error")[0]!.message).toMatch(/^Authentication failed with provider at http:\/\/127\.0\.0\.1:\d+\/v1 \(HTTP 401\)/);
    expect(ofType(events, "result")[0]).toMatchObject({ isError: true, text: expect.stringContaining("HTTP 401") });
  });

  it("a shell command that exits non-zero is a completed tool result with its exit code, Copilot's trailer cut off", () => {
    const events = parseLines(fixture("copilot-tool-exit.jsonl"));
    expect(ofType(events, "tool-call")[0]).toMatchObject({ name: "bash", input: { command: "echo oops >&2; exit 3" } });
    expect(ofType(events, "tool-result")[0]).toEqual({ type: "tool-result", id: "call_mock_1_0", output: "oops", exitCode: 3 });
    expect(ofType(events, "result")[0]).toMatchObject({ isError: false, text: "It failed.", turns: 2 });
  });

  it("a failed call is a tool result marked as an error; a stream cut before its result line still ends in one", () => {
    const line = (o: unknown) => JSON.stringify(o);
    const events = parseLines([
      line({ type: "assistant.message", data: { content: "Reading.", toolRequests: [{ toolCallId: "c1", name: "view", arguments: { path: "/x" } }] } }),
      line({ type: "tool.execution_complete", data: { toolCallId: "c1", success: false, error: { message: "Path does not exist" } } }),
    ]);
    expect(ofType(events, "tool-result")[0]).toEqual({ type: "tool-result", id: "c1", output: "Path does not exist", isError: true });
    expect(ofType(events, "result")[0]).toEqual({ type: "result", isError: false, text: "Reading.", turns: 1 });
  });

  it("stderr, noise and unknown event types pass through as raw; ephemeral progress lines are left out; a stream with nothing makes no result", () => {
    const events = parseLines(['{"type":"future.kind","data":{}}', "not json", '{"type":"assistant.message_delta","ephemeral":true,"data":{"deltaContent":"x"}}']);
    expect(events.map((e) => e.type)).toEqual(["raw", "raw"]);
    expect(createCopilotParser().parse("copilot: warning", "stderr")).toEqual([{ type: "raw", line: "copilot: warning", stream: "stderr" }]);
  });
});

describeAgentParserConformance("copilot", () => copilotAgent.create(copilot({ model: "m" }).options), {
  jsonLines: true,
  transcript: fixture("copilot-tool-commit.jsonl").map((line) => ({ line })),
  expectTypes: ["session", "text", "tool-call", "tool-result", "result"],
});

describe("copilot usage file (--usage-output-file, read after each exec)", () => {
  const fixture = (name: string) => readFileSync(new URL(`./fixtures/copilot-usage-${name}.json`, import.meta.url), "utf8");

  it("gives the exec's tokens: the session's totals less the report the exec before left; cached prompt tokens apart", () => {
    // Recorded from Copilot CLI 1.0.102: 110 prompt tokens (10 cached) and 20 out, then 7 and 3 more in the same session.
    expect(parseCopilotUsageFile(fixture("first"))).toEqual([{ type: "usage", usage: { inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, cacheWriteTokens: 0 } }]);
    expect(parseCopilotUsageFile(fixture("second"), fixture("first"))).toEqual([{ type: "usage", usage: { inputTokens: 7, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 } }]);
  });

  it("a report of another session counts whole; garbage, a wrong shape or negative numbers never throw nor go below 0", () => {
    const other = fixture("first").replace(/"sessionStartTime": "[^"]*"/, '"sessionStartTime": "2030-01-01T00:00:00.000Z"');
    expect(parseCopilotUsageFile(fixture("second"), other)).toEqual([{ type: "usage", usage: { inputTokens: 107, outputTokens: 23, cacheReadTokens: 10, cacheWriteTokens: 0 } }]);
    expect(parseCopilotUsageFile(fixture("first"), fixture("second"))[0]).toMatchObject({ usage: { inputTokens: 0, outputTokens: 0 } });
    for (const text of ["", "not json", "null", "[]", '{"modelMetrics": 5}']) expect(parseCopilotUsageFile(text)).toEqual([]);
    expect(parseCopilotUsageFile('{"modelMetrics": {"m": {"usage": {"inputTokens": -5, "outputTokens": "9", "cacheReadTokens": 1e400}}}}')).toEqual([
      { type: "usage", usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 } },
    ]);
  });
});

