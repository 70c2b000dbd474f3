import { mkdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { type Display, type RunEvent } from "@corral/core";
import { inertJson, processStartTime } from "@corral/core/plugin-kit";
import { openLineFile, type LineFile } from "../displays/log-file.js";
import { linesBody, outputBody, outputLine, outputLineCount, sameBatch } from "./lines.js";
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
 * A `journal.events` line (ADR 0741) is closed at this many events, or at about BATCH_BYTES of them
 * (a cheap estimate); one whose JSON came out longer than MAX_EVENTS_LINE (the estimate was far off) is
 * made again event by event, in lines of at most BATCH_BYTES.
 */
const EVENTS_LINE_EVENTS = BATCH_LINES;
const MAX_EVENTS_LINE = 4 * BATCH_BYTES;
/**
 * An event of about this many characters or more goes on a line of its own: what a line of events
 * saves is a call per event, nothing next to making a large one's JSON, and a large array's JSON costs
 * more than its elements' one by one (2-byte lines in blocks of 256 KiB, two to a line: 1.1x the CPU).
 */
const ALONE_CHARS = 16 * 1024;

/** What a body held for a `journal.events` line stands for: an event, or the events of a run of lines. */
type Held = RunEvent | readonly RunEvent[];

/** The events a held body stands for, one by one (an `agent.output` as one event per line): how it goes near the cap. */
function eventsOf(held: Held): readonly RunEvent[] {
  if (isEvents(held)) return held;
  if (held.type !== "agent.output") return [held];
  return held.lines.map((line) => ({ ...held, lines: [line] }));
}
const isEvents = (held: Held): held is readonly RunEvent[] => Array.isArray(held);
/** How many events a held body counts for when lost to a full disk (an `agent.output` is one), and when past the cap (one per line). */
const lostCount = (held: Held) => (isEvents(held) ? held.length : 1);
const droppedCount = (held: Held) => (isEvents(held) ? held.length : held.type === "agent.output" ? outputLineCount(held) : 1);

/** An event without its envelope: what a `journal.events` line holds of it. */
function bodyOf(event: RunEvent): Record<string, unknown> {
  const { runId: _runId, name: _name, time: _time, ...body } = event;
  return body;
}

/** About how many characters an event's JSON takes (its strings two levels deep), without making it. */
function sizeHint(event: RunEvent): number {
  let size = 64;
  const inner = event.type === "agent" ? (event.event as unknown as Record<string, unknown>) : (event as unknown as Record<string, unknown>);
  for (const key in inner) {
    const value = inner[key];
    if (typeof value === "string") size += value.length;
    else if (value && typeof value === "object") for (const k in value as Record<string, unknown>) {
      const v = (value as Record<string, unknown>)[k];
      size += typeof v === "string" ? v.length : 16;
    }
  }
  return size;
}

/**
 * What a `session` event changes in run.json: the model the agent reports, where the run named none, and
 * its last session (for a resume). Undefined when it changes nothing (or is no session event).
 */
function sessionChange(r: RunRecord, event: RunEvent): Pick<RunRecord, "model" | "sessionId"> | undefined {
  if (event.type !== "agent" || event.event.type !== "session") return undefined;
  const { model, sessionId } = event.event;
  const change: Pick<RunRecord, "model" | "sessionId"> = {};
  if (model && !r.model) change.model = model;
  if (typeof sessionId === "string" && sessionId.length <= 200 && sessionId !== r.sessionId) change.sessionId = sessionId;
  return change.model !== undefined || change.sessionId !== undefined ? change : undefined;
}

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

  // Output events that may wait for the end of the turn and share runId, name and time (core stamps one
  // time per turn: a read's events share it) are held here as their bodies, and written as one
  // `journal.events` line (ADR 0741), its JSON made once, when the line is closed (`seal`). Anything
  // else written (`write`) closes it first, so the order of events is kept.
  let group: { runId: string; name: string | undefined; time: string; bodies: Record<string, unknown>[]; held: Held[]; events: number; size: number } | undefined;

  /** Holds an output event's body for this turn's `journal.events` line. */
  const hold = (event: RunEvent, body: Record<string, unknown>, held: Held, size: number) => {
    let g = group;
    if (g && (size >= ALONE_CHARS || g.time !== event.time || g.runId !== event.runId || g.name !== event.name)) {
      seal();
      g = undefined;
    }
    g ??= group = { runId: event.runId, name: event.name, time: event.time, bodies: [], held: [], events: 0, size: 0 };
    g.bodies.push(body);
    g.held.push(held);
    g.events += lostCount(held);
    g.size += size;
    if (size >= ALONE_CHARS || g.size >= BATCH_BYTES || g.bodies.length >= EVENTS_LINE_EVENTS) seal();
    else schedule();
  };

  /** Writes the events held as one line: their bodies' JSON made at once, when it fits whole under the cap. */
  const seal = () => {
    const g = group;
    if (!g) return;
    group = undefined;
    const r = record!;
    if (!r.truncated) {
      // One body alone is the event itself (as before ADR 0741).
      const line = g.bodies.length === 1 ? `${envelopeOf(g)}${inertJson(g.bodies[0]).slice(1)}\n` : `${envelopeOf(g)}"type":"journal.events","events":${inertJson(g.bodies)}}\n`;
      const bytes = Buffer.byteLength(line);
      if ((g.bodies.length === 1 || bytes <= MAX_EVENTS_LINE) && written + bytes <= maxBytes) {
        write(line, g.time, g.events, bytes, true);
        if (recordDirty) saveRecord();
        return;
      }
    }
    sealExactly(r, g);
  };

  /**
   * The events held, body by body, each measured: a line of one body is the event itself (as before
   * ADR 0741), lines stay within BATCH_BYTES, and near the cap a body that does not fit goes as the
   * events it stands for, one by one (an agent.output's lines), so what fits is kept and the rest counted.
   */
  const sealExactly = (r: RunRecord, g: NonNullable<typeof group>) => {
    const envelope = envelopeOf(g);
    const head = `${envelope}"type":"journal.events","events":[`;
    const envelopeBytes = Buffer.byteLength(envelope);
    const headBytes = Buffer.byteLength(head);
    let parts: string[] = [];
    let bytes = 0; // the parts' bytes and the commas between them
    let events = 0;
    /** The bytes of the line of the parts taken and one more of `more` bytes. */
    const lineBytes = (more: number) => (parts.length ? headBytes + bytes + 1 + more + 3 : envelopeBytes + more); // `]}\n`; alone: `{` dropped, `\n` added
    const take = (json: string, size: number, count: number) => {
      bytes += (parts.length ? 1 : 0) + size;
      parts.push(json);
      events += count;
    };
    const emit = () => {
      if (!parts.length) return;
      const line = parts.length === 1 ? `${envelope}${parts[0]!.slice(1)}\n` : `${head}${parts.join(",")}]}\n`;
      const count = events;
      [parts, bytes, events] = [[], 0, 0];
      write(line, g.time, count, Buffer.byteLength(line), true);
    };
    for (let i = 0; i < g.bodies.length; i++) {
      const held = g.held[i]!;
      if (r.truncated) {
        truncate(r, isEvents(held) ? held[0]! : held, droppedCount(held));
        continue;
      }
      const json = inertJson(g.bodies[i]);
      const size = Buffer.byteLength(json);
      if (parts.length && lineBytes(size) > BATCH_BYTES) emit();
      if (written + lineBytes(size) <= maxBytes) {
        take(json, size, lostCount(held));
        continue;
      }
      // Past the cap as a whole: one by one, so what fits is kept; each event past it counts.
      const one = eventsOf(held);
      for (let k = 0; k < one.length; k++) {
        const json = inertJson(bodyOf(one[k]!));
        const size = Buffer.byteLength(json);
        if (parts.length && lineBytes(size) > BATCH_BYTES) emit();
        if (written + lineBytes(size) <= maxBytes) {
          take(json, size, 1);
          continue;
        }
        emit();
        truncate(r, one[k]!, one.length - k);
        break;
      }
    }
    emit();
    if (recordDirty) saveRecord();
  };

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

  /** Appends `line` (standing for `count` events), after the events held; `later`: it may wait for the end of the turn. */
  const write = (line: string, time: string, count: number, bytes: number, later: boolean) => {
    seal();
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
      seal();
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

  /** Holds the batch of output lines as one `journal.lines` body (or as itself when it is one line). */
  const flush = () => {
    const held = batch;
    batch = undefined;
    if (!held || record === undefined) return;
    const [first] = held.events;
    if (held.events.length === 1) return single(record, first!);
    if (record.truncated) return truncate(record, first!, held.events.length);
    // Near the cap it goes one by one, so what fits is kept (`sealExactly`).
    hold(first!, linesBody(first!, held.lines), held.events, held.bytes);
  };

  /**
   * The agent's output, one event of many lines: one line of events.jsonl. Near the cap its lines go
   * one by one (each its own event), so what fits is kept, as for lines that came one by one.
   */
  const output = (r: RunRecord, event: Extract<RunEvent, { type: "agent.output" }>) => {
    // Past the cap, each line counts as the event it was before output came batched (ADR 0712).
    if (r.truncated) return truncate(r, event, outputLineCount(event));
    const compact = outputBody(event);
    hold(event, compact ?? bodyOf(event), event, compact ? compact.lines.length : sizeHint(event));
  };

  /** One event: an output event that changes nothing in run.json is held for the turn's line; any other goes out at once, as its own line. */
  const single = (r: RunRecord, event: RunEvent) => {
    const output = isOutput(event);
    if (output && r.truncated) return truncate(r, event);
    if (output && !sessionChange(r, event)) return hold(event, bodyOf(event), event, sizeHint(event));
    seal(); // what is held goes first: `written` is then exact
    const line = `${inertJson(event)}\n`;
    const bytes = Buffer.byteLength(line);
    if (output && written + bytes > maxBytes) return truncate(r, event);
    const changed = apply(r, event);
    // The line goes out first (an event that changes the record at once): events.jsonl is the truth, run.json a summary of it.
    write(line, event.time, 1, bytes, false);
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
        const change = sessionChange(r, event);
        if (change) Object.assign(r, change);
        return change !== undefined;
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
      if (record) {
        seal();
        drain();
      }
      closed = true;
      if (record && recordDirty) saveRecord();
      events?.close();
    },
  };
}

/** `{"runId":…,"name":…,"time":…,`: the envelope a line of events starts with (an event's own line too). */
function envelopeOf(g: { runId: string; name: string | undefined; time: string }): string {
  return `{"runId":${inertJson(g.runId)},${g.name !== undefined ? `"name":${inertJson(g.name)},` : ""}"time":${inertJson(g.time)},`;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB` : `${Math.round(bytes / 1024)} KiB`;
}
