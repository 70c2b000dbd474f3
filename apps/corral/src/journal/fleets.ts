/**
 * Fleets in the journal: `.corral/runs/fleets/<fleet-id>.json` records a fleet (`runMany`,
 * `corral run --tasks`) as it starts and ends — its tasks, its orchestrator — and each task's own
 * run.json names the fleet. `listFleets` groups the runs by fleet with counts per state;
 * `followFleetLog` tails every task of a fleet, also the ones that start later, until the fleet is over.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { processStartTime } from "@corral/core/plugin-kit";
import { followLog, listRuns, readFleet, streamLog, type FollowOptions, type JournalRun } from "./reader.js";
import { orchestratorAlive, writeJsonAtomic, type RunState } from "./record.js";

export const FLEETS_DIR = "fleets";

/** `.corral/runs/fleets/<id>.json`. */
export interface FleetRecord {
  version: 1;
  /** The fleet id (each task's run.json has it as `fleet`). */
  id: string;
  /** As recorded; `listFleets` says `interrupted` for a `running` fleet whose orchestrator is gone. */
  state: "running" | "finished";
  /** The task names, in task order (a task that has not started yet has no run). */
  tasks: string[];
  pid: number;
  pidStart?: string;
  host: string;
  /** ISO 8601 */
  started: string;
  ended?: string;
}

/** A fleet's state now: a `running` fleet whose orchestrator died is `interrupted`. */
export type FleetState = "running" | "finished" | "interrupted";

/** One fleet as `corral runs fleets` shows it. */
export interface FleetSummary {
  id: string;
  state: FleetState;
  started: string;
  ended?: string;
  /** How many tasks the fleet has (recorded), else how many runs it made. */
  tasks: number;
  /** Runs per state now; tasks that made no run yet are `pending` (a running fleet) or `not started`. */
  counts: Partial<Record<RunState | "pending" | "not started", number>>;
  /** The fleet's runs, in the order they started. */
  runs: Array<{ id: string; name?: string; state: RunState; branch?: string }>;
}

/** Records the fleet at its start (`state: running`) and end (`finished`). Never throws: a journal that cannot be written loses only this. */
export function recordFleet(root: string, fleet: { id: string; tasks: string[]; started: string }, ended?: string): void {
  try {
    const dir = join(root, FLEETS_DIR);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pidStart = processStartTime(process.pid);
    const record: FleetRecord = {
      version: 1,
      id: fleet.id,
      state: ended ? "finished" : "running",
      tasks: fleet.tasks,
      pid: process.pid,
      ...(pidStart ? { pidStart } : {}),
      host: hostname(),
      started: fleet.started,
      ...(ended ? { ended } : {}),
    };
    writeJsonAtomic(join(dir, `${fleet.id}.json`), record);
  } catch {
    // the journal is a record, never a reason for the fleet to fail
  }
}

/** The fleet's record, read as data (anything malformed is no record). */
export function readFleetRecord(root: string, id: string): FleetRecord | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
  try {
    const r = JSON.parse(readFileSync(join(root, FLEETS_DIR, `${id}.json`), "utf8")) as FleetRecord;
    if (!r || typeof r !== "object" || r.id !== id || !Array.isArray(r.tasks) || typeof r.pid !== "number") return undefined;
    return { ...r, tasks: r.tasks.filter((t): t is string => typeof t === "string") };
  } catch {
    return undefined;
  }
}

const live = (state: RunState) => state === "running" || state === "created";

function fleetState(record: FleetRecord | undefined, runs: readonly JournalRun[]): FleetState {
  if (record) {
    if (record.state === "finished") return "finished";
    if (record.host !== hostname()) return "running";
    return orchestratorAlive(record) ? "running" : "interrupted";
  }
  // An older journal (no fleet record): the runs say it.
  if (runs.some((r) => live(r.state))) return "running";
  return runs.some((r) => r.state === "interrupted") ? "interrupted" : "finished";
}

function summarize(id: string, record: FleetRecord | undefined, runs: JournalRun[]): FleetSummary {
  const state = fleetState(record, runs);
  const counts: FleetSummary["counts"] = {};
  for (const r of runs) counts[r.state] = (counts[r.state] ?? 0) + 1;
  const ran = new Set(runs.map((r) => r.name));
  const missing = record ? record.tasks.filter((t) => !ran.has(t)).length : 0;
  if (missing) counts[state === "running" ? "pending" : "not started"] = missing;
  const ended = record?.ended ?? (state === "running" ? undefined : runs.map((r) => r.ended ?? "").sort().at(-1) || undefined);
  return {
    id,
    state,
    started: record?.started ?? runs[0]?.started ?? "",
    ...(ended ? { ended } : {}),
    tasks: record ? record.tasks.length : runs.length,
    counts,
    runs: runs.map((r) => ({ id: r.id, ...(r.name ? { name: r.name } : {}), state: r.state, ...(r.branch ? { branch: r.branch } : {}) })),
  };
}

