import { spawnSync } from "node:child_process";
import { appendFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandAgent, emptyUsage, hostSandbox, type RunEvent, type RunEventBody } from "@corral/core";
import { describe, expect, it } from "vitest";
import { journalDisplay } from "./display.js";
import { journalOptions } from "./options.js";
import { logFileDisplay } from "../displays/log-file.js";
import { AmbiguousRunError, followEvents, followLog, listRuns, readEvents, readRun, streamEvents, streamLog } from "./reader.js";
import { readRecord, writeRecord, type RunRecord } from "./record.js";

const root = () => mkdtemp(join(tmpdir(), "corral-journal-"));
const at = (runId: string, body: RunEventBody, name?: string): RunEvent => ({ runId, ...(name ? { name } : {}), time: new Date().toISOString(), ...body }) as RunEvent;
const started = (runId: string, name?: string) => at(runId, { type: "run.started", agent: "command", sandbox: "host", isolation: "worktree", maxIterations: 2, cwd: "/repo" }, name);
const finished = (runId: string) => at(runId, { type: "run.finished", status: "succeeded", iterations: 1, usage: emptyUsage(), durationMs: 5 });

/** The pid of a process that has exited: a real dead pid. */
async function deadPid(): Promise<number> {
  return spawnSync("true").pid;
}
/** The run's plain-text log as `corral runs logs` shows it (rendered from events.jsonl). */
async function logOf(dir: string): Promise<string> {
  let text = "";
  for await (const block of streamLog({ dir })) text += block;
  return text;
}
/** The lines of events.jsonl as written, parsed, a `journal.events` line as its events (each with the line's envelope): read without the reader. */
function writtenEvents(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, "utf8").trim().split("\n").flatMap((line) => {
    const { events, type, ...envelope } = JSON.parse(line) as Record<string, unknown>;
    return type === "journal.events" ? (events as Array<Record<string, unknown>>).map((body) => ({ ...envelope, ...body })) : [{ ...envelope, type, ...(events === undefined ? {} : { events }) }];
  });
}
const put = (dir: string, record: RunRecord) => {
  mkdirSync(dir, { recursive: true });
  writeRecord(dir, record);
};

describe("journal display", () => {
  it("records state, workspace, sandbox and every event; the log is plain text", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir, options: { prompt: "x" } });
    display.onEvent(started("r1", "fix-login"));
    const record = readRecord(join(dir, "r1"))!;
    expect(record).toMatchObject({ id: "r1", name: "fix-login", state: "running", pid: process.pid, sandbox: { name: "host" }, options: { prompt: "x" } });
    display.onEvent(at("r1", { type: "workspace.ready", path: "/repo/.corral/worktrees/fix-login", cwd: "/repo/.corral/worktrees/fix-login", branch: "corral/fix-login", baseCommit: "abc" }));
    display.onEvent(at("r1", { type: "sandbox.ready", sandbox: "host", id: "host-1" }));
    display.onEvent(at("r1", { type: "agent", iteration: 1, event: { type: "text", text: "hello ünïcode" } }));
    display.onEvent(finished("r1"));
    await display.close?.();

    const run = await readRun(dir, "r1");
    expect(run).toMatchObject({ state: "succeeded", workspace: "/repo/.corral/worktrees/fix-login", branch: "corral/fix-login", sandbox: { name: "host", id: "host-1" }, iterations: 1 });
    expect(run.ended).toBeDefined();
    expect((await readEvents(run)).map((e) => e.type)).toEqual(["run.started", "workspace.ready", "sandbox.ready", "agent", "run.finished"]);
    expect(await logOf(join(dir, "r1"))).toMatch(/^# corral run fix-login \(r1\)[^]*hello ünïcode/);
    expect(readdirSync(join(dir, "r1")).sort()).toEqual(["events.jsonl", "run.json"]); // the text is stored once (ADR 0710)
  });

  it("renders the log from events.jsonl exactly as --log-file writes it, batches included, and followLog gives the same lines", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    const file = logFileDisplay(join(dir, "log-file.log"), { title: "same" });
    const sent: RunEvent[] = [started("same", "same")];
    for (let i = 0; i < 300; i++) sent.push(at("same", { type: "agent", iteration: 1, event: { type: "text", text: `line ${i} \x1b[2J` } }, "same"));
    sent.push(at("same", { type: "agent", iteration: 1, event: { type: "raw", line: "err", stream: "stderr" } }, "same"));
    sent.push(at("same", { type: "agent", iteration: 1, event: { type: "text", text: "two\nlines" } }, "same"));
    sent.push(at("same", { type: "hook.output", hook: "afterIteration", line: "h", stream: "stdout" }, "same"), { ...finished("same"), name: "same" });
    for (const event of sent) display.onEvent(event);
    await display.close?.();
    // The log file sees the events the journal wrote, as the journal holds them (a batch with its first time).
    for (const event of await readEvents({ dir: join(dir, "same") })) file.onEvent(event);
    file.close?.();
    const rendered = await logOf(join(dir, "same"));
    const lines: string[] = [];
    for await (const line of followLog({ dir: join(dir, "same") })) lines.push(line);
    expect(lines.join("\n") + "\n").toBe(rendered);
    expect(rendered).toContain("line 299 ␛[2J\n");
    // Batched lines sit bare under their first; the log file shows each with its time: the same text otherwise.
    const bare = (log: string) => log.split("\n").map((line) => line.replace(/^\S+Z \[same\] (#1 )?/, ""));
    expect(bare(rendered)).toEqual(bare(readFileSync(join(dir, "log-file.log"), "utf8")));
  });

  it("creates nothing before the first event", async () => {
    const dir = await root();
    const display = journalDisplay({ root: join(dir, "runs") });
    await display.close?.();
    expect(await listRuns(join(dir, "runs"))).toEqual([]);
    expect(display.dir).toBeUndefined();
  });
});

