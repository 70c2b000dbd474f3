import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Display, RunEvent } from "@corral/core";
import { logFileDisplay } from "../displays/log-file.js";
import { EVENTS_FILE, LOG_FILE, processStartTime, runDir, writeRecord, type RunRecord } from "./record.js";

export interface JournalDisplayOptions {
  /** The runs folder, `.corral/runs` of the repository. */
  root: string;
  /** The run's options, already stripped of secrets (see `journalOptions`). */
  options?: Record<string, unknown>;
  /** Called once, just before the run's folder is first created (e.g. to git-exclude `.corral/`). */
  onOpen?: () => void;
}

/**
 * The run journal as a Display: `<root>/<run-id>/run.json` (the run's state, rewritten atomically
 * as it changes), `events.jsonl` (every event, one line each, appended and written through so a
 * SIGKILL loses nothing already seen) and `run.log` (plain text). Events arrive redacted from core.
 * The folder is created on the first event, so input that fails validation leaves nothing behind.
 */
export function journalDisplay(options: JournalDisplayOptions): Display & { readonly dir: string | undefined } {
  let dir: string | undefined;
  let fd: number | undefined;
  let record: RunRecord | undefined;
  let log: Display | undefined;
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
    };
    writeRecord(dir, record);
    fd = openSync(join(dir, EVENTS_FILE), "a", 0o600);
    log = logFileDisplay(join(dir, LOG_FILE), event.name ? { title: event.name } : {});
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
      // The line goes out first: events.jsonl is the truth, run.json a summary of it.
      writeSync(fd!, `${JSON.stringify(event)}\n`);
      log!.onEvent(event);
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