/** Every fleet of the journal `root`, newest first, with its runs counted per state. */
export async function listFleets(root: string): Promise<FleetSummary[]> {
  const byFleet = new Map<string, JournalRun[]>();
  for (const run of (await listRuns(root)).reverse()) {
    if (run.fleet === undefined) continue;
    byFleet.set(run.fleet, [...(byFleet.get(run.fleet) ?? []), run]);
  }
  // A fleet whose tasks have not started yet has a record and no runs.
  for (const name of await readdir(join(root, FLEETS_DIR)).catch(() => [] as string[])) {
    const id = name.endsWith(".json") ? name.slice(0, -5) : undefined;
    if (id && !byFleet.has(id) && readFleetRecord(root, id)) byFleet.set(id, []);
  }
  return [...byFleet]
    .map(([id, runs]) => summarize(id, readFleetRecord(root, id), runs))
    .sort((a, b) => b.started.localeCompare(a.started) || b.id.localeCompare(a.id));
}

/** One fleet by its id or a unique prefix (as `readFleet`), summarized. */
export async function readFleetSummary(root: string, ref: string): Promise<FleetSummary> {
  const record = readFleetRecord(root, ref);
  if (record) {
    const runs = (await listRuns(root)).filter((r) => r.fleet === ref).reverse();
    return summarize(ref, record, runs);
  }
  const { id, runs } = await readFleet(root, ref);
  return summarize(id, readFleetRecord(root, id), runs);
}

/** A line of a fleet's log: which task (and run) printed it. The line is as the journal has it (render it inert). */
export interface FleetLogLine {
  task: string;
  runId: string;
  line: string;
}

/**
 * The log of every task of a fleet, line by line, each tagged with its task. With `follow`, like
 * `followLog` for each task at once, picking up tasks as they start, until the fleet is over (its
 * record says finished, or its orchestrator is gone) and every task's log is drained, or `signal`
 * aborts. Without, each task's log as it is now, one task after the other.
 */
export async function* fleetLog(root: string, ref: string, options: FollowOptions & { follow?: boolean } = {}): AsyncGenerator<FleetLogLine> {
  const fleet = await readFleetSummary(root, ref);
  const taskOf = (run: JournalRun) => run.name ?? run.id;
  const fleetRuns = async () => (await listRuns(root)).filter((r) => r.fleet === fleet.id).reverse();
  if (!options.follow) {
    for (const run of await fleetRuns()) {
      let rest = "";
      for await (const text of streamLog(run)) {
        const lines = (rest + text).split("\n");
        rest = lines.pop()!;
        for (const line of lines) yield { task: taskOf(run), runId: run.id, line };
      }
      if (rest) yield { task: taskOf(run), runId: run.id, line: rest };
    }
    return;
  }

  const pollMs = options.pollMs ?? 200;
  const queue: FleetLogLine[] = [];
  let wake: (() => void) | undefined;
  let space: Array<() => void> = [];
  const signal = () => {
    wake?.();
    wake = undefined;
  };
  const pumps = new Map<string, Promise<void>>();
  const pump = async (run: JournalRun) => {
    for await (const line of followLog(run, { ...(options.signal ? { signal: options.signal } : {}), pollMs })) {
      // A slow reader holds the pumps back: a fleet's logs are never piled up in memory.
      while (queue.length >= 1024) await new Promise<void>((resume) => space.push(resume));
      queue.push({ task: taskOf(run), runId: run.id, line });
      signal();
    }
  };
  let over = false;
  const watch = (async () => {
    for (;;) {
      // Looked at before the runs: a fleet seen over after this scan started no task the scan missed.
      const record = readFleetRecord(root, fleet.id);
      const ended = (record !== undefined && fleetState(record, []) !== "running") || options.signal?.aborted;
      const runs = await fleetRuns();
      for (const run of runs) if (!pumps.has(run.id)) pumps.set(run.id, pump(run).catch(() => {}));
      // An older journal (no fleet record): over once none of its runs is live.
      if (ended || (record === undefined && !runs.some((r) => live(r.state)))) break;
      await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {});
    }
    await Promise.all(pumps.values());
    over = true;
    signal();
  })();
  for (;;) {
    if (queue.length) {
      yield queue.shift()!;
      const waiting = space;
      space = [];
      for (const resume of waiting) resume();
      continue;
    }
    if (over) break;
    await new Promise<void>((resume) => (wake = resume));
  }
  await watch;
}
