import { closeSync, openSync, readSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";
import { UsageError, type RunEvent } from "@corral/core";
import { EVENTS_FILE, LOG_FILE, effectiveState, readRecord, runDir, type RunRecord } from "./record.js";

/** A run as read back: its record, with `state` as it is now (a dead `running` run is `interrupted`). */
export interface JournalRun extends RunRecord {
  /** What run.json says, before the liveness check. */
  recordedState: RunRecord["state"];
  /** The run's journal folder. */
  dir: string;
}

/** Every run in the journal `root` (`.corral/runs`), newest first. A folder without a readable run.json is skipped. */
export async function listRuns(root: string): Promise<JournalRun[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const runs: JournalRun[] = [];
  for (const name of names) {
    const run = load(root, name);
    if (run) runs.push(run);
  }
  return runs.sort((a, b) => b.started.localeCompare(a.started) || b.id.localeCompare(a.id));
}

/**
 * One run by its id, a unique prefix of it, or its name (the newest run of that name).
 * An unknown or ambiguous reference is a UsageError that lists what it could mean.
 */
export async function readRun(root: string, ref: string): Promise<JournalRun> {
  const exact = load(root, ref);
  if (exact && ref.length > 0 && !ref.includes("/")) return exact;
  const runs = await listRuns(root);
  const byPrefix = runs.filter((r) => r.id.startsWith(ref));
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) {
    throw new UsageError(`"${ref}" matches ${byPrefix.length} runs: ${byPrefix.slice(0, 5).map((r) => r.id).join(", ")}.`, { code: "E_RUN_AMBIGUOUS", hint: "Give more of the run id." });
  }
  const byName = runs.find((r) => r.name === ref);
  if (byName) return byName;
  throw new UsageError(`No run "${ref}" in ${root}.`, { code: "E_RUN_NOT_FOUND", hint: "`corral runs list` shows the runs (by id or name)." });
}

/** Every event of a run. A torn last line (the writer was killed mid-write) is skipped. */
export async function readEvents(run: Pick<JournalRun, "dir">): Promise<RunEvent[]> {
  const text = await readFile(join(run.dir, EVENTS_FILE), "utf8").catch(() => "");
  return parseLines(text.split("\n"));
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** How often to look for new lines. Default 200 ms. */
  pollMs?: number;
}

/**
 * The run's events as they are written: first those already there, then new ones, until the run
 * ends (finished, or its process gone) or `signal` aborts. Like `tail -f`, but it knows when to stop.
 */
export async function* followEvents(run: Pick<JournalRun, "dir">, options: FollowOptions = {}): AsyncGenerator<RunEvent> {
  for await (const line of follow(join(run.dir, EVENTS_FILE), run.dir, options)) {
    const [event] = parseLines([line]);
    if (event) yield event;
  }
}

/** The run's plain-text log, line by line, following it like `followEvents`. */
export function followLog(run: Pick<JournalRun, "dir">, options: FollowOptions = {}): AsyncGenerator<string> {
  return follow(join(run.dir, LOG_FILE), run.dir, options);
}

/** Path of the run's plain-text log. */
export const logPath = (run: Pick<JournalRun, "dir">): string => join(run.dir, LOG_FILE);

function load(root: string, id: string): JournalRun | undefined {
  const dir = runDir(root, id);
  const record = readRecord(dir);
  if (!record || record.id !== id) return undefined;
  return { ...record, recordedState: record.state, state: effectiveState(record), dir };
}

function parseLines(lines: string[]): RunEvent[] {
  const events: RunEvent[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch {
      // Only the last line can be torn (appends are whole lines); skip it.
    }
  }
  return events;
}

/** Complete lines of a growing file, until the run in `dir` is over and the file is drained. */
async function* follow(file: string, dir: string, options: FollowOptions): AsyncGenerator<string> {
  const pollMs = options.pollMs ?? 200;
  let offset = 0;
  let partial = "";
  const buffer = Buffer.alloc(64 * 1024);
  const decoder = new StringDecoder("utf8"); // a character split across two reads stays whole
  for (;;) {
    // Read the state before the file: a run that ended now has its last line written already.
    const record = readRecord(dir);
    const over = !record || (effectiveState(record) !== "running" && effectiveState(record) !== "created");
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      // Not written yet.
    }
    if (size > offset) {
      const fd = openSync(file, "r");
      try {
        while (offset < size) {
          const n = readSync(fd, buffer, 0, Math.min(buffer.length, size - offset), offset);
          if (n <= 0) break;
          offset += n;
          partial += decoder.write(buffer.subarray(0, n));
          const lines = partial.split("\n");
          partial = lines.pop()!;
          for (const line of lines) yield line;
        }
      } finally {
        closeSync(fd);
      }
    }
    if (over || options.signal?.aborted) {
      if (partial && over) yield partial; // a torn line of a dead writer; followEvents skips it
      return;
    }
    try {
      await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {});
    } catch {
      return; // aborted
    }
  }
}
