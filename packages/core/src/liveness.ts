import { readdirSync, readFileSync } from "node:fs";
import { RUN_ID_ENV } from "./run/setup.js";

/**
 * When `pid` started (field 22 of /proc/<pid>/stat, in clock ticks since boot); undefined where
 * /proc cannot tell. Recorded next to a pid, it tells the process apart from a later one that
 * the kernel gave the same pid.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command (field 2) may contain spaces and parentheses, so count from the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether the process recorded as `pid` (and, when known, started at `pidStart`) still lives on
 * this host. A pid that exists but is not ours (EPERM) lives; a pid now held by another process
 * does not. The one liveness check of the journal, the worktree status files and the container
 * reaper.
 */
export function processLives(owner: { pid: number; pidStart?: string | undefined }): boolean {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (owner.pidStart === undefined) return true;
  const now = processStartTime(owner.pid);
  return now === undefined || now === owner.pidStart;
}

/**
 * Live processes that belong to run `runId` (their environment carries `CORRAL_RUN_ID=<runId>`,
 * which every command of a run gets and children inherit; ADR 0500), read from /proc. Found by the
 * env rather than the command line, so a CLI that renames itself (pi) is found too, and so are its
 * processes inside a container's pid namespace. Processes of other users cannot be read and are not listed.
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
