import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir, tempRepo, waitFor } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { agentEventsOf, type RunEvent } from "@corral/core";

// Finding 8 of issue 14: whatever the agent prints, the journal stays within its cap (with a marker
// where it stops), and a slow reader of corral's output slows the run down instead of making corral
// hold what it has not read.
// How much memory that takes is measured by `pnpm bench` (tooling/bench/memory.bench.mjs), not here.

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
/** The completion signal (docs/cli.md): without it a run that used up its iterations ends incomplete. */
const SIGNAL = "<promise>COMPLETE</promise>";
/** A real agent printing `count` numbered lines of 200 characters, then, finished, the completion signal. */
const printer = (count: number) => ["--", "node", "-e", `const pad = "x".repeat(190); for (let i = 0; i < ${count}; i++) console.log(String(i).padStart(8, "0"), pad); console.log(${JSON.stringify(SIGNAL)})`];

type Event = { type: string; level?: string; message?: string; event?: { type: string; text?: string } };
const parse = (ndjson: string): Event[] => ndjson.trim().split("\n").map((line) => JSON.parse(line) as Event);
const runDir = (repo: string) => {
  const root = join(repo, ".corral", "runs");
  return join(root, readdirSync(root)[0]!);
};
/** The agent events of the numbered lines (the signal line after them left out). */
const printed = (events: Event[]) => events.flatMap((e) => agentEventsOf(e as unknown as RunEvent)).filter((a) => !(a.type === "text" && a.text === SIGNAL));
/** Every line of the agent's output the events hold (an `agent.output` event holds many, ADR 0712). */
const outputLines = (events: Event[]) => events.flatMap((e) => agentEventsOf(e as unknown as RunEvent));
const journalBytes = (dir: string) => statSync(join(dir, "events.jsonl")).size; // the log is rendered from it (ADR 0710)

describe("the journal's cap", () => {
  it("stops recording the agent's output at journal.maxBytes, with a marker; the run's own events are still written", async () => {
    const repo = await tempRepo();
    const config = join(await tempDir(), "corral.config.json");
    await writeFile(config, JSON.stringify({ journal: { maxBytes: 256 * 1024 } }));
    const r = await corral(["run", "--isolation", "in-place", "--prompt", "x", "--config", config, "--json", ...printer(20_000)], repo);
    expect(r.exitCode).toBe(0);
    const dir = runDir(repo);
    expect(journalBytes(dir)).toBeLessThanOrEqual(256 * 1024 + 16 * 1024);

    // The journal as its readers give it back (events.jsonl keeps runs of lines as one journal.lines event).
    const journaled = parse((await corral(["runs", "logs", basename(dir), "--json"], repo)).stdout);
    expect(readFileSync(join(dir, "events.jsonl"), "utf8").split("\n").length).toBeLessThan(outputLines(journaled).length);
    const marker = journaled.findIndex((e) => e.type === "log" && e.level === "warn" && /journal reached its limit of 256 KiB/.test(e.message ?? ""));
    expect(outputLines(journaled.slice(0, Math.max(marker, 0))).length).toBeGreaterThan(100);
    expect(outputLines(journaled.slice(marker))).toHaveLength(0); // the signal line too
    expect(journaled.map((e) => e.type)).toEqual(expect.arrayContaining(["iteration.finished", "commits", "workspace.released", "run.finished"]));
    expect(journaled.at(-1)).toMatchObject({ type: "run.finished", status: "succeeded" });
    expect((await corral(["runs", "logs", basename(dir)], repo)).stdout).toMatch(/warning: The journal reached its limit of 256 KiB/);
    const record = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as { truncated?: { droppedEvents: number } };
    expect(record.truncated?.droppedEvents).toBe(20_000 + 1 - outputLines(journaled).length); // + the signal line

    // The cap is the journal's: the terminal and NDJSON got everything (the CLI waits for its readers).
    expect(printed(parse(r.stdout))).toHaveLength(20_000);
    expect(r.stderr.split("\n").filter((line) => / x{190}$/.test(line))).toHaveLength(20_000);

    // Read back as a stream, whole: runs show (with its events) and runs logs --json.
    const id = JSON.parse(r.stdout.split("\n")[0]!).runId as string;
    const show = await corral(["runs", "show", id], repo);
    expect(show.stdout).toMatch(/journal: truncated at 256 KiB on .*; \d+ event\(s\) of output after it not recorded/);
    const shown = JSON.parse((await corral(["runs", "show", id, "--json"], repo)).stdout) as { truncated: unknown; events: Event[] };
    expect(shown.events).toEqual(journaled);
    expect(parse((await corral(["runs", "logs", id, "--json"], repo)).stdout)).toEqual(journaled);
  });

  it("twin: under the default cap (64 MiB) every line is journaled and there is no marker", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--isolation", "in-place", "--prompt", "x", ...printer(20_000)], repo);
    expect(r.exitCode).toBe(0);
    const journaled = parse((await corral(["runs", "logs", basename(runDir(repo)), "--json"], repo)).stdout);
    expect(printed(journaled)).toHaveLength(20_000);
    expect(journaled.some((e) => /journal reached its limit/.test(e.message ?? ""))).toBe(false);
    expect(JSON.parse(readFileSync(join(runDir(repo), "run.json"), "utf8"))).not.toHaveProperty("truncated");
  });
});

describe("a reader slower than the agent", () => {
  it("makes the run wait for it (the agent waits on its output), and then gets every line, whole, on stderr and in NDJSON", async () => {
    const repo = await tempRepo();
    // stdout and stderr are not read for a while: a stalled pager, a blocked pipe.
    const child = spawn("node", [BIN, "run", "--isolation", "in-place", "--prompt", "x", "--json", ...printer(100_000)], { cwd: repo, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    child.stdout.pause();
    child.stderr.pause();
    await waitFor(() => existsSync(join(repo, ".corral", "runs")) && readdirSync(join(repo, ".corral", "runs")).length > 0, 30_000, "the run to start");
    await new Promise((resume) => setTimeout(resume, 3000));
    const state = () => (JSON.parse(readFileSync(join(runDir(repo), "run.json"), "utf8")) as { state: string }).state;
    expect(state()).toBe("running"); // 20 MB would take a fraction of that: corral is waiting for its reader
    const read = (stream: NodeJS.ReadableStream) =>
      new Promise<string>((done) => {
        let text = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => (text += chunk));
        stream.on("end", () => done(text));
        stream.resume();
      });
    const [stdout, stderr, code] = await Promise.all([read(child.stdout), read(child.stderr), new Promise((done) => child.on("close", done))]);
    expect(code).toBe(0);
    expect(state()).toBe("succeeded");

    const lines = stderr.split("\n").filter((line) => / x{190}$/.test(line));
    expect(lines).toHaveLength(100_000);
    expect(lines.every((line, i) => line.startsWith(String(i).padStart(8, "0")))).toBe(true);
    expect(stderr).not.toContain("not shown here");
    expect(stderr.match(/^run succeeded: 1 iteration\(s\) in [\d.]+ s$/gm)).toHaveLength(1); // the summary, once
    const events = parse(stdout);
    expect(printed(events)).toHaveLength(100_000);
    expect(events.some((e) => e.type === "log" && /not written here/.test(e.message ?? ""))).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "succeeded" });
  });
});
