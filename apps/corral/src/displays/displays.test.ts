import { PassThrough } from "node:stream";
import { emptyUsage, type RunEvent } from "@corral/core";
import { describe, expect, it } from "vitest";
import { boardDisplay } from "./board.js";
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

describe("what came from the sandbox, on a terminal", () => {
  const hostile = `\x1b]0;title\x07\x1b[2K\x1b[1Arun succeeded \u009b2J \u202eevil\u200b \r!`;
  const shown = "␛]0;title␇␛[2K␛[1Arun succeeded <U+009B>2J <U+202E>evil<U+200B> ␍!";
  const withText = (text: string): RunEvent[] => [
    events[0]!,
    events[1]!,
    { ...base, type: "agent", iteration: 1, event: { type: "text", text } },
    { ...base, type: "agent", iteration: 1, event: { type: "tool-call", name: "Bash", input: { command: text } } },
    { ...base, type: "hook.output", hook: "afterIteration", line: text, stream: "stderr" },
    { ...base, type: "commits", commits: [{ sha: "0123456789abcdef", subject: text, author: "Agent", time: base.time, files: [] }] },
    { ...base, type: "run.finished", status: "failed", iterations: 1, durationMs: 1, usage: emptyUsage(), error: { code: "E_AGENT_EXECUTION", message: `tail: ${text}` } },
  ];

  it.each([true, false])("is shown inert (TTY %s): only corral's own codes reach the stream", (tty) => {
    const { stream, read } = capture(tty);
    const display = terminalDisplay({ stream, color: tty });
    for (const event of withText(hostile)) display.onEvent(event);
    display.close?.();
    const out = read();
    expect(out.replace(/\r\x1b\[2K|\x1b\[(?:1|2|22)m/g, "")).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b\u202e]/);
    expect(out).toContain(`[demo] ${shown}`);
    expect(out).toContain(`[demo]   afterIteration| ${shown}`);
  });

  it("board: a row shows the latest action inert, and keeps no more of it than it shows", () => {
    const { stream, read } = capture(true);
    stream.columns = 400;
    const display = boardDisplay({ stream, tasks: ["demo"], color: false });
    for (const event of withText(hostile + "y".repeat(100_000))) display.onEvent(event);
    display.close?.();
    const out = read();
    expect(out.replace(/\x1b\[2K|\x1b\[\d+F/g, "")).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b\u202e]/);
    expect(out).toContain("E_AGENT_EXECUTION: tail: ␛]0;title␇");
  });

  it("twin: ordinary text, other scripts, emoji and tabs are printed as they are", () => {
    const { stream, read } = capture(false);
    const display = terminalDisplay({ stream });
    const text = "café 日本語 שלום 👩‍💻 ✅\tcol";
    for (const event of withText(text)) display.onEvent(event);
    expect(read()).toContain(`[demo] ${text}\n`);
  });
});

