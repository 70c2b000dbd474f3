/**
 * The run journal: `.corral/runs/<run-id>/` holds `run.json` and `events.jsonl` for every run (its
 * plain-text log is rendered from the events), so a run can be inspected, followed and, after a
 * crash, cleaned up.
 */
import { newRunId, type Display, type RunOptions } from "@corral/core";
import { journalDisplay } from "./display.js";
import { journalOptions } from "./options.js";
import { excludeCorralFolder, journalLocation, type JournalLocation } from "./root.js";
import { runDir, SESSION_DIR } from "./record.js";
import { join } from "node:path";

export { journalDisplay, DEFAULT_JOURNAL_MAX_BYTES } from "./display.js";
export type { JournalDisplayOptions } from "./display.js";
export { listRuns, readRun, readFleet, AmbiguousRunError, readEvents, streamEvents, followEvents, followLog, streamLog, unreadableJournal } from "./reader.js";
export type { FollowOptions, JournalRun, RunCandidate } from "./reader.js";
export { effectiveState, orchestratorAlive, writeRecord, readRecord, EVENTS_FILE, LOG_FILE, RECORD_FILE, SESSION_DIR } from "./record.js";
export type { RunRecord, RunState } from "./record.js";
export { journalLocation, excludeCorralFolder } from "./root.js";
export { listFleets, readFleetSummary, fleetLog, recordFleet, readFleetRecord, FLEETS_DIR } from "./fleets.js";
export type { FleetRecord, FleetState, FleetSummary, FleetLogLine } from "./fleets.js";
export type { JournalLocation } from "./root.js";
export { journalOptions } from "./options.js";
export { runProcesses, killRunProcesses, RUN_ID_ENV } from "./processes.js";

/** What `run()` adds to a journaled run: the display, and options that tie the run to it. */
export interface RunJournal {
  display: Display;
  /**
   * Merged over the run's options: the run id the journal is filed under (core puts it in the
   * sandbox's env as CORRAL_RUN_ID), and the journal's folder for the agent's session (a resume finds it there).
   */
  runOptions: { runId: string; keepSession: string };
}

/** How a run is journaled: on or off, and how much it may take on disk. */
export interface JournalSettings {
  /** About how many bytes the run's events.jsonl may take (default 64 MiB); past it the agent's output is not recorded. */
  maxBytes?: number;
}

/**
 * The journal for one run, or undefined when it is off. `journal` defaults to on inside a git
 * repository (settings turn it on anywhere). The run id is fixed here so the sandbox env can carry
 * it: `corral clean` finds what a killed run left running by it.
 */
export async function runJournal(
  options: RunOptions<unknown>,
  journal?: boolean | JournalSettings,
  about: { fleet?: string; model?: string } = {},
  /** `journalLocation` of the run's cwd, when the caller asked for it already. */
  located?: Promise<JournalLocation>,
): Promise<RunJournal | undefined> {
  if (journal === false) return undefined;
  const enabled = journal === undefined ? undefined : true;
  const location = await (located ?? journalLocation(options.cwd ?? process.cwd()));
  if (enabled === undefined && location.repoRoot === undefined) return undefined;
  const runId = options.runId ?? newRunId();
  const display = journalDisplay({
    root: location.root,
    ...(typeof journal === "object" && journal.maxBytes !== undefined ? { maxBytes: journal.maxBytes } : {}),
    options: journalOptions(options),
    ...(about.fleet ? { fleet: about.fleet } : {}),
    ...(about.model ? { model: about.model } : {}),
    ...(location.commonDir ? { onOpen: () => excludeCorralFolder(location.commonDir!) } : {}),
  });
  return { display, runOptions: { runId, keepSession: join(runDir(location.root, runId), SESSION_DIR) } };
}
