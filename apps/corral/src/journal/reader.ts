import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";
import { CorralError, UsageError, type RunEvent } from "@corral/core";
import { logRenderer } from "../displays/log-file.js";
import { batchHead, entriesOfLine, expandLines } from "./lines.js";
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
  for await (const line of follow(join(run.dir, EVENTS_FILE), run.dir, { until: "end" }, "skip")) yield* parseLine(line);
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
  for await (const line of follow(join(run.dir, EVENTS_FILE), run.dir, options, "skip")) yield* parseLine(line);
}

/**
 * The run's plain-text log, line by line, following it like `followEvents`. It is rendered from
 * events.jsonl as it is read (ADR 0710: the journal stores the text once), as `--log-file` would
 * have written it; a journal an older corral wrote with a run.log is read from that file. A line
 * longer than 1 MiB comes in pieces.
 */
export async function* followLog(run: Pick<JournalRun, "dir">, options: FollowOptions = {}): AsyncGenerator<string> {
  const old = oldLog(run);
  if (old) return yield* follow(old, run.dir, options, "split");
  for await (const text of renderLog(run, options)) {
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      for (let at = start; at < nl; ) {
        const end = pieceEnd(text, at, nl);
        yield text.slice(at, end);
        at = end;
      }
      if (start === nl) yield "";
      start = nl + 1;
    }
  }
}

/**
 * The run's plain-text log as it is now, in blocks of whole lines (rendered from events.jsonl like
 * `followLog`), for a reader that writes it out: memory stays small whatever the journal's size.
 */
export async function* streamLog(run: Pick<JournalRun, "dir">): AsyncGenerator<string> {
  const old = oldLog(run);
  if (old) {
    const decoder = new StringDecoder("utf8");
    try {
      for await (const chunk of createReadStream(old) as AsyncIterable<Buffer>) yield decoder.write(chunk);
    } catch (error) {
      throw unreadableJournal(old, error);
    }
    const rest = decoder.end();
    if (rest) yield rest;
    return;
  }
  yield* renderLog(run, { until: "end" });
}

/** The run.log of a journal written before the log was rendered from the events (ADR 0710). */
function oldLog(run: Pick<JournalRun, "dir">): string | undefined {
  const file = join(run.dir, LOG_FILE);
  return existsSync(file) ? file : undefined;
}

/** The log's text, one block per line of events.jsonl (a `journal.lines` batch as one block; a `journal.events` line's events in order). */
async function* renderLog(run: Pick<JournalRun, "dir">, options: FollowOptions & { until?: "end" }): AsyncGenerator<string> {
  const render = logRenderer();
  const one = (event: Record<string, unknown>): string => {
    if (event.type !== "journal.lines") return render.event(event as unknown as RunEvent);
    const batch = batchHead(event);
    return batch ? render.lines(batch.first, batch.lines) : "";
  };
  for await (const line of follow(join(run.dir, EVENTS_FILE), run.dir, options, "skip")) {
    const event = parseEvent(line) as Record<string, unknown> | undefined;
    if (!event) continue;
    let text = "";
    if (event.type === "journal.events") for (const entry of entriesOfLine(event)) text += one(entry);
    else text = one(event);
    if (text) yield text;
  }
}

const MAX_LOG_PIECE = 1024 * 1024;

/** Where the piece of a log line that starts at `at` ends: at most 1 MiB on, never inside a surrogate pair. */
function pieceEnd(text: string, at: number, lineEnd: number): number {
  if (lineEnd - at <= MAX_LOG_PIECE) return lineEnd;
  const end = at + MAX_LOG_PIECE;
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
}

function load(root: string, id: string): JournalRun | undefined {
  const dir = runDir(root, id);
  const record = readRecord(dir);
  if (!record || record.id !== id) return undefined;
  return { ...record, recordedState: record.state, state: effectiveState(record), dir };
}

/**
 * The events of one line of events.jsonl: one, the run of output lines a `journal.lines` event stands
 * for, the events of a `journal.events` line (ADR 0741), or none for a torn or foreign line (only the
 * last can be torn: appends are whole lines).
 */
function parseLine(line: string): RunEvent[] {
  const event = parseEvent(line);
  if (!event) return [];
  const type = event.type as string;
  if (type === "journal.lines") return expandLines(event as unknown as Record<string, unknown>);
  if (type !== "journal.events") return [event];
  const events: RunEvent[] = [];
  for (const entry of entriesOfLine(event as unknown as Record<string, unknown>)) {
    if (entry.type !== "journal.lines") events.push(entry as unknown as RunEvent);
    else for (const one of expandLines(entry)) events.push(one);
  }
  return events;
}

