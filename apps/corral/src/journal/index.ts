/**
 * The run journal: `.corral/runs/<run-id>/` holds `run.json`, `events.jsonl` and `run.log` for
 * every run, so a run can be inspected, followed and, after a crash, cleaned up.
 */
import { randomBytes } from "node:crypto";
import type { Display, RunOptions } from "@corral/core";
import { journalDisplay } from "./display.js";
import { journalOptions } from "./options.js";
import { RUN_ID_ENV } from "./processes.js";
import { excludeCorralFolder, journalLocation } from "./root.js";

export { journalDisplay } from "./display.js";
export type { JournalDisplayOptions } from "./display.js";
export { listRuns, readRun, readEvents, followEvents, followLog, logPath } from "./reader.js";
export type { FollowOptions, JournalRun } from "./reader.js";
export { effectiveState, orchestratorAlive, writeRecord, readRecord, EVENTS_FILE, LOG_FILE, RECORD_FILE } from "./record.js";
export type { RunRecord, RunState } from "./record.js";
export { journalLocation, excludeCorralFolder } from "./root.js";
export type { JournalLocation } from "./root.js";
export { journalOptions } from "./options.js";
export { runProcesses, killRunProcesses, RUN_ID_ENV } from "./processes.js";

/** What `run()` adds to a journaled run: the display, and options that tie the run to it. */
export interface RunJournal {
  display: Display;
  /** Merged over the run's options: a fixed run id, and `CORRAL_RUN_ID` in the sandbox's env. */
  runOptions: { runId: string; env: Record<string, string> };
}

/**
 * The journal for one run, or undefined when it is off. `enabled` defaults to on inside a git
 * repository. The run id is fixed here so the sandbox env can carry it: `corral clean` finds what
 * a killed run left running by it.
 */
export async function runJournal(options: RunOptions<unknown>, enabled?: boolean): Promise<RunJournal | undefined> {
  if (enabled === false) return undefined;
  const location = await journalLocation(options.cwd ?? process.cwd());
  if (enabled === undefined && location.repoRoot === undefined) return undefined;
  const runId = options.runId ?? newRunId();
  const display = journalDisplay({
    root: location.root,
    options: journalOptions(options),
    ...(location.commonDir ? { onOpen: () => excludeCorralFolder(location.commonDir!) } : {}),
  });
  return { display, runOptions: { runId, env: { ...options.env, [RUN_ID_ENV]: runId } } };
}

/** Same shape as core's run ids: `20250101-120000-a1b2c3`. */
export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}
