import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { type Display, type RunEvent } from "@corral/core";
import { inertJson, processStartTime } from "@corral/core/plugin-kit";
import { logFileDisplay, type LogFileDisplay } from "../displays/log-file.js";
import { EVENTS_FILE, LOG_FILE, runDir, writeRecord, type RunRecord } from "./record.js";

/** The journal of one run holds at most this much (events.jsonl and run.log together) unless told otherwise: 64 MiB. */
export const DEFAULT_JOURNAL_MAX_BYTES = 64 * 1024 * 1024;

export interface JournalDisplayOptions {
  /** The runs folder, `.corral/runs` of the repository. */
  root: string;
  /** The run's options, already stripped of secrets (see `journalOptions`). */
  options?: Record<string, unknown>;
  /** The model the run asked its agent for (the `model` option or flag, or the config's). */
  model?: string;
  /** Called once, just before the run's folder is first created (e.g. to git-exclude `.corral/`). */
  onOpen?: () => void;
  /**
   * About how many bytes the run's events.jsonl and run.log may take together. Past it the
   * agent's output (and hook output) is no longer journaled; a warning event marks the place, and
   * the run's own events (iterations, commits, the end) are still written. Default 64 MiB.
   */
  maxBytes?: number;
}

/** The events that grow with what the agent (or a hook) prints; the others are few per run. */
const isOutput = (event: RunEvent) => event.type === "agent" || event.type === "hook.output";

/**
 * The run journal as a Display: `<root>/<run-id>/run.json` (the run's state, rewritten atomically
 * as it changes), `events.jsonl` (every event, one line each, appended and written through so a
 * SIGKILL loses nothing already seen) and `run.log` (plain text). Events arrive redacted from core;
 * they are kept exactly, as JSON data (inert on a terminal). The folder is created on the first
 * event, so input that fails validation leaves nothing behind. Its size is capped (`maxBytes`).
 */
export function journalDisplay(options: JournalDisplayOptions): Display & { readonly dir: string | undefined } {
  const maxBytes = options.maxBytes ?? DEFAULT_JOURNAL_MAX_BYTES;
  let dir: string | undefined;
  let fd: number | undefined;
  let record: RunRecord | undefined;
  let log: LogFileDisplay | undefined;
  let eventBytes = 0;
  let closed = false;

  const open = (event: RunEvent) => {
    options.onOpen?.();
    dir = runDir(options.root, event.runId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pidStart = processStartTime(process.pid);
    record = {
      version: 1,
      id: event.runId,
      ...(event.name ? { name: event.name } : {}),
      state: "created",
      pid: process.pid,
      ...(pidStart ? { pidStart } : {}),
      host: hostname(),
      started: event.time,
      cwd: process.cwd(),
      options: options.options ?? {},
      ...(options.model ? { model: options.model } : {}),
    };
    writeRecord(dir, record);
    fd = openSync(join(dir, EVENTS_FILE), "a", 0o600);
    log = logFileDisplay(join(dir, LOG_FILE), event.name ? { title: event.name } : {});
  };

  const journal = (event: RunEvent, line: string) => {
    eventBytes += writeSync(fd!, line);
    log!.onEvent(event);
  };

  /** Output past the cap is counted, not written; the first such event leaves a marker. */
  const truncate = (r: RunRecord, event: RunEvent) => {
    if (r.truncated) {
      r.truncated.droppedEvents++;
      return;
    }
    r.truncated = { time: event.time, maxBytes, droppedEvents: 1 };
    const marker: RunEvent = {
      runId: event.runId,
      ...(event.name ? { name: event.name } : {}),
      time: event.time,
      type: "log",
      level: "warn",
      message: `The journal reached its limit of ${formatBytes(maxBytes)}: the agent's output from here on is not recorded (the run goes on; journal.maxBytes in the config raises the limit).`,
    };
    journal(marker, `${inertJson(marker)}\n`);
    writeRecord(dir!, r);
  };

  /** Folds an event into the record; true when run.json must be rewritten. */
  const apply = (r: RunRecord, event: RunEvent): boolean => {
    switch (event.type) {
      case "run.started":
        Object.assign(r, { state: "running", cwd: event.cwd, agent: event.agent, isolation: event.isolation, sandbox: { name: event.sandbox } });
        return true;
      case "workspace.ready":
        r.workspace = event.path;
        if (event.branch) r.branch = event.branch;
        if (event.baseCommit) r.baseCommit = event.baseCommit;
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
        return true;
      case "agent":
        // The model the agent reports, where the run named none.
        if (event.event.type !== "session" || !event.event.model || r.model) return false;
        r.model = event.event.model;
        return true;
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
      if (record === undefined) open(event);
      const line = `${inertJson(event)}\n`;
      // The log line of an event is about as long as its JSON: count it twice to keep both files under the cap.
      if (isOutput(event) && (record!.truncated || eventBytes + log!.bytes + 2 * Buffer.byteLength(line) > maxBytes)) return truncate(record!, event);
      // The line goes out first: events.jsonl is the truth, run.json a summary of it.
      journal(event, line);
      if (apply(record!, event)) writeRecord(dir!, record!);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (fd !== undefined) closeSync(fd);
      await log?.close?.();
    },
  };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB` : `${Math.round(bytes / 1024)} KiB`;
}