describe("journal reader", () => {
  it("skips a torn last line of events.jsonl", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    display.onEvent(started("torn"));
    await display.close?.();
    appendFileSync(join(dir, "torn", "events.jsonl"), '{"runId":"torn","type":"agent","ite');
    const events = await readEvents(await readRun(dir, "torn"));
    expect(events.map((e) => e.type)).toEqual(["run.started"]);
  });

  it("reports a running run whose process is gone as interrupted, and a recycled pid too", async () => {
    const dir = await root();
    const base: RunRecord = { version: 1, id: "dead", state: "running", pid: await deadPid(), host: (await import("node:os")).hostname(), started: "2025-01-01T00:00:00Z", cwd: dir, options: {} };
    put(join(dir, "dead"), base);
    put(join(dir, "recycled"), { ...base, id: "recycled", pid: process.pid, pidStart: "1", started: "2025-01-02T00:00:00Z" });
    put(join(dir, "alive"), { ...base, id: "alive", pid: process.pid, started: "2025-01-03T00:00:00Z" });
    put(join(dir, "done"), { ...base, id: "done", state: "failed", started: "2025-01-04T00:00:00Z" });
    const runs = await listRuns(dir);
    expect(runs.map((r) => [r.id, r.state, r.recordedState])).toEqual([
      ["done", "failed", "failed"],
      ["alive", "running", "running"],
      ["recycled", "interrupted", "running"],
      ["dead", "interrupted", "running"],
    ]);
  });

  it("finds a run by id, unique prefix or name; lists the runs an ambiguous name or prefix fits; says what is unknown", async () => {
    const dir = await root();
    for (const [id, name] of [["20250101-aaa", "one"], ["20250101-abb", "two"], ["20250102-ccc", "one"]] as const) {
      const d = journalDisplay({ root: dir });
      d.onEvent({ ...started(id, name), time: `${id.slice(0, 4)}-01-0${id[7]}T00:00:00Z` });
      await d.close?.();
    }
    expect((await readRun(dir, "20250102")).id).toBe("20250102-ccc");
    expect((await readRun(dir, "two")).id).toBe("20250101-abb");
    expect((await readRun(dir, "tw")).id).toBe("20250101-abb");
    // Two runs named "one": both are listed (id, time, state), neither is picked.
    const twoOfOne = await readRun(dir, "one").catch((error: unknown) => error);
    expect(twoOfOne).toBeInstanceOf(AmbiguousRunError);
    expect((twoOfOne as AmbiguousRunError).candidates.map((c) => c.id)).toEqual(["20250102-ccc", "20250101-aaa"]);
    expect((twoOfOne as Error).message).toMatch(/20250102-ccc {2}2025-01-02 00:00:00 {2}running {2}one/);
    expect((twoOfOne as Error).message).toContain("20250101-aaa");
    await expect(readRun(dir, "20250101-a")).rejects.toMatchObject({ code: "E_RUN_AMBIGUOUS" });
    await expect(readRun(dir, "nope")).rejects.toMatchObject({ code: "E_RUN_NOT_FOUND", hint: expect.stringContaining("corral runs list") });
  });

  it("follows events as they are written and stops when the run finishes", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    display.onEvent(started("live"));
    const seen: string[] = [];
    const following = (async () => {
      for await (const event of followEvents(await readRun(dir, "live"), { pollMs: 20 })) seen.push(event.type);
    })();
    await new Promise((r) => setTimeout(r, 100));
    display.onEvent(at("live", { type: "iteration.started", iteration: 1, maxIterations: 1 }));
    await new Promise((r) => setTimeout(r, 100));
    display.onEvent(finished("live"));
    await following;
    await display.close?.();
    expect(seen).toEqual(["run.started", "iteration.started", "run.finished"]);
  });

  it("stops following a run whose process died", async () => {
    const dir = await root();
    put(join(dir, "gone"), { version: 1, id: "gone", state: "running", pid: await deadPid(), host: (await import("node:os")).hostname(), started: "2025-01-01T00:00:00Z", cwd: dir, options: {} });
    writeFileSync(join(dir, "gone", "events.jsonl"), `${JSON.stringify(started("gone"))}\n{"torn`);
    const seen: string[] = [];
    for await (const event of followEvents(await readRun(dir, "gone"), { pollMs: 20 })) seen.push(event.type);
    expect(seen).toEqual(["run.started"]);
  });
});

