import { closeSync, openSync, readSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
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

/** One of the runs a reference could mean, as `AmbiguousRunError` lists it. */
export interface RunCandidate {
  /** The run id: naming it picks this run. */
  id: string;
  /** The run's name, if it had one. */
  name?: string;
  /** When it started (ISO 8601). */
  started: string;
  /** Its state now. */
  state: RunRecord["state"];
  /** Its branch, if it made one. */
  branch?: string;
}

/** A run reference (a name, or an id prefix) that fits several runs: they are listed, none is picked (`E_RUN_AMBIGUOUS`). */
export class AmbiguousRunError extends UsageError {
  /** Every run the reference fits, newest first. */
  readonly candidates: RunCandidate[];

  constructor(ref: string, runs: readonly JournalRun[], how: "name" | "prefix") {
    const candidates = runs.map((r) => ({ id: r.id, ...(r.name ? { name: r.name } : {}), started: r.started, state: r.state, ...(r.branch ? { branch: r.branch } : {}) }));
    const rows = candidates.map((c) => `  ${c.id}  ${c.started.replace("T", " ").replace(/\.\d+Z$|Z$/, "")}  ${c.state}${c.name ? `  ${c.name}` : ""}`);
    super(`"${ref}" ${how === "name" ? "names" : "is the start of"} ${runs.length} runs:\n${rows.join("\n")}`, {
      code: "E_RUN_AMBIGUOUS",
      hint: "Name one by its run id (or a longer prefix of it).",
    });
    this.candidates = candidates;
  }
}

/**
 * The one way a run is named (every command that takes a run goes through here): its run id,
 * its name, or a unique prefix of either. Several runs of one name, or a prefix that fits several,
 * throw `AmbiguousRunError` listing them (id, time, state): corral never picks one of them for you.
 */
export async function readRun(root: string, ref: string): Promise<JournalRun> {
  if (ref.length > 0 && !ref.includes("/") && ref !== "." && ref !== "..") {
    const exact = load(root, ref);
    if (exact) return exact;
  }
  const runs = await listRuns(root);
  const named = runs.filter((r) => r.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) throw new AmbiguousRunError(ref, named, "name");
  const byPrefix = ref.length ? runs.filter((r) => r.id.startsWith(ref) || r.name?.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new AmbiguousRunError(ref, byPrefix, "prefix");
  throw new UsageError(`No run "${ref}" in ${root}.`, { code: "E_RUN_NOT_FOUND", hint: "`corral runs list` shows the runs (by id or name)." });
}

/**
 * The runs of one fleet, by its fleet id or a unique prefix of it, in the order they started.
 * An unknown fleet is `E_FLEET_NOT_FOUND`; a prefix of two fleets' ids is `E_RUN_AMBIGUOUS`.
 */
export async function readFleet(root: string, ref: string): Promise<{ id: string; runs: JournalRun[] }> {
  const runs = (await listRuns(root)).filter((r) => r.fleet !== undefined && ref.length > 0 && r.fleet.startsWith(ref));
  const ids = [...new Set(runs.map((r) => r.fleet!))];
  const id = ids.includes(ref) ? ref : ids.length === 1 ? ids[0]! : undefined;
  if (ids.length > 1 && id === undefined) {
    throw new UsageError(`"${ref}" is the start of ${ids.length} fleet ids: ${ids.join(", ")}.`, { code: "E_RUN_AMBIGUOUS", hint: "Give more of the fleet id." });
  }
  if (id === undefined) throw new UsageError(`No fleet "${ref}" in ${root}.`, { code: "E_FLEET_NOT_FOUND", hint: "`corral runs show <task>` shows a task's fleet id." });
  return { id, runs: runs.filter((r) => r.fleet === id).reverse() };
}

/**
 * Every event of a run, in one array. A torn last line (the writer was killed mid-write) is
 * skipped. The journal can be large (up to its cap, 64 MiB by default): prefer `streamEvents`.
 */
export async function readEvents(run: Pick<JournalRun, "dir">): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const event of streamEvents(run)) events.push(event);
  return events;
}

