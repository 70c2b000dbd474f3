import { readFileSync } from "node:fs";
import type { AgentEvent } from "@corral/core";
import { describeAgentParserConformance } from "@corral/core/testing";
import { describe, expect, it } from "vitest";
import { pi, piAgent } from "./index.js";
import { createPiParser } from "./parser.js";

/** Streams recorded from the real pi CLI 0.73.1 (`pi --print --mode json`) against @corral/mock-model-api. */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8").split("\n").filter(Boolean);

function parseLines(lines: string[]): AgentEvent[] {
  const parser = createPiParser();
  return [...lines.flatMap((line) => parser.parse(line, "stdout")), ...(parser.end?.() ?? [])];
}

const ofType = <T extends AgentEvent["type"]>(events: AgentEvent[], type: T) => events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);

describe("pi --mode json parser, recorded streams", () => {
  it("reads the session, text, the bash call and its result, and each request's usage of a run that commits", () => {
    const events = parseLines(fixture("pi-tool-commit.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["session", "text", "tool-call", "usage", "tool-result", "text", "usage", "result"]);
    expect(ofType(events, "session")[0]).toEqual({ type: "session", sessionId: "01a234f1-d2c4-7610-b384-22b9153749c8" });
    expect(ofType(events, "tool-call")[0]).toMatchObject({ id: "call_mock_1_0", name: "bash", input: { command: expect.stringContaining("git commit") } });
    expect(ofType(events, "tool-result")[0]).toEqual({ type: "tool-result", id: "call_mock_1_0", output: "committed\n" });
    expect(ofType(events, "text").map((e) => e.text)).toEqual(["Writing the file.", "Done. <promise>COMPLETE</promise>"]);
    // The mock's 110 prompt tokens of which 10 cached: pi already reports them apart.
    expect(ofType(events, "usage").map((e) => e.usage)).toEqual([
      { inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, cacheWriteTokens: 0 },
      { inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, cacheWriteTokens: 0 },
    ]);
    expect(ofType(events, "result")).toEqual([{ type: "result", isError: false, text: "Done. <promise>COMPLETE</promise>", turns: 2 }]);
  });

  it("never parses the streaming deltas: a stream of only message_update lines gives nothing", () => {
    const updates = fixture("pi-tool-commit.jsonl").filter((l) => l.startsWith('{"type":"message_update"'));
    expect(updates.length).toBeGreaterThan(5);
    expect(parseLines(updates)).toEqual([]);
  });

  it("a text answer: its usage, the text as the result", () => {
    const events = parseLines(fixture("pi-text.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["session", "text", "usage", "result"]);
    expect(ofType(events, "usage")[0]!.usage).toEqual({ inputTokens: 1200, outputTokens: 7, cacheReadTokens: 300, cacheWriteTokens: 0 });
  });

  it("a resumed session (`--session`) reports the same session id and only its own request's usage", () => {
    const events = parseLines(fixture("pi-resume.jsonl"));
    expect(ofType(events, "session")[0]!.sessionId).toBe("01a234f2-b14e-7442-8b93-cacf22f1b645");
    expect(ofType(events, "usage").map((e) => e.usage.inputTokens)).toEqual([100]);
    expect(ofType(events, "result")[0]).toMatchObject({ isError: false, text: "Resumed: still 42." });
  });

  it("an API error (pi exits 0) is an error event and a failed result with the status and the API's message", () => {
    const events = parseLines(fixture("pi-api-error.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["session", "error", "result"]);
    expect(ofType(events, "error")[0]!.message).toBe("401 invalid api key sk-test-secret");
    expect(ofType(events, "result")[0]).toMatchObject({ isError: true, text: "401 invalid api key sk-test-secret" });
  });

  it("a command that exits non-zero is a tool result marked as an error, with pi's text", () => {
    const events = parseLines(fixture("pi-tool-exit.jsonl"));
    expect(ofType(events, "tool-result")[0]).toEqual({ type: "tool-result", id: "call_mock_1_0", output: "oops\n\n\nCommand exited with code 3", isError: true });
    expect(ofType(events, "result")[0]).toMatchObject({ isError: false, text: "It failed." });
  });

  it("pi's retries, a cost it knows, and a stream cut off before agent_end (the result still comes, once)", () => {
    const line = (o: unknown) => JSON.stringify(o);
    const parser = createPiParser();
    const events = [
      line({ type: "auto_retry_start", attempt: 1, maxAttempts: 3, delayMs: 2000.4, errorMessage: "529 overloaded" }),
      line({ type: "message_end", message: { role: "assistant", content: [{ type: "thinking", thinking: "hm" }, { type: "text", text: "ok" }], usage: { input: 5, output: 2, cacheRead: 0, cacheWrite: 3, cost: { total: 0.004 } }, stopReason: "stop" } }),
    ].flatMap((l) => parser.parse(l, "stdout"));
    expect(events).toEqual([
      { type: "retry", attempt: 1, maxRetries: 3, message: "529 overloaded", delayMs: 2000 },
      { type: "text", text: "ok" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 3, costUsd: 0.004 } },
    ]);
    expect(parser.end!()).toEqual([{ type: "result", isError: false, text: "ok", costUsd: 0.004, turns: 1 }]);
    expect(parser.end!()).toEqual([]);
  });

  it("stderr, noise and unknown event types pass through as raw; a stream with no request makes no result", () => {
    const events = parseLines(['{"type":"future_kind"}', "not json", '{"type":"session"}']);
    expect(events.map((e) => e.type)).toEqual(["raw", "raw", "raw"]);
    expect(createPiParser().parse("warning", "stderr")).toEqual([{ type: "raw", line: "warning", stream: "stderr" }]);
  });
});

describeAgentParserConformance("pi", () => piAgent.create(pi({ model: "m" }).options), {
  jsonLines: true,
  transcript: fixture("pi-tool-commit.jsonl").map((line) => ({ line })),
  expectTypes: ["session", "text", "tool-call", "tool-result", "usage", "result"],
});