describe("journalOptions", () => {
  it("keeps plugin names and env var names, never env values or secrets", () => {
    const options = journalOptions({
      agent: commandAgent.configure({ argv: ["sh", "-c", "echo $MY_TOKEN_VALUE"] }),
      sandbox: hostSandbox.configure({}),
      prompt: "use the key hunter2-secret-value please",
      env: { API_THING: "hunter2-secret-value" },
      maxIterations: 3,
      signal: new AbortController().signal,
      onEvent: () => {},
    });
    const text = JSON.stringify(options);
    expect(text).not.toContain("hunter2-secret-value");
    expect(options).toMatchObject({ agent: { name: "command", options: { argv: ["sh", "-c", "echo $MY_TOKEN_VALUE"] } }, sandbox: { name: "host" }, env: ["API_THING"], maxIterations: 3 });
    expect(options).not.toHaveProperty("signal");
    expect(options).not.toHaveProperty("onEvent");
  });
});

describe("writeRecord against planted symlinks", () => {
  it("replaces a run.json symlink instead of writing through it, and leaves no temp file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "corral-journal-link-"));
    const victim = join(dir, "victim.txt");
    writeFileSync(victim, "precious\n");
    symlinkSync(victim, join(dir, "run.json"));
    writeRecord(dir, { id: "r1", state: "running" } as RunRecord);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(lstatSync(join(dir, "run.json")).isFile()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(["run.json", "victim.txt"]);
  });
});

describe("journal size cap", () => {
  const text = (runId: string, i: number) => at(runId, { type: "agent", iteration: 1, event: { type: "text", text: `line ${i} ${"x".repeat(200)}` } });

  it("stops journaling output at maxBytes with one marker, keeps the run's own events, and counts what it dropped", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir, maxBytes: 64 * 1024 });
    display.onEvent(started("cap"));
    for (let i = 0; i < 2000; i++) display.onEvent(text("cap", i));
    display.onEvent(at("cap", { type: "hook.output", hook: "afterIteration", line: "dropped too", stream: "stdout" }));
    display.onEvent(at("cap", { type: "iteration.finished", iteration: 1, exitCode: 0, durationMs: 1, usage: emptyUsage() }));
    display.onEvent(finished("cap"));
    await display.close?.();

    const size = readFileSync(join(dir, "cap", "events.jsonl")).length;
    expect(size).toBeLessThanOrEqual(64 * 1024 + 2048);
    const events = await readEvents({ dir: join(dir, "cap") });
    const markers = events.filter((e) => e.type === "log" && e.message.startsWith("The journal reached its limit of 64 KiB"));
    expect(markers).toHaveLength(1);
    const kept = events.filter((e) => e.type === "agent").length;
    expect(kept).toBeGreaterThan(50);
    expect(events.slice(events.indexOf(markers[0]!)).map((e) => e.type)).toEqual(["log", "iteration.finished", "run.finished"]);
    expect(readRecord(join(dir, "cap"))).toMatchObject({ state: "succeeded", truncated: { maxBytes: 64 * 1024, droppedEvents: 2000 - kept + 1 } });
    expect(await logOf(join(dir, "cap"))).toContain("warning: The journal reached its limit of 64 KiB");
  });

  it("twin: a run under the cap is journaled whole, without a marker", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir, maxBytes: 1024 * 1024 });
    display.onEvent(started("small"));
    for (let i = 0; i < 100; i++) display.onEvent(text("small", i));
    display.onEvent(finished("small"));
    await display.close?.();
    const events = await readEvents({ dir: join(dir, "small") });
    expect(events.filter((e) => e.type === "agent")).toHaveLength(100);
    expect(events.some((e) => e.type === "log")).toBe(false);
    expect(readRecord(join(dir, "small"))).not.toHaveProperty("truncated");
  });

  it("keeps what the agent printed exactly, as inert JSON", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    display.onEvent(started("exact"));
    const hostile = "\x1b]0;title\x07 \u009b2J \u202eevil \x7f";
    display.onEvent(at("exact", { type: "agent", iteration: 1, event: { type: "text", text: hostile } }));
    display.onEvent(finished("exact"));
    await display.close?.();
    const raw = readFileSync(join(dir, "exact", "events.jsonl"), "utf8");
    expect(raw).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
    const events = await readEvents({ dir: join(dir, "exact") });
    expect(events.find((e) => e.type === "agent")).toMatchObject({ event: { text: hostile } });
    expect(await logOf(join(dir, "exact"))).toContain("␛]0;title␇ <U+009B>2J <U+202E>evil ␡");
  });
});