/** One line of events.jsonl as it is written (a `journal.lines` batch not expanded); undefined for a torn or foreign line. */
function parseEvent(line: string): RunEvent | undefined {
  if (!line.trim()) return undefined;
  let event: RunEvent | undefined;
  try {
    event = JSON.parse(line) as RunEvent;
  } catch {
    return undefined;
  }
  return event && typeof event === "object" && typeof event.type === "string" ? event : undefined;
}

/** The longest line `follow` holds: the journal writes no event near it; a longer line is not one of its own. */
const MAX_EVENT_LINE = 64 * 1024 * 1024;
const MAX_LOG_LINE = 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * Complete lines of a growing file, until the run in `dir` is over and the file is drained (or, with
 * `until: "end"`, until the end of the file as it is now). At most one over-long line is held: it
 * is skipped (events) or handed out in pieces (the plain-text log), so memory stays bounded. Lines
 * are found in bytes (a newline is never inside a UTF-8 character), so a file of any size is read at
 * the disk's pace. A file that is missing once the run is over, or cannot be read, is an error
 * (`E_JOURNAL_UNREADABLE`), never an empty journal.
 */
async function* follow(file: string, dir: string, options: FollowOptions & { until?: "end" }, overlong: "skip" | "split"): AsyncGenerator<string> {
  const pollMs = options.pollMs ?? 200;
  const maxLine = overlong === "skip" ? MAX_EVENT_LINE : MAX_LOG_LINE;
  let offset = 0;
  let pending: Buffer[] = []; // the pieces of the line being read
  let pendingLength = 0;
  let skipping = false;
  const buffer = Buffer.alloc(overlong === "split" ? 64 * 1024 : 256 * 1024); // a log piece stays within 64 KiB of its cap
  const decoder = new StringDecoder("utf8"); // only for the pieces of an over-long log line, which may split a character
  const take = (piece: Buffer) => {
    if (skipping || !piece.length) return;
    pending.push(Buffer.from(piece)); // a copy: `buffer` is reused by the next read
    pendingLength += piece.length;
  };
  /** The line held so far, whole (an over-long log line's last piece), and nothing held after. */
  const complete = () => {
    const bytes = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLength);
    pending = [];
    pendingLength = 0;
    return overlong === "split" ? decoder.write(bytes) + decoder.end() : bytes.toString("utf8");
  };
  for (;;) {
    // Read the state before the file: a run that ended now has its last line written already.
    const record = options.until === "end" ? undefined : readRecord(dir);
    const over = options.until === "end" || !record || (effectiveState(record) !== "running" && effectiveState(record) !== "created");
    let size = 0;
    try {
      size = statSync(file).size;
    } catch (error) {
      // Not written yet is fine while the run lives; gone (or unreadable) once it is over is not.
      if (over || (error as NodeJS.ErrnoException).code !== "ENOENT") throw unreadableJournal(file, error);
    }
    if (size > offset) {
      let fd: number;
      try {
        fd = openSync(file, "r");
      } catch (error) {
        throw unreadableJournal(file, error);
      }
      try {
        while (offset < size) {
          let n: number;
          try {
            n = readSync(fd, buffer, 0, Math.min(buffer.length, size - offset), offset);
          } catch (error) {
            throw unreadableJournal(file, error);
          }
          if (n <= 0) break;
          offset += n;
          const chunk = buffer.subarray(0, n);
          let start = 0;
          for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
            take(chunk.subarray(start, nl));
            start = nl + 1;
            if (skipping) skipping = false;
            else yield complete();
          }
          take(chunk.subarray(start));
          if (pendingLength > maxLine) {
            if (overlong === "split") yield decoder.write(Buffer.concat(pending, pendingLength));
            else skipping = true;
            pending = [];
            pendingLength = 0;
          }
        }
      } finally {
        closeSync(fd);
      }
    }
    if (over || options.signal?.aborted) {
      // A torn line of a dead writer; the event readers skip it.
      if (pendingLength && over) yield complete();
      return;
    }
    try {
      await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {});
    } catch {
      return; // aborted
    }
  }
}

/** The error for a journal file that is missing or cannot be read (`E_JOURNAL_UNREADABLE`), from the error that said so. */
export function unreadableJournal(file: string, error: unknown): CorralError {
  const code = (error as NodeJS.ErrnoException).code;
  return new CorralError("E_JOURNAL_UNREADABLE", `The run's journal ${file} ${code === "ENOENT" ? "is missing" : `cannot be read (${code ?? String(error)})`}.`, {
    cause: error,
    hint: code === "ENOENT" ? "The run's folder is incomplete (a disk that was full, or a file removed by hand): `corral runs show <id>` still shows its run.json." : "Check the file's permissions and the disk it is on.",
  });
}