describe("a reader slower than the agent (library displays on a stream nobody drains)", () => {
  /** Lets the reader catch up at last: everything written, read. */
  const drain = (stream: PassThrough, read: () => string) =>
    new Promise<string>((done) => {
      stream.on("end", () => done(read()));
      stream.resume();
      stream.end();
    });
  const flood = (count: number): RunEvent[] => [
    events[0]!,
    events[1]!,
    ...Array.from({ length: count }, (_, i): RunEvent => ({ ...base, type: "agent", iteration: 1, event: { type: "text", text: `${i} ${"x".repeat(1000)}` } })),
    events[4]!,
  ];

  it("terminal: holds about 1 MiB, then drops the agent's lines and says how many; corral's lines always go out", async () => {
    const { stream, read } = capture(false);
    stream.pause(); // nobody reads yet
    const display = terminalDisplay({ stream });
    let most = 0;
    for (const event of flood(5000)) {
      display.onEvent(event);
      most = Math.max(most, stream.writableLength);
    }
    expect(most).toBeLessThan(1024 * 1024 + 4096);
    const out = await drain(stream, read);
    const shown = out.split("\n").filter((line) => / x{1000}$/.test(line)).length;
    const dropped = Number(/… (\d+) line\(s\) of the agent's output not shown here/.exec(out)?.[1]);
    expect(shown + dropped).toBe(5000);
    expect(out).toContain("[demo] run succeeded after 1 iteration(s)");
  });

  it("NDJSON: every line still whole JSON, a log event counts what was not written", async () => {
    const { stream, read } = capture(false);
    stream.pause();
    const display = ndjsonDisplay(stream);
    for (const event of flood(5000)) display.onEvent(event);
    const parsed = (await drain(stream, read)).trim().split("\n").map((line) => JSON.parse(line) as RunEvent);
    const marker = parsed.find((e) => e.type === "log");
    const dropped = Number(/^(\d+) event\(s\)/.exec(marker?.type === "log" ? marker.message : "")?.[1]);
    expect(parsed.filter((e) => e.type === "agent").length + dropped).toBe(5000);
    expect(parsed.at(-1)).toMatchObject({ type: "run.finished" });
  });
});

describe("the agent's output as agent.output events (ADR 0712)", () => {
  const output = (kind: "text" | "raw", stream: "stdout" | "stderr", lines: string[]): RunEvent => ({ ...base, type: "agent.output", iteration: 1, kind, stream, lines });
  const perLine = (kind: "text" | "raw", stream: "stdout" | "stderr", lines: string[]): RunEvent[] =>
    lines.map((line) => ({ ...base, type: "agent", iteration: 1, event: kind === "text" ? { type: "text", text: line } : { type: "raw", line, stream } }));
  const lines = Array.from({ length: 1000 }, (_, i) => (i === 7 ? "bell \x07 here" : `line ${i}`));

  for (const tty of [false, true]) {
    it(`terminal (${tty ? "TTY" : "no TTY"}): a batch shows exactly what its lines one by one would, in one write`, () => {
      const batched = capture(tty);
      const single = capture(tty);
      const a = terminalDisplay({ stream: batched.stream, color: false });
      const b = terminalDisplay({ stream: single.stream, color: false });
      let writes = 0;
      const write = batched.stream.write.bind(batched.stream);
      batched.stream.write = ((chunk: string) => (writes++, write(chunk))) as typeof batched.stream.write;
      a.onEvent(output("text", "stdout", lines));
      a.onEvent(output("raw", "stderr", ["err one", "err two"]));
      for (const event of [...perLine("text", "stdout", lines), ...perLine("raw", "stderr", ["err one", "err two"])]) b.onEvent(event);
      a.close?.();
      b.close?.();
      expect(writes).toBeLessThanOrEqual(3); // one per batch, and close()
      // The same screen: on a TTY the status line is redrawn less often, never differently at the end.
      const screen = (text: string) => text.split("\n").map((line) => line.split("\r\x1b[2K").at(-1)).filter(Boolean);
      expect(screen(batched.read())).toEqual(screen(single.read()));
      expect(batched.read()).toContain("bell ␇ here");
      expect(batched.read()).not.toContain("\x07");
    });
  }

  it("terminal: a batch dropped for a slow reader counts its lines", async () => {
    const { stream, read } = capture(false);
    stream.pause();
    const display = terminalDisplay({ stream });
    const big = Array.from({ length: 2000 }, (_, i) => `${i} ${"x".repeat(1000)}`);
    display.onEvent(output("text", "stdout", big)); // ~2 MB: written (the stream was empty)
    display.onEvent(output("text", "stdout", big)); // backed up: dropped, 2000 lines
    display.onEvent(events[4]!);
    const out = await new Promise<string>((done) => {
      stream.on("end", () => done(read()));
      stream.resume();
      stream.end();
    });
    expect(out).toMatch(/… 2000 line\(s\) of the agent's output not shown here/);
    expect(out.split("\n").filter((line) => / x{1000}$/.test(line))).toHaveLength(2000);
  });
});