describe("journal reader, bounded", () => {
  it("streams events; a line far longer than any the journal writes is skipped, not held", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    display.onEvent(started("long"));
    display.onEvent(finished("long"));
    await display.close?.();
    appendFileSync(join(dir, "long", "events.jsonl"), `${"x".repeat(65 * 1024 * 1024)}\n${JSON.stringify(finished("long"))}\n`);
    const types: string[] = [];
    for await (const event of streamEvents({ dir: join(dir, "long") })) types.push(event.type);
    expect(types).toEqual(["run.started", "run.finished", "run.finished"]);
  });

  it("hands out a very long log line in pieces", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    display.onEvent(started("piece"));
    display.onEvent(at("piece", { type: "agent", iteration: 1, event: { type: "text", text: `${"y".repeat(3 * 1024 * 1024)}🐮` } }));
    display.onEvent(at("piece", { type: "agent", iteration: 1, event: { type: "text", text: "\nlast" } }));
    display.onEvent(finished("piece"));
    await display.close?.();
    const lines: string[] = [];
    for await (const line of followLog({ dir: join(dir, "piece") })) lines.push(line);
    expect(lines.at(-2)).toMatch(/ last$/);
    const long = lines.filter((line) => line.includes("yyy"));
    expect(long.length).toBeGreaterThan(2);
    expect(long.every((line) => line.length <= 1024 * 1024)).toBe(true);
    expect(long.join("")).toMatch(/ y{3145728}🐮$/); // no character split between pieces
  });

  it("reads a journal an older corral wrote with its run.log from that file, a very long line in pieces", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    display.onEvent(started("log"));
    display.onEvent(finished("log"));
    await display.close?.();
    appendFileSync(join(dir, "log", "run.log"), `${"y".repeat(3 * 1024 * 1024)}\nlast\n`);
    const lines: string[] = [];
    for await (const line of followLog({ dir: join(dir, "log") })) lines.push(line);
    expect(lines.at(-1)).toBe("last");
    const long = lines.filter((line) => line.startsWith("y"));
    expect(long.length).toBeGreaterThan(2);
    expect(long.every((line) => line.length <= 1024 * 1024 + 64 * 1024)).toBe(true);
    expect(long.join("")).toBe("y".repeat(3 * 1024 * 1024));
  });
});

describe("journal reader, any size, never silent (issue 21 item 5)", () => {
  it("a missing or unreadable events.jsonl is an E_JOURNAL_UNREADABLE error, never an empty journal", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    display.onEvent(started("lost"));
    display.onEvent(finished("lost"));
    await display.close?.();
    const run = await readRun(dir, "lost");
    expect((await readEvents(run)).map((e) => e.type)).toEqual(["run.started", "run.finished"]); // twin: readable
    rmSync(join(dir, "lost", "events.jsonl"));
    await expect(readEvents(run)).rejects.toMatchObject({ code: "E_JOURNAL_UNREADABLE", message: expect.stringContaining("is missing"), hint: expect.any(String) });
    mkdirSync(join(dir, "lost", "events.jsonl")); // EISDIR on read
    await expect(readEvents(run)).rejects.toMatchObject({ code: "E_JOURNAL_UNREADABLE", message: expect.stringContaining("EISDIR") });
    const log: string[] = [];
    await expect((async () => {
      for await (const line of followLog(run)) log.push(line);
    })()).rejects.toMatchObject({ code: "E_JOURNAL_UNREADABLE" });
  });
});

