import { hostname } from "node:os";
import { processLives, processStartTime } from "@corral/core/plugin-kit";

/** Label keys corral puts on every container it starts. */
export const LABELS = {
  run: "corral.run",
  name: "corral.name",
  version: "corral.version",
  pid: "corral.pid",
  /** The orchestrator's start time (clock ticks since boot), so a reused pid is not mistaken for it. */
  pidStart: "corral.pid-start",
  host: "corral.host",
} as const;

/** Who started a container: enough to tell later whether that process still lives. */
export interface Orchestrator {
  /** The orchestrator's pid (the `corral.pid` label). */
  pid: number;
  /** Start time from /proc/<pid>/stat; undefined where /proc is not available. */
  startTime?: string;
  /** Its hostname (the `corral.host` label): only containers started on this host are ever judged orphans. */
  host: string;
}

/** This process as an orchestrator: its pid, start time and hostname, for the labels of a container it starts. */
export function currentOrchestrator(): Orchestrator {
  const startTime = processStartTime(process.pid);
  return { pid: process.pid, host: hostname(), ...(startTime ? { startTime } : {}) };
}

/** The labels of a run's container. */
export function containerLabels(input: { runId: string; name?: string; version: string; orchestrator?: Orchestrator; extra?: Record<string, string> }): Record<string, string> {
  const who = input.orchestrator ?? currentOrchestrator();
  return {
    ...input.extra,
    [LABELS.run]: input.runId,
    ...(input.name ? { [LABELS.name]: input.name } : {}),
    [LABELS.version]: input.version,
    [LABELS.pid]: String(who.pid),
    ...(who.startTime ? { [LABELS.pidStart]: who.startTime } : {}),
    [LABELS.host]: who.host,
  };
}

/** What `reapOrphans` decided for one container. */
export type OrphanVerdict = { orphan: true; reason: string } | { orphan: false; reason: string };

/**
 * Whether a corral container's run is gone. Only containers started on this host are judged:
 * a pid means nothing on another machine (a remote engine shared by several hosts).
 */
export function judgeOrphan(labels: Record<string, string | undefined>, here: { host: string } = { host: hostname() }): OrphanVerdict {
  const run = labels[LABELS.run];
  if (!run) return { orphan: false, reason: "not a corral container" };
  const host = labels[LABELS.host];
  if (host !== undefined && host !== here.host) return { orphan: false, reason: `started on another host (${host})` };
  const pid = Number(labels[LABELS.pid]);
  if (!Number.isInteger(pid) || pid <= 0) return { orphan: true, reason: "no orchestrator pid label" };
  if (!processLives({ pid })) return { orphan: true, reason: `orchestrator ${pid} is gone` };
  if (!processLives({ pid, pidStart: labels[LABELS.pidStart] })) return { orphan: true, reason: `pid ${pid} now belongs to another process` };
  return { orphan: false, reason: `orchestrator ${pid} is alive` };
}

