import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { type Usage } from "@corral/core";
import { inertJson, processLives } from "@corral/core/plugin-kit";

/** Where a run is in its life. `interrupted`: its process died while it said `running`. */
export type RunState = "created" | "running" | "succeeded" | "incomplete" | "failed" | "aborted" | "interrupted";

/** `.corral/runs/<id>/run.json`: one run, as the journal records it. */
export interface RunRecord {
  version: 1;
  id: string;
  name?: string;
  state: RunState;
  /** The orchestrator: its pid, its start time (so a recycled pid is not mistaken for it), its host. */
  pid: number;
  pidStart?: string;
  host: string;
  /** ISO 8601 */
  started: string;
  ended?: string;
  cwd: string;
  agent?: string;
  isolation?: string;
  sandbox?: { name: string; id?: string };
  /** The workspace the run worked in (a worktree, or the checkout). */
  workspace?: string;
  branch?: string;
  baseCommit?: string;
  iterations?: number;
  commits?: Array<{ sha: string; subject: string }>;
  usage?: Usage;
  error?: { code: string; message: string; hint?: string };
  /** The run's options without secrets: plugin names and options, env var names (never values). */
  options: Record<string, unknown>;
  /** Set when the journal reached its size limit: from `time` on the agent's output was not recorded. */
  truncated?: { time: string; maxBytes: number; droppedEvents: number };
  /** Set by `corral clean` once what the run left behind was removed. */
  cleaned?: { time: string; actions: string[] };
}

export const RECORD_FILE = "run.json";
export const EVENTS_FILE = "events.jsonl";
export const LOG_FILE = "run.log";

export const runDir = (root: string, id: string): string => join(root, id);

/**
 * Writes run.json atomically: a reader sees the old record or the new one, never half of one. The
 * temp file has an unguessable name and is created exclusively, so a symlink planted there (the
 * journal can sit inside an in-place run's workspace) is never written through.
 */
export function writeRecord(dir: string, record: RunRecord): void {
  const file = join(dir, RECORD_FILE);
  const temp = `${file}.${randomBytes(8).toString("hex")}.tmp`;
  writeFileSync(temp, `${inertJson(record, 2)}\n`, { mode: 0o600, flag: "wx" });
  renameSync(temp, file);
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