describe("journal: the agent's output as agent.output events (ADR 0712)", () => {
  const output = (runId: string, kind: "text" | "raw", stream: "stdout" | "stderr", lines: string[]) => at(runId, { type: "agent.output", iteration: 1, kind, stream, lines }, "o");

  it("keeps each as one line of events.jsonl, its lines joined (not a JSON array), and reads it back exactly; the log shows a line per line", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    const many = Array.from({ length: 20_000 }, (_, i) => (i % 9 === 0 ? "" : "y"));
    const sent: RunEvent[] = [
      started("out", "o"),
      output("out", "text", "stdout", many),
      output("out", "raw", "stderr", ["err \x1b[2J one", "err two"]),
      output("out", "text", "stdout", ["a message\nof two lines", "next"]),
      { ...finished("out"), name: "o" },
    ];
    for (const event of sent) display.onEvent(event);
    await display.close?.();

    const file = readFileSync(join(dir, "out", "events.jsonl"), "utf8");
    expect(writtenEvents(join(dir, "out", "events.jsonl"))).toHaveLength(sent.length); // one entry each (output events of one turn may share a line, ADR 0741)
    expect(file).not.toMatch(/[\x00-\x09\x0b-\x1f]/); // inert
    // 2-byte lines cost 3 bytes each ("y\\n" in JSON), not a JSON array's 4 ("y",): under 1.6x the output.
    const printed = many.reduce((sum, line) => sum + line.length + 1, 0);
    expect(Buffer.byteLength(file)).toBeLessThan(printed * 1.6);
    expect(Buffer.byteLength(file)).toBeLessThan(JSON.stringify(many).length * 0.8);
    const read = await readEvents({ dir: join(dir, "out") });
    expect(read).toEqual(sent);
    const log = await logOf(join(dir, "out"));
    expect(log).toMatch(/Z \[o\] #1 stderr: err ␛\[2J one\nstderr: err two\n/);
    expect(log).toMatch(/#1 a message\n.*#1 of two lines\n.*#1 next\n/);
    expect(log.split("\n").filter((line) => line.endsWith("y"))).toHaveLength(many.filter(Boolean).length);
  });

  it("at the cap keeps the lines that fit, one by one, and counts each line dropped; twin: under the cap nothing is dropped", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir, maxBytes: 64 * 1024 });
    const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i} ${"x".repeat(20)}`);
    display.onEvent(started("cap", "o"));
    display.onEvent(output("cap", "text", "stdout", lines));
    display.onEvent(output("cap", "text", "stdout", ["later"]));
    display.onEvent({ ...finished("cap"), name: "o" });
    await display.close?.();
    const read = await readEvents({ dir: join(dir, "cap") });
    const kept = read.flatMap((e) => (e.type === "agent.output" ? e.lines : []));
    expect(kept.length).toBeGreaterThan(100);
    expect(kept).toEqual(lines.slice(0, kept.length));
    expect(readRecord(join(dir, "cap"))!.truncated?.droppedEvents).toBe(lines.length + 1 - kept.length);
    expect(read.at(-1)).toMatchObject({ type: "run.finished" });

    const twin = await root();
    const roomy = journalDisplay({ root: twin });
    roomy.onEvent(started("cap", "o"));
    roomy.onEvent(output("cap", "text", "stdout", lines));
    await roomy.close?.();
    expect((await readEvents({ dir: join(twin, "cap") })).flatMap((e) => (e.type === "agent.output" ? e.lines : []))).toEqual(lines);
    expect(readRecord(join(twin, "cap"))!.truncated).toBeUndefined();
  });
});

describe("journal batching (issue 22)", () => {
  it("writes consecutive output lines as one journal.lines event and reads them back exactly, in order, between the run's own events", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    const sent: RunEvent[] = [started("batch", "b")];
    const text = (line: string) => at("batch", { type: "agent", iteration: 1, event: { type: "text", text: line } }, "b");
    const raw = (line: string) => at("batch", { type: "agent", iteration: 1, event: { type: "raw", line, stream: "stderr" } }, "b");
    for (let i = 0; i < 5000; i++) sent.push(text(i % 7 === 0 ? "" : `y ${i} \x1b[31mred\u202e ünï`));
    sent.push(raw("err one"), raw("err two"), text("multi\nline stays alone"));
    sent.push(at("batch", { type: "iteration.finished", iteration: 1, exitCode: 0, durationMs: 1, usage: emptyUsage() }, "b"));
    sent.push(at("batch", { type: "hook.output", hook: "afterIteration", line: "h1", stream: "stdout" }, "b"), at("batch", { type: "hook.output", hook: "afterIteration", line: "h2", stream: "stdout" }, "b"));
    sent.push({ ...finished("batch"), name: "b" });
    for (const event of sent) display.onEvent(event);
    await display.close?.();

    const raw_ = readFileSync(join(dir, "batch", "events.jsonl"), "utf8");
    expect(raw_.split("\n").length).toBeLessThan(20); // 5000 lines went in a few events
    expect(raw_).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/); // still inert
    const read = await readEvents({ dir: join(dir, "batch") });
    // Exactly the events sent, each batched one with its batch's first time.
    const withoutTime = (events: RunEvent[]) => events.map(({ time: _time, ...rest }) => JSON.stringify(rest));
    expect(withoutTime(read)).toEqual(withoutTime(sent));
    expect(read.filter((e) => e.type === "agent").every((e) => typeof e.time === "string")).toBe(true);
    // The plain-text log: the batch's first line with its time, the others under it.
    const log = await logOf(join(dir, "batch"));
    expect(log).toMatch(/Z \[b\] #1 \ny 1 ␛\[31mred<U\+202E> ünï\ny 2 ␛\[31mred/);
    expect(log).toMatch(/Z \[b\] #1 stderr: err one\nstderr: err two\n/);
  });

  it("writes a batch at the end of the event loop's turn: a follower sees lines without waiting for the run's next event", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    display.onEvent(started("turn"));
    display.onEvent(at("turn", { type: "agent", iteration: 1, event: { type: "text", text: "one" } }));
    display.onEvent(at("turn", { type: "agent", iteration: 1, event: { type: "text", text: "two" } }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(readFileSync(join(dir, "turn", "events.jsonl"), "utf8")).toContain('"lines":"one\\ntwo"');
    await display.close?.();
  });

  it("writes the output events of a turn together at its end; an event of the run's own writes them first, in order", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    display.onEvent(started("calls"));
    const file = join(dir, "calls", "events.jsonl");
    const call = (id: string) => at("calls", { type: "agent", iteration: 1, event: { type: "tool-call", id, name: "Bash", input: { command: "ls" } } });
    display.onEvent(call("a"));
    display.onEvent(call("b"));
    expect(readFileSync(file, "utf8")).not.toContain('"id":"a"'); // still this turn
    await new Promise((resolve) => setImmediate(resolve));
    expect(readFileSync(file, "utf8")).toContain('"id":"b"');
    display.onEvent(call("c"));
    display.onEvent(at("calls", { type: "iteration.finished", iteration: 1, exitCode: 0, durationMs: 1, usage: emptyUsage() }));
    const lines = writtenEvents(file) as unknown as RunEvent[];
    expect(lines.map((e) => (e.type === "agent" && e.event.type === "tool-call" ? e.event.id : e.type))).toEqual(["run.started", "a", "b", "c", "iteration.finished"]);
    await display.close?.();
  });
});

describe("journal: the output events of one turn as one journal.events line (ADR 0741)", () => {
  const RUN = "20261203-152313-c737ec";
  /** An event of turn `turn` (core stamps one time per turn: the events of one read share it). */
  const on = (turn: number, body: RunEventBody, runId = RUN): RunEvent => ({ runId, name: "fix-login", time: new Date(Date.UTC(2026, 11, 3, 15, 0, 0, turn)).toISOString(), ...body }) as RunEvent;
  /** One turn of a claude-like stream: what its stream-json makes of a read (text as agent.output, tool calls and results, usage, result, session). */
  const claudeTurn = (turn: number, runId = RUN): RunEvent[] => [
    on(turn, { type: "agent", iteration: 1, event: { type: "session", sessionId: "ef3d35c1-069b-4df8-92b7-8117ab172bbe", model: "claude-sonnet-4-5", tools: ["Bash", "Edit", "Read"] } }, runId),
    on(turn, { type: "agent.output", iteration: 1, kind: "text", stream: "stdout", lines: [`step ${turn}: I'll write the file. ${"x".repeat(turn % 50)}`] }, runId),
    on(turn, { type: "agent", iteration: 1, event: { type: "usage", usage: { inputTokens: 100, outputTokens: 1, cacheReadTokens: 10, cacheWriteTokens: 5 } } }, runId),
    on(turn, { type: "agent", iteration: 1, event: { type: "tool-call", id: `toolu_${turn}`, name: "Bash", input: { command: "echo hi > hello.txt && git add hello.txt", description: "Run a shell command" } } }, runId),
    on(turn, { type: "agent", iteration: 1, event: { type: "tool-result", id: `toolu_${turn}`, output: "done \x1b[31m\u202e" } }, runId),
    on(turn, { type: "agent.output", iteration: 1, kind: "text", stream: "stdout", lines: ["Done.", "a message\nof two lines"] }, runId),
    on(turn, { type: "agent", iteration: 1, event: { type: "result", isError: false, text: "Done.", costUsd: 0.01, turns: 2 } }, runId),
  ];
  const own = (turn: number, body: RunEventBody) => on(turn, body);
  const linesOf = (dir: string, id = RUN) => readFileSync(join(dir, id, "events.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);

  it("writes a turn's output events as one line and reads back exactly the events written, in order, each with its envelope", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    const sent: RunEvent[] = [own(0, { type: "run.started", agent: "claude", sandbox: "host", isolation: "in-place", maxIterations: 1, cwd: "/repo" })];
    for (let turn = 1; turn <= 30; turn++) sent.push(...claudeTurn(turn));
    sent.push(own(99, { type: "run.finished", status: "succeeded", iterations: 1, usage: emptyUsage(), durationMs: 5 }));
    for (const event of sent) display.onEvent(event);
    await display.close?.();

    const lines = linesOf(dir);
    const batched = lines.filter((line) => line.type === "journal.events");
    // Turn 1's first session changes run.json, so it went out at once; every other turn is one line.
    expect(batched).toHaveLength(30);
    expect(lines).toHaveLength(1 + 1 + 30 + 1);
    for (const line of batched) {
      expect(Object.keys(line)).toEqual(["runId", "name", "time", "type", "events"]);
      for (const body of line.events as Array<Record<string, unknown>>) expect(Object.keys(body)).not.toContain("runId");
    }
    // One line of text is kept as itself (shorter than its journal.lines form); a message with a newline too.
    expect((batched[1]!.events as Array<{ type: string }>).map((body) => body.type)).toEqual(["agent", "agent.output", "agent", "agent", "agent", "agent.output", "agent"]);
    const read = await readEvents({ dir: join(dir, RUN) });
    expect(read).toEqual(sent);
    expect(read.map((event) => JSON.stringify(event))).toEqual(sent.map((event) => JSON.stringify(event))); // keys in their order too
    expect(readRecord(join(dir, RUN))).toMatchObject({ sessionId: "ef3d35c1-069b-4df8-92b7-8117ab172bbe", model: "claude-sonnet-4-5" });
    expect(readFileSync(join(dir, RUN, "events.jsonl"), "utf8")).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/); // inert
  });

  it("mixed with hook output and the run's own events: the run's own go out at once, after what is held; the log is as --log-file writes it", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    const file = logFileDisplay(join(dir, "log-file.log"), { title: "fix-login" });
    const hook = (turn: number, line: string) => on(turn, { type: "hook.output", hook: "afterIteration", line, stream: "stdout" });
    const sent: RunEvent[] = [own(0, { type: "run.started", agent: "claude", sandbox: "host", isolation: "in-place", maxIterations: 2, cwd: "/repo" })];
    sent.push(own(1, { type: "iteration.started", iteration: 1, maxIterations: 2 }), ...claudeTurn(1), ...claudeTurn(2).slice(1, 4));
    sent.push(own(2, { type: "log", level: "info", message: "the run's own, between output events of one turn" }), ...claudeTurn(2).slice(4));
    sent.push(hook(3, "h1"), hook(3, "h2"), hook(3, "two\nlines"), on(3, { type: "agent", iteration: 1, event: { type: "tool-call", name: "Read", input: { path: "a" } } }));
    sent.push(own(4, { type: "commits", commits: [{ sha: "a".repeat(40), subject: "agent: \x1b]0;x\x07 fix", author: "A <a@b>", time: "2026-12-03T15:00:00.000Z", files: ["a"] }] }), own(4, { type: "iteration.started", iteration: 2, maxIterations: 2 }), ...claudeTurn(5));
    sent.push(own(99, { type: "run.finished", status: "succeeded", iterations: 2, usage: emptyUsage(), durationMs: 5 }));
    for (const event of sent) display.onEvent(event);
    await display.close?.();

    const types = linesOf(dir).map((line) => line.type);
    expect(types).toEqual(["run.started", "iteration.started", "agent", "journal.events", "journal.events", "log", "journal.events", "journal.events", "commits", "iteration.started", "journal.events", "run.finished"]);
    const read = await readEvents({ dir: join(dir, RUN) });
    expect(read).toEqual(sent);
    const followed: RunEvent[] = [];
    for await (const event of followEvents({ dir: join(dir, RUN) })) followed.push(event);
    expect(followed).toEqual(sent);
    // The log: each event of a journal.events line as --log-file shows it, the hook's lines as a batch.
    for (const event of read) file.onEvent(event);
    file.close?.();
    const rendered = await logOf(join(dir, RUN));
    expect(rendered).toContain('→ Read {"path":"a"}');
    const bare = (log: string) => log.split("\n").map((line) => line.replace(/^\S+Z \[fix-login\] (#1 )?/, ""));
    expect(bare(rendered)).toEqual(bare(readFileSync(join(dir, "log-file.log"), "utf8")));
  });

  it("near maxBytes keeps what fits (more than one line per event would), writes one marker and counts every event past it", async () => {
    const maxBytes = 24 * 1024;
    const call = (turn: number, i: number) => on(turn, { type: "agent", iteration: 1, event: { type: "tool-call", id: `toolu_${i}`, name: "Bash", input: { command: `echo ${i} ${"y".repeat(40)}` } } });
    const output = (turn: number, lines: string[]) => on(turn, { type: "agent.output", iteration: 1, kind: "text", stream: "stdout", lines });
    const sent: RunEvent[] = [own(0, { type: "run.started", agent: "claude", sandbox: "host", isolation: "in-place", maxIterations: 1, cwd: "/repo" })];
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i} ${"z".repeat(20)}`);
    for (let i = 0; i < 120; i++) sent.push(call(1, i));
    sent.push(output(1, lines), call(1, 1000), output(2, ["later"]));
    const finish = own(99, { type: "run.finished", status: "succeeded", iterations: 1, usage: emptyUsage(), durationMs: 5 });
    const dir = await root();
    const display = journalDisplay({ root: dir, maxBytes });
    for (const event of [...sent, finish]) display.onEvent(event);
    await display.close?.();

    const raw = readFileSync(join(dir, RUN, "events.jsonl"), "utf8");
    const read = await readEvents({ dir: join(dir, RUN) });
    const marker = read.findIndex((e) => e.type === "log" && e.message.startsWith("The journal reached its limit of 24 KiB"));
    expect(marker).toBeGreaterThan(0);
    expect(read.filter((e) => e.type === "log")).toHaveLength(1);
    expect(read.slice(marker + 1)).toEqual([finish]);
    // What came before the marker is exactly the start of what was sent (the agent.output's first lines), within the cap.
    const kept = read.slice(0, marker);
    const calls = kept.filter((e) => e.type === "agent").length;
    const keptLines = kept.flatMap((e) => (e.type === "agent.output" ? e.lines : []));
    expect(calls).toBe(120);
    expect(keptLines.length).toBeGreaterThan(20);
    expect(keptLines).toEqual(lines.slice(0, keptLines.length));
    const beforeMarker = Buffer.byteLength(raw.slice(0, raw.indexOf('"type":"log"')).slice(0, raw.slice(0, raw.indexOf('"type":"log"')).lastIndexOf("\n") + 1));
    expect(beforeMarker).toBeLessThanOrEqual(maxBytes);
    // The next line would not have fitted: what fits is kept (a body and its comma, at most ~60 bytes, is what is left).
    expect(maxBytes - beforeMarker).toBeLessThan(80);
    // One line per event (before ADR 0741) fitted fewer: the run.started line, then each tool call's own line.
    const perEvent = sent.slice(0, 121).reduce((sum, event) => sum + Buffer.byteLength(`${JSON.stringify(event)}\n`), 0);
    expect(perEvent).toBeGreaterThan(maxBytes); // the calls alone, one per line, would not have fitted
    // Counted: every line of the agent.output not kept, the last call and the later output.
    expect(readRecord(join(dir, RUN))).toMatchObject({ state: "succeeded", truncated: { maxBytes, droppedEvents: lines.length - keptLines.length + 2 } });
  });

  it("a turn whose JSON came out far longer than its estimate is written again in lines of at most 256 KiB, every event kept", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    // Deep strings the cheap estimate does not see: ~2 KB of JSON each, ~1.2 MB in all.
    const sent = Array.from({ length: 600 }, (_, i) => on(1, { type: "agent", iteration: 1, event: { type: "tool-call", id: `t${i}`, name: "Write", input: { file: { path: `f${i}`, content: "x".repeat(2000) } } } }));
    for (const event of sent) display.onEvent(event);
    await display.close?.();
    const raw = readFileSync(join(dir, RUN, "events.jsonl"), "utf8").trim().split("\n");
    expect(raw.length).toBeGreaterThanOrEqual(5);
    expect(raw.every((line) => Buffer.byteLength(line) <= 256 * 1024)).toBe(true);
    expect(raw.every((line) => (JSON.parse(line) as { type: string }).type === "journal.events")).toBe(true);
    expect(await readEvents({ dir: join(dir, RUN) })).toEqual(sent);
  });

  it("reads a malformed journal.events line safely: what is well formed is kept, nothing nests, nothing throws", async () => {
    const dir = await root();
    const display = journalDisplay({ root: dir });
    display.onEvent(own(0, { type: "run.started", agent: "claude", sandbox: "host", isolation: "in-place", maxIterations: 1, cwd: "/repo" }));
    await display.close?.();
    const ok = { type: "log", level: "info", message: "kept" };
    let nested: Record<string, unknown> = { type: "journal.events", events: [ok] };
    for (let i = 0; i < 2000; i++) nested = { type: "journal.events", events: [nested] };
    const hostile = [
      { runId: RUN, time: "t", type: "journal.events", events: "not an array" },
      { runId: RUN, time: "t", type: "journal.events", events: { 0: ok } },
      { runId: 7, time: "t", type: "journal.events", events: [ok] },
      { runId: RUN, name: ["x"], time: "t", type: "journal.events", events: [ok] },
      { runId: RUN, type: "journal.events", events: [ok] },
      {
        runId: RUN,
        time: "t",
        type: "journal.events",
        events: [1, null, "x", [ok], { no: "type" }, { type: 5 }, nested, { ...ok, runId: "other" }, { ...ok, time: "forged" }, { ...ok, name: "forged" }, { type: "journal.lines", field: "bogus", of: {}, lines: "a" }, { type: "journal.lines", field: "lines", of: { type: "log" }, lines: "a" }, { ...ok, __proto__: { polluted: true } }, ok],
      },
    ];
    appendFileSync(join(dir, RUN, "events.jsonl"), `${hostile.map((line) => JSON.stringify(line)).join("\n")}\n${JSON.stringify(nested)}\n`);
    const read = await readEvents({ dir: join(dir, RUN) });
    expect(read.map((e) => e.type)).toEqual(["run.started", "log", "log"]);
    expect(read.slice(1)).toEqual([{ runId: RUN, time: "t", ...ok }, { runId: RUN, time: "t", ...ok }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const log = await logOf(join(dir, RUN));
    expect(log.match(/kept/g)).toHaveLength(2);
    expect(log).not.toContain("journal.events");
  });

  it("is smaller than one line per event: the same claude-like events, a turn each, against a line each", async () => {
    const write = async (sameTurn: boolean) => {
      const dir = await root();
      const display = journalDisplay({ root: dir });
      let n = 0;
      for (let turn = 1; turn <= 200; turn++) for (const event of claudeTurn(turn)) display.onEvent(sameTurn ? event : { ...event, time: new Date(Date.UTC(2026, 11, 3, 15, 0, 0, 1000 * turn + n++)).toISOString() });
      await display.close?.();
      return { size: Buffer.byteLength(readFileSync(join(dir, RUN, "events.jsonl"))), events: await readEvents({ dir: join(dir, RUN) }) };
    };
    const [batched, single] = [await write(true), await write(false)];
    expect(batched.events.map(({ time: _time, ...rest }) => rest)).toEqual(single.events.map(({ time: _time, ...rest }) => rest));
    // Measured 0.71 (the envelope, ~80 bytes, once a turn instead of once an event; 7 events a turn): under 0.8 with margin.
    expect(batched.size / single.size).toBeLessThan(0.8);
  });
});
