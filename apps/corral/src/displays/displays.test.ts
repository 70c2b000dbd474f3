import { PassThrough } from "node:stream";
import type { RunEvent } from "@corral/core";
import { describe, expect, it } from "vitest";
import { ndjsonDisplay } from "./ndjson.js";
import { terminalDisplay } from "./terminal.js";

const base = { runId: "r1", name: "demo", time: "2026-01-01T00:00:00.000Z" };
const events: RunEvent[] = [
  { ...base, type: "run.started", agent: "command", sandbox: "host", isolation: "in-place", maxIterations: 2, cwd: "/tmp" },
  { ...base, type: "iteration.started", iteration: 1, maxIterations: 2 },
  { ...base, type: "agent", iteration: 1, event: { type: "tool-call", name: "Bash", input: { command: "git commit -m x" } } },
  { ...base, type: "agent", iteration: 1, event: { type: "text", text: "All done" } },
  { ...base, type: "run.finished", status: "succeeded", iterations: 1, durationMs: 1200, usage: { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0 } },
];

function capture(tty: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY: tty, columns: 80 });
  let out = "";
  stream.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return { stream, read: () => out };
}

describe("terminal display", () => {
  it("without a TTY writes plain prefixed lines and no ANSI at all", () => {
    const { stream, read } = capture(false);
    const display = terminalDisplay({ stream });
    for (const event of events) display.onEvent(event);
    display.close?.();
    const out = read();
    expect(out).not.toMatch(/\x1b/);
    expect(out.split("\n")).toEqual(expect.arrayContaining(["[demo] iteration 1/2", '[demo] → Bash {"command":"git commit -m x"}', "[demo] All done"]));
    expect(out).toContain("[demo] run succeeded after 1 iteration(s) in 1.2 s");
  });

  it("on a TTY redraws a status line in place, and honours NO_COLOR", () => {
    const { stream, read } = capture(true);
    const display = terminalDisplay({ stream, color: false });
    for (const event of events) display.onEvent(event);
    display.close?.();
    const out = read();
    expect(out).toContain("\r\x1b[2K"); // the status line is rewritten in place
    expect(out).toMatch(/\[1\/2\] \d+s → Bash/);
    expect(out).not.toMatch(/\x1b\[(1|2|22)m/); // no colour codes when colour is off
  });
});

describe("NDJSON display", () => {
  it("writes one parseable JSON object per event", () => {
    const { stream, read } = capture(false);
    const display = ndjsonDisplay(stream);
    for (const event of events) display.onEvent(event);
    const lines = read().trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(events.map((e) => e.type));
  });
});
