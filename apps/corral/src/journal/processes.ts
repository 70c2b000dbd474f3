import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { RUN_ID_ENV } from "@corral/core";
import { processLives } from "@corral/core/plugin-kit";

export { RUN_ID_ENV };

/**
 * Live processes that belong to run `runId` (their environment carries `CORRAL_RUN_ID=<runId>`),
 * read from /proc. Processes of other users cannot be read and are not listed.
 */
export function runProcesses(runId: string): number[] {
  const needle = Buffer.from(`\0${RUN_ID_ENV}=${runId}\0`);
  const first = Buffer.from(`${RUN_ID_ENV}=${runId}\0`);
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`);
      if (environ.includes(needle) || environ.subarray(0, first.length).equals(first)) pids.push(pid);
    } catch {
      // Gone already, or not ours.
    }
  }
  return pids;
}

/**
 * Stops every process of a dead run: SIGTERM, then SIGKILL after `graceMs` for those still there;
 * then looks again, because a process that ignores SIGTERM can start children during the grace
 * period (a `while :; do sleep 1; done` loop): those are killed at once, until none is left.
 * Returns the pids that were found.
 */
export async function killRunProcesses(runId: string, options: { graceMs?: number } = {}): Promise<number[]> {
  const found = new Set<number>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const pids = runProcesses(runId).filter(running);
    if (!pids.length) break;
    for (const pid of pids) found.add(pid);
    if (round === 0) {
      for (const pid of pids) signal(pid, "SIGTERM");
      const deadline = Date.now() + (options.graceMs ?? 2000);
      while (pids.some(running) && Date.now() < deadline) await sleep(50);
    }
    for (const pid of pids.filter(running)) signal(pid, "SIGKILL");
    await sleep(20); // let the kernel finish them before the next look
  }
  return [...found];
}

/** Looks after the grace period: each catches what the last one's processes started meanwhile. */
const MAX_ROUNDS = 10;

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Alive and not a zombie (a zombie is dead, only not yet reaped by its parent). */
function running(pid: number): boolean {
  if (!processLives({ pid })) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
