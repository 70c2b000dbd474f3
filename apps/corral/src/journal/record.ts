import { randomBytes } from "node:crypto";
import { closeSync, constants, ftruncateSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { type Usage } from "@corral/core";
import { inertJson, processLives } from "@corral/core/plugin-kit";

/** Where a run is in its life. `interrupted`: its process died while it said `running`. */
export type RunState = "created" | "running" | "succeeded" | "incomplete" | "failed" | "aborted" | "interrupted";

/** `.corral/runs/<id>/run.json`: one run, as the journal records it. */
export interface RunRecord {
  /** The record's format; a new format gets a new number. */
  version: 1;
  /** The run id, also the name of the run's journal folder. */
  id: string;
  /** The run's name, if it was given one (a fleet's task name). */
  name?: string;
  /** As recorded; a reader asks `effectiveState` for what it is now (a dead `running` run is `interrupted`). */
  state: RunState;
  /** The orchestrator: its pid, its start time (so a recycled pid is not mistaken for it), its host. */
  pid: number;
  /** The orchestrator's start time (from /proc); absent where it cannot be read. */
  pidStart?: string;
  /** The hostname of the machine the orchestrator runs on: a pid means nothing on another host. */
  host: string;
  /** ISO 8601 */
  started: string;
  /** When the run finished (ISO 8601); absent while it runs, or when its process died first. */
  ended?: string;
  /** The folder the run was started for (the user's checkout, not the workspace). */
  cwd: string;
  /** The agent plugin's name, once the run has started. */
  agent?: string;
  /** The model the run asked for, else the first one its agent reported. */
  model?: string;
  /** The isolation plugin's name, once the run has started. */
  isolation?: string;
  /** The sandbox plugin's name, and the id of its live sandbox once it is ready (what `corral clean` looks for). */
  sandbox?: { name: string; id?: string };
  /** The workspace the run worked in (a worktree, or the checkout). */
  workspace?: string;
  /** The run's branch, when the isolation gave it one. */
  branch?: string;
  /** The commit the workspace started from. */
  baseCommit?: string;
  /** The local branch the workspace was made from (where `corral merge` merges into); absent when the base was not a branch. */
  baseBranch?: string;
  /** The id of the fleet (`runMany`, `corral run --tasks`) the run was a task of. */
  fleet?: string;
  /** The run this one continues (`corral run --resume`), when it does. */
  resumedFrom?: string;
  /** The last session id its agent reported (agent-written: a resume passes it on only when it is a plain id). */
  sessionId?: string;
  /** Iterations started so far; once the run finished, how many it ran. */
  iterations?: number;
  /** The commits the run made, as the isolation reported them on release. */
  commits?: Array<{ sha: string; subject: string }>;
  /** The whole run's token usage; set when it finished. */
  usage?: Usage;
  /** Why the run failed: its error code (docs/errors.md), message and hint, already redacted. */
  error?: { code: string; message: string; hint?: string };
  /** The run's options without secrets: plugin names and options, env var names (never values). */
  options: Record<string, unknown>;
  /** Set when the journal reached its size limit: from `time` on the agent's output was not recorded. */
  truncated?: { time: string; maxBytes: number; droppedEvents: number };
  /** What the run's teardown could not do (a container the engine would not remove…): the run needs `corral clean`, whatever its state. */
  teardownIncomplete?: string[];
  /** Set when the disk refused part of the journal (full): from `time` on, `droppedEvents` events were not written. */
  lost?: { time: string; reason: string; droppedEvents: number };
  /** Set by `corral clean` once what the run left behind was removed. */
  cleaned?: { time: string; actions: string[] };
}

export const RECORD_FILE = "run.json";
export const EVENTS_FILE = "events.jsonl";
export const LOG_FILE = "run.log";
/** The folder of a run's journal that keeps its agent's session files (`RunOptions.keepSession`), for a resume. */
export const SESSION_DIR = "session";

export const runDir = (root: string, id: string): string => join(root, id);

/**
 * Writes run.json atomically: a reader sees the old record or the new one, never half of one. The
 * temp file has an unguessable name and is created exclusively, so a symlink planted there (the
 * journal can sit inside an in-place run's workspace) is never written through.
 */
export function writeRecord(dir: string, record: RunRecord): void {
  writeJsonAtomic(join(dir, RECORD_FILE), record);
}

/** `writeRecord`'s atomic write, for any journal record (a fleet's too). */
export function writeJsonAtomic(file: string, record: unknown): void {
  const temp = `${file}.${randomBytes(8).toString("hex")}.tmp`;
  const text = `${inertJson(record, 2)}\n`;
  try {
    writeFileSync(temp, text, { mode: 0o600, flag: "wx" });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true }); // a temp file the disk could not fill is no one's
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOSPC" && code !== "EDQUOT") throw error;
    // A full disk: no new file fits, but the blocks of the run.json there do. Rewritten in place
    // (never through a symlink), so the run's last state is recorded; a reader racing it sees no record.
    rewriteInPlace(file, text);
  }
}

function rewriteInPlace(file: string, text: string): void {
  const fd = openSync(file, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    const data = Buffer.from(text);
    writeSync(fd, data, 0, data.length, 0);
    ftruncateSync(fd, data.length);
  } finally {
    closeSync(fd);
  }
}

export function readRecord(dir: string): RunRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(join(dir, RECORD_FILE), "utf8")) as RunRecord;
    return record && typeof record === "object" && typeof record.id === "string" ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The state as it is now: a run recorded as `created` or `running` whose orchestrator is gone
 * (killed, crashed, machine rebooted) is `interrupted`. Runs of another host are taken at their word.
 */
export function effectiveState(record: RunRecord): RunState {
  if (record.state !== "created" && record.state !== "running") return record.state;
  if (record.host !== hostname()) return record.state;
  return orchestratorAlive(record) ? record.state : "interrupted";
}

export function orchestratorAlive(record: Pick<RunRecord, "pid" | "pidStart">): boolean {
  return processLives(record);
}
