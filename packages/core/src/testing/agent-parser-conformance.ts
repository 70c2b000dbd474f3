import { describe, expect, it } from "vitest";
import type { Agent, AgentCommandInput, AgentEvent, AgentParser } from "../agent.js";
import { CUT_MARKER } from "../lines.js";

/** What `describeAgentParserConformance` feeds the parser and expects of it. */
export interface AgentParserConformanceOptions {
  /** A real transcript of the agent CLI's output (one entry per line), e.g. recorded against the mock model API. */
  transcript: ReadonlyArray<{ line: string; stream?: "stdout" | "stderr" }>;
  /** Event types the transcript must produce (e.g. ["session", "text", "usage", "result"]). */
  expectTypes?: AgentEvent["type"][];
  /** The command input the transcript's exec was started with (e.g. a `resumeSessionId`); default a first iteration. */
  input?: Partial<AgentCommandInput>;
  /**
   * The CLI prints JSON lines: then each of the transcript's JSON lines, cut at the line cap (as
   * `LineSplitter` delivers it, ending in `CUT_MARKER`), must become at most one event (an `error`:
   * `isCutLine`/`cutLineEvent` from the plugin kit), never a `raw` event holding the broken JSON.
   */
  jsonLines?: boolean;
}

const EVENT_TYPES = new Set<AgentEvent["type"]>(["text", "tool-call", "tool-result", "session", "usage", "result", "error", "retry", "raw"]);

/** Checks one event's shape, so a parser cannot hand the run loop something it does not understand. */
function assertEventShape(event: AgentEvent): void {
  expect(EVENT_TYPES.has(event.type), `unknown event type ${String(event.type)}`).toBe(true);
  switch (event.type) {
    case "text":
      expect(typeof event.text).toBe("string");
      break;
    case "tool-call":
      expect(typeof event.name).toBe("string");
      break;
    case "tool-result":
      expect(typeof event.output).toBe("string");
      break;
    case "session":
      expect(typeof event.sessionId).toBe("string");
      expect(event.sessionId.length).toBeGreaterThan(0);
      break;
    case "usage":
      for (const value of Object.values(event.usage)) if (value !== undefined) expect(Number.isFinite(value)).toBe(true);
      break;
    case "result":
      expect(typeof event.isError).toBe("boolean");
      break;
    case "error":
      expect(typeof event.message).toBe("string");
      break;
    case "retry":
      expect(Number.isInteger(event.attempt) && event.attempt > 0).toBe(true);
      break;
    case "raw":
      expect(typeof event.line).toBe("string");
      expect(["stdout", "stderr"]).toContain(event.stream);
      break;
  }
}

function feed(parser: AgentParser, lines: AgentParserConformanceOptions["transcript"]): AgentEvent[] {
  const events = lines.flatMap(({ line, stream }) => parser.parse(line, stream ?? "stdout"));
  return [...events, ...(parser.end?.() ?? [])];
}

/**
 * The agent parser conformance suite: an Agent's parser never throws on any line, emits only
 * well-formed events, keeps per-exec state (a fresh parser per exec gives the same result), and
 * turns the given real transcript into the expected kinds of events.
 */
export function describeAgentParserConformance(name: string, makeAgent: () => Agent, options: AgentParserConformanceOptions): void {
  const input: AgentCommandInput = { prompt: "conformance", iteration: 1, home: "/home/agent", cwd: "/workspace", ...options.input };
  describe(`agent parser conformance: ${name}`, () => {
    it("parses the transcript into well-formed events of the expected kinds", () => {
      const events = feed(makeAgent().parser(input), options.transcript);
      events.forEach(assertEventShape);
      const types = new Set(events.map((event) => event.type));
      for (const type of options.expectTypes ?? []) expect(types, `no "${type}" event`).toContain(type);
    });

    it("never throws on unexpected input and emits only well-formed events", () => {
      const parser = makeAgent().parser(input);
      const junk = ["", " ", "{", "}", "null", "[]", "42", '"a string"', '{"type":null}', '{"type":"unknown-kind","x":1}', "\u0000\u0001binary\u00ff", "x".repeat(1_000_000), "{".repeat(5000)];
      for (const line of junk) {
        for (const stream of ["stdout", "stderr"] as const) {
          const events = parser.parse(line, stream);
          expect(Array.isArray(events)).toBe(true);
          events.forEach(assertEventShape);
        }
      }
      expect(Array.isArray(parser.end?.() ?? [])).toBe(true);
    });

    it.runIf(options.jsonLines === true)("reports a JSON line cut at the line cap as one error event, not raw broken JSON", () => {
      const jsonLines = options.transcript.filter(({ line, stream }) => (stream ?? "stdout") === "stdout" && line.startsWith("{") && line.length > 20);
      expect(jsonLines.length, "the transcript has no JSON line to cut").toBeGreaterThan(0);
      for (const { line } of jsonLines) {
        const events = makeAgent().parser(input).parse(line.slice(0, Math.floor(line.length / 2)) + CUT_MARKER, "stdout");
        // One event at most (a parser may skip a kind of line it never parses, or end on its prefix), never raw JSON.
        expect(events.length, line.slice(0, 80)).toBeLessThanOrEqual(1);
        expect(events.map((event) => event.type), line.slice(0, 80)).not.toContain("raw");
      }
    });

    it("keeps its state per exec: fresh parsers give the same events", () => {
      const agent = makeAgent();
      const first = feed(agent.parser(input), options.transcript);
      const second = feed(agent.parser(input), options.transcript);
      expect(second).toEqual(first);
    });
  });
}
