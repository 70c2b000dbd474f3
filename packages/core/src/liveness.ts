import { readFileSync } from "node:fs";

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
