import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { RUN_ID_ENV } from "@corral/core";
import { processLives, runProcesses } from "@corral/core/plugin-kit";

// The one /proc scan for a run's processes lives in core (the agent end-to-end kit uses it too).
export { RUN_ID_ENV, runProcesses };

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
