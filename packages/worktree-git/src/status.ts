import { randomBytes } from "node:crypto";
import { link, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { processLives, processStartTime } from "@corral/core/plugin-kit";
import type { Repo } from "./repo.js";

/** What a worktree is doing, as written by the process that owns it. */
export type RecordedState = "creating" | "active" | "kept" | "pooled";

/**
 * The status file of one corral worktree: enough for a later process to tell a live run from an
 * orphan. Kept in the shared git dir (`.git/corral/worktrees/<slug>.json`), which sandboxes do not
 * mount writable, so an agent cannot forge it.
 */
export interface WorktreeStatus {
  version: 1;
  slug: string;
  path: string;
  runId: string;
  name?: string;
  pid: number;
  /** The owner's start time (from /proc), so a recycled pid is not mistaken for the owner. */
  pidStart?: string;
  hostname: string;
  state: RecordedState;
  branch?: string;
  baseRef: string;
  baseCommit: string;
  baseBranch?: string;
  /** The worktree's own git dir, once made: host-side git uses it instead of the worktree's `.git` file. */
  gitDir?: string;
  /** The run's own git dir (the agent's), while the run lives: `prune` brings its work back from here. */
  runGitDir?: string;
  created: string;
  updated: string;
  keptReason?: string;
}

export function statusDir(repo: Repo): string {
  return join(repo.commonDir, "corral", "worktrees");
}

function statusFile(repo: Repo, slug: string): string {
  return join(statusDir(repo), `${slug}.json`);
}

/** Claims `slug` by creating its status file exclusively. False when another worktree holds it. */
export async function claimStatus(repo: Repo, status: WorktreeStatus): Promise<boolean> {
  await mkdir(statusDir(repo), { recursive: true });
  const file = statusFile(repo, status.slug);
  try {
    await writeFile(file, `${JSON.stringify(status, null, 2)}\n`, { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    // Created but not written (a full disk): ours, and empty, it would reserve the name for ever.
    await rm(file, { force: true });
    throw error;
  }
}

/** Replaces the status file atomically (write aside, then rename), so readers never see half a file. */
export async function writeStatus(repo: Repo, status: WorktreeStatus): Promise<void> {
  const file = statusFile(repo, status.slug);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify({ ...status, updated: new Date().toISOString() }, null, 2)}\n`);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

export async function readStatus(repo: Repo, slug: string): Promise<WorktreeStatus | undefined> {
  try {
    const parsed = JSON.parse(await readFile(statusFile(repo, slug), "utf8")) as WorktreeStatus;
    return parsed.version === 1 && parsed.slug === slug ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export async function readAllStatuses(repo: Repo): Promise<WorktreeStatus[]> {
  const names = await readdir(statusDir(repo)).catch(() => [] as string[]);
  const all = await Promise.all(names.filter((n) => n.endsWith(".json")).map((n) => readStatus(repo, n.slice(0, -".json".length))));
  return all.filter((s): s is WorktreeStatus => s !== undefined);
}

export async function removeStatus(repo: Repo, slug: string): Promise<void> {
  await rm(statusFile(repo, slug), { force: true });
}

/**
 * Claims the worktree `slug` while its status says `state` (pooled, kept): its status file is renamed
 * away, atomically, so one claimer wins. Undefined when another took it first or its state changed
 * (their file is put back). The caller writes the new status and removes `file`.
 */
export async function takeStatus(repo: Repo, slug: string, state: RecordedState): Promise<{ status: WorktreeStatus; file: string } | undefined> {
  const file = statusFile(repo, slug);
  const takenFile = `${file}.taken-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(file, takenFile);
  } catch {
    return undefined;
  }
  const status = JSON.parse(await readFile(takenFile, "utf8")) as WorktreeStatus;
  if (status.state === state) return { status, file: takenFile };
  // Someone re-used the slug between our read and the rename: put their file back.
  await link(takenFile, file).catch(() => {});
  await rm(takenFile, { force: true });
  return undefined;
}

/** A new status for this process. */
export function newStatus(fields: Omit<WorktreeStatus, "version" | "pid" | "pidStart" | "hostname" | "created" | "updated">): WorktreeStatus {
  const now = new Date().toISOString();
  const start = processStartTime(process.pid);
  return { version: 1, ...fields, pid: process.pid, ...(start ? { pidStart: start } : {}), hostname: hostname(), created: now, updated: now };
}

/**
 * Whether the process that wrote `status` still lives. A status from another host cannot be
 * checked and counts as alive, so it is never pruned by mistake.
 */
export function ownerAlive(status: Pick<WorktreeStatus, "pid" | "pidStart" | "hostname">): boolean {
  return status.hostname !== hostname() || processLives(status);
}