/** Every event of a run as it is now, read as a stream: memory stays small whatever the journal's size. */
export async function* streamEvents(run: Pick<JournalRun, "dir">): AsyncGenerator<RunEvent> {
  for await (const line of follow(join(run.dir, EVENTS_FILE), run.dir, { until: "end" }, "skip")) {
    const event = parseLine(line);
    if (event) yield event;
  }
}

/** How `followEvents` and `followLog` follow a run. */
export interface FollowOptions {
  /** Stops following: the generator returns (no error) at its next look. */
  signal?: AbortSignal;
  /** How often to look for new lines. Default 200 ms. */
  pollMs?: number;
}

/**
 * The run's events as they are written: first those already there, then new ones, until the run
 * ends (finished, or its process gone) or `signal` aborts. Like `tail -f`, but it knows when to stop.
 */
export async function* followEvents(run: Pick<JournalRun, "dir">, options: FollowOptions = {}): AsyncGenerator<RunEvent> {
  for await (const line of follow(join(run.dir, EVENTS_FILE), run.dir, options, "skip")) {
    const event = parseLine(line);
    if (event) yield event;
  }
}

/** The run's plain-text log, line by line, following it like `followEvents`. A line longer than 1 MiB comes in pieces. */
export function followLog(run: Pick<JournalRun, "dir">, options: FollowOptions = {}): AsyncGenerator<string> {
  return follow(join(run.dir, LOG_FILE), run.dir, options, "split");
}

/** Path of the run's plain-text log. */
export const logPath = (run: Pick<JournalRun, "dir">): string => join(run.dir, LOG_FILE);

function load(root: string, id: string): JournalRun | undefined {
  const dir = runDir(root, id);
  const record = readRecord(dir);
  if (!record || record.id !== id) return undefined;
  return { ...record, recordedState: record.state, state: effectiveState(record), dir };
}

/** One line of events.jsonl, or undefined for a torn or foreign line (only the last can be torn: appends are whole lines). */
function parseLine(line: string): RunEvent | undefined {
  if (!line.trim()) return undefined;
  try {
    const event = JSON.parse(line) as RunEvent;
    return event && typeof event === "object" && typeof event.type === "string" ? event : undefined;
  } catch {
    return undefined;
  }
}

/** The longest line `follow` holds: the journal writes no event near it; a longer line is not one of its own. */
const MAX_EVENT_LINE = 64 * 1024 * 1024;
const MAX_LOG_LINE = 1024 * 1024;

/**
 * Complete lines of a growing file, until the run in `dir` is over and the file is drained (or, with
 * `until: "end"`, until the end of the file as it is now). At most one over-long line is held: it
 * is skipped (events) or handed out in pieces (the plain-text log), so memory stays bounded.
 */
async function* follow(file: string, dir: string, options: FollowOptions & { until?: "end" }, overlong: "skip" | "split"): AsyncGenerator<string> {
  const pollMs = options.pollMs ?? 200;
  const maxLine = overlong === "skip" ? MAX_EVENT_LINE : MAX_LOG_LINE;
  let offset = 0;
  let pending: string[] = []; // the pieces of the line being read
  let pendingLength = 0;
  let skipping = false;
  const buffer = Buffer.alloc(64 * 1024);
  const decoder = new StringDecoder("utf8"); // a character split across two reads stays whole
  for (;;) {
    // Read the state before the file: a run that ended now has its last line written already.
    const record = options.until === "end" ? undefined : readRecord(dir);
    const over = options.until === "end" || !record || (effectiveState(record) !== "running" && effectiveState(record) !== "created");
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
          const pieces = decoder.write(buffer.subarray(0, n)).split("\n");
          for (let i = 0; i < pieces.length; i++) {
            const piece = pieces[i]!;
            if (!skipping) {
              pending.push(piece);
              pendingLength += piece.length;
            }
            if (i < pieces.length - 1) {
              // A newline: the line is complete.
              if (!skipping) yield pending.join("");
              pending = [];
              pendingLength = 0;
              skipping = false;
            } else if (pendingLength > maxLine) {
              if (overlong === "split") yield pending.join("");
              else skipping = true;
              pending = [];
              pendingLength = 0;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    }
    if (over || options.signal?.aborted) {
      if (pendingLength && over) yield pending.join(""); // a torn line of a dead writer; the event readers skip it
      return;
    }
    try {
      await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {});
    } catch {
      return; // aborted
    }
  }
}
