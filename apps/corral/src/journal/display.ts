import { mkdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { type Display, type RunEvent } from "@corral/core";
import { inertJson, processStartTime } from "@corral/core/plugin-kit";
import { openLineFile, type LineFile } from "../displays/log-file.js";
import { linesEvent, outputEvent, outputLine, sameBatch } from "./lines.js";
import { EVENTS_FILE, runDir, writeRecord, type RunRecord } from "./record.js";

/** The journal of one run (its events.jsonl) holds at most this much unless told otherwise: 64 MiB. */
export const DEFAULT_JOURNAL_MAX_BYTES = 64 * 1024 * 1024;

export interface JournalDisplayOptions {
  /** The runs folder, `.corral/runs` of the repository. */
  root: string;
  /** The run's options, already stripped of secrets (see `journalOptions`). */
  options?: Record<string, unknown>;
  /** The fleet the run is a task of. */
  fleet?: string;
  /** The model the run asked its agent for (the `model` option or flag, or the config's). */
  model?: string;
  /** Called once, just before the run's folder is first created (e.g. to git-exclude `.corral/`). */
  onOpen?: () => void;
  /**
   * About how many bytes the run's events.jsonl may take. Past it the
   * agent's output (and hook output) is no longer journaled; a warning event marks the place, and
   * the run's own events (iterations, commits, the end) are still written. Default 64 MiB.
   */
  maxBytes?: number;
}

/** The events that grow with what the agent (or a hook) prints; the others are few per run. */
const isOutput = (event: RunEvent) => event.type === "agent" || event.type === "agent.output" || event.type === "hook.output";

/**
 * A batch is written once it holds this many bytes or lines (or at the end of the current turn of
 * the event loop): the events it holds until then stay few (memory), its own JSON stays small next to them.
 */
const BATCH_BYTES = 256 * 1024;
const BATCH_LINES = 8192;

/**
 * The journal of one run as a Display: `<root>/<run-id>/run.json` (the run's state, rewritten atomically
 * as it changes), `events.jsonl` (every event; consecutive output lines as one `journal.lines` event; the
 * output events of one turn of the event loop written together at its end, or before the next event of
 * the run's own, so a SIGKILL loses at most that turn's output). The plain-text log is rendered from events.jsonl when read (`followLog`, ADR 0710): the
 * text is stored once. Events arrive redacted from core; they are kept exactly, as JSON data (inert on
 * a terminal). The folder is created on the first event, so input that fails
 * validation leaves nothing behind. Its size is capped (`maxBytes`).
 *
 * A full disk never breaks the run or the journal: a line the disk refused is cut back whole (the
 * journal never ends in a torn line), the events lost are counted in `run.json` (`lost`), and
 * `run.json` still gets the run's final state (rewritten in place when no new file fits). A run whose
 * folder could not be made at all leaves none behind.
 */
export function journalDisplay(options: JournalDisplayOptions): Display & { readonly dir: string | undefined } {
  const maxBytes = options.maxBytes ?? DEFAULT_JOURNAL_MAX_BYTES;
  let dir: string | undefined;
  let events: LineFile | undefined;
  let record: RunRecord | undefined;
  let closed = false;
  let recordDirty = false; // run.json is behind (its last write failed): written again at the next chance
  let lostBeforeOpen = 0;
  let batch: { events: RunEvent[]; lines: string[]; bytes: number } | undefined;
  let written = 0; // bytes of events.jsonl, as of the last write
  let flushScheduled = false;

  const open = (event: RunEvent): boolean => {
    options.onOpen?.();
    const folder = runDir(options.root, event.runId);
    let made = false;
    try {
      made = mkdirSync(folder, { recursive: true, mode: 0o700 }) !== undefined;
      const pidStart = processStartTime(process.pid);
      const fresh: RunRecord = {
        version: 1,
        id: event.runId,
        ...(event.name ? { name: event.name } : {}),
        state: "created",
        pid: process.pid,
        ...(pidStart ? { pidStart } : {}),
        host: hostname(),
        started: event.time,
        cwd: process.cwd(),
        ...(options.fleet ? { fleet: options.fleet } : {}),
        options: options.options ?? {},
        ...(options.model ? { model: options.model } : {}),
      };
      writeRecord(folder, fresh);
      events = openLineFile(join(folder, EVENTS_FILE));
      dir = folder;
      record = fresh;
      if (lostBeforeOpen) record.lost = { time: event.time, reason: "ENOSPC", droppedEvents: lostBeforeOpen };
      return true;
    } catch {
      // A disk too full for even run.json: leave no half-made folder (it would list as an unreadable run).
      if (made) rmSync(folder, { recursive: true, force: true });
      return false;
    }
  };

  const saveRecord = () => {
    try {
      writeRecord(dir!, record!);
      recordDirty = false;
    } catch {
      recordDirty = true;
    }
  };

  /** Counts what the disk refused; run.json says so (once the disk takes it). */
  const lose = (time: string, count: number) => {
    const r = record!;
    const reason = events?.lastError?.code ?? "EIO";
    r.lost = r.lost ? { ...r.lost, droppedEvents: r.lost.droppedEvents + count } : { time, reason, droppedEvents: count };
    recordDirty = true;
  };

  // Lines of output events wait here until the end of the event loop's turn (or BATCH_BYTES): one
  // write for all of them. Any other event writes them first, then itself, at once.
  let pending: string[] = [];
  let pendingBytes = 0;
  let pendingEvents = 0;
  let pendingTime = "";

  const drain = () => {
    if (!pending.length) return;
    const text = pending.length === 1 ? pending[0]! : pending.join("");
    const [time, count] = [pendingTime, pendingEvents];
    pending = [];
    pendingBytes = 0;
    pendingEvents = 0;
    if (!events!.write(text)) lose(time, count);
    written = events!.bytes;
  };

  /** Appends `line` (standing for `count` events); `later`: it may wait for the end of the turn. */
  const write = (line: string, time: string, count: number, bytes: number, later: boolean) => {
    if (!pending.length) pendingTime = time;
    pending.push(line);
    pendingBytes += bytes;
    pendingEvents += count;
    written = events!.bytes + pendingBytes;
    if (!later || pendingBytes >= BATCH_BYTES) drain();
    else schedule();
  };

  /** At the end of this turn of the event loop: the batch held, then everything pending, in one write. */
  const schedule = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flush();
      drain();
      flushScheduled = false;
    });
  };

  /** Output past the cap is counted, not written; the first such event leaves a marker. */
  const truncate = (r: RunRecord, event: RunEvent, count = 1) => {
    if (r.truncated) {
      r.truncated.droppedEvents += count;
      return;
    }
    r.truncated = { time: event.time, maxBytes, droppedEvents: count };
    const marker: RunEvent = {
      runId: event.runId,
      ...(event.name ? { name: event.name } : {}),
      time: event.time,
      type: "log",
      level: "warn",
      message: `The journal reached its limit of ${formatBytes(maxBytes)}: the agent's output from here on is not recorded (the run goes on; journal.maxBytes in the config raises the limit).`,
    };
    const line = `${inertJson(marker)}\n`;
    write(line, marker.time, 1, Buffer.byteLength(line), false);
    saveRecord();
  };

  /** Writes the batch of output lines held, as one event (or as itself when it is one line). */
  const flush = () => {
    const held = batch;
    batch = undefined;
    if (!held || record === undefined) return;
    const [first] = held.events;
    if (held.events.length === 1) return single(record, first!);
    const lines = linesEvent(first!, held.lines);
    const line = `${inertJson(lines)}\n`;
    // Past the cap as a whole: one by one, so what fits is kept.
    const bytes = Buffer.byteLength(line);
    if (record.truncated || written + bytes > maxBytes) return held.events.forEach((event) => single(record!, event));
    write(line, first!.time, held.events.length, bytes, true);
    if (recordDirty) saveRecord();
  };

  /**
   * The agent's output, one event of many lines: one line of events.jsonl. Near the cap its lines go
   * one by one (each its own event), so what fits is kept, as for lines that came one by one.
   */
  const output = (r: RunRecord, event: Extract<RunEvent, { type: "agent.output" }>) => {
    const compact = outputEvent(event);
    const line = `${inertJson(compact ?? event)}\n`;
    const bytes = Buffer.byteLength(line);
    if (!r.truncated && written + bytes <= maxBytes) return write(line, event.time, 1, bytes, true);
    // Past the cap, each line counts as the event it was before output came batched (ADR 0712).
    if (r.truncated) return truncate(r, event, event.lines.length);
    for (let i = 0; i < event.lines.length; i++) {
      if (r.truncated) return truncate(r, event, event.lines.length - i);
      single(r, { ...event, lines: [event.lines[i]!] });
    }
  };

  /** One event, as its own line. */
  const single = (r: RunRecord, event: RunEvent) => {
    const line = `${inertJson(event)}\n`;
    const bytes = Buffer.byteLength(line);
    const output = isOutput(event);
    if (output && (r.truncated || written + bytes > maxBytes)) return truncate(r, event);
    const changed = apply(r, event);
    // The line goes out first (an event that changes the record at once): events.jsonl is the truth, run.json a summary of it.
    write(line, event.time, 1, bytes, output && !changed);
    if (changed || recordDirty) saveRecord();
  };

  /** Folds an event into the record; true when run.json must be rewritten. */
  const apply = (r: RunRecord, event: RunEvent): boolean => {
    switch (event.type) {
      case "run.started":
        Object.assign(r, { state: "running", cwd: event.cwd, agent: event.agent, isolation: event.isolation, sandbox: { name: event.sandbox }, ...(event.resumedFrom ? { resumedFrom: event.resumedFrom } : {}) });
        return true;
      case "workspace.ready":
        r.workspace = event.path;
        if (event.branch) r.branch = event.branch;
        if (event.baseCommit) r.baseCommit = event.baseCommit;
        if (event.baseBranch) r.baseBranch = event.baseBranch;
        return true;
      case "sandbox.ready":
        r.sandbox = { name: event.sandbox, id: event.id };
        return true;
      case "iteration.started":
        r.iterations = event.iteration;
        return true;
      case "commits":
        r.commits = event.commits.map((c) => ({ sha: c.sha, subject: c.subject }));
        return true;
      case "run.finished":
        Object.assign(r, { state: event.status, ended: event.time, iterations: event.iterations, usage: event.usage });
        if (event.error) r.error = event.error;
        if (event.teardownIncomplete) r.teardownIncomplete = event.teardownIncomplete;
        return true;
      case "agent": {
        if (event.event.type !== "session") return false;
        const before = `${r.model}\0${r.sessionId}`;
        // The model the agent reports, where the run named none; its last session, for a resume.
        if (event.event.model && !r.model) r.model = event.event.model;
        if (typeof event.event.sessionId === "string" && event.event.sessionId.length <= 200) r.sessionId = event.event.sessionId;
        return `${r.model}\0${r.sessionId}` !== before;
      }
      default:
        return false;
    }
  };

  return {
    name: "journal",
    get dir() {
      return dir;
    },
    onEvent(event) {
      if (closed) return;
      if (record === undefined && !open(event)) {
        lostBeforeOpen++;
        return;
      }
      const r = record!;
      if (event.type === "agent.output") {
        flush();
        return output(r, event);
      }
      const line = outputLine(event);
      if (line !== undefined) {
        const length = line.length + 1;
        if (batch && (batch.bytes >= BATCH_BYTES || batch.lines.length >= BATCH_LINES || !sameBatch(batch.events[0]!, event))) flush();
        // Near the cap, lines go one by one, each checked exactly (below); a line's JSON can be longer than it (escapes).
        if (!r.truncated && written + 2 * ((batch?.bytes ?? 0) + length) < maxBytes) {
          batch ??= { events: [], lines: [], bytes: 0 };
          batch.events.push(event);
          batch.lines.push(line);
          batch.bytes += length;
          schedule();
          return;
        }
      }
      flush();
      single(r, event);
    },
    async close() {
      if (closed) return;
      flush();
      if (record) drain();
      closed = true;
      if (record && recordDirty) saveRecord();
      events?.close();
    },
  };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB` : `${Math.round(bytes / 1024)} KiB`;
}
