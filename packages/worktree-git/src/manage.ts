import { lstat, readdir, readFile, realpath } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { IsolationError, toCorralError, type ReclaimRequest, type ReclaimResult, type Workspace } from "@corral/core";
import { git, repoObjectFormat } from "@corral/core/plugin-kit";
import { previewUncommitted } from "./collect.js";
import { worktreeOptions } from "./options.js";
import { pinDotGit, release } from "./release.js";
import type { WorktreeMeta } from "./workspace.js";
import { WorktreeLockError, WorktreeRemovalError, gitMessage } from "./errors.js";
import { gitAcrossWorktrees, gitRemoveWorktree, gitWorktrees, lock, uncommitted, unlock, type GitWorktree } from "./git-worktrees.js";
import { resolveRepo, type Repo } from "./repo.js";
import { ownerAlive, readAllStatuses, removeStatus, writeStatus, type WorktreeStatus } from "./status.js";

/**
 * What a corral worktree is doing now:
 * - `active`: its run's process lives;
 * - `orphaned`: its run's process is gone but the worktree is still there (prune removes it);
 * - `missing`: its folder is gone (prune cleans up git's records);
 * - `kept`: kept on purpose after a run (uncommitted work, keepFailed…);
 * - `pooled`: clean, waiting in the pool for the next run;
 * - `stale`: a status file git no longer knows a worktree for.
 */
export type WorktreeState = "active" | "orphaned" | "missing" | "kept" | "pooled" | "stale";

/** A corral worktree, as plain data for the CLI (`corral worktrees list`). */
export interface WorktreeInfo {
  /** The worktree's name: its folder under the base folder, and the last part of its branch. */
  slug: string;
  /** The worktree's folder (absolute, canonical). */
  path: string;
  /** What it is doing now (see `WorktreeState`). */
  state: WorktreeState;
  /** Short branch name (`corral/fix-login`); undefined when detached. */
  branch?: string;
  /** The commit its HEAD is at, as git lists it. */
  head?: string;
  /** Whether git has it locked (`git worktree lock`): corral locks a worktree while its run lives, so git never prunes it. */
  locked: boolean;
  /** The reason recorded with git's lock. */
  lockReason?: string;
  /** The id of the run that made or last used it (from its status file; so are the fields below). */
  runId?: string;
  /** That run's name, if it had one. */
  name?: string;
  /** The pid of that run's orchestrator (what `active` versus `orphaned` is judged by). */
  pid?: number;
  /** When the worktree was made (ISO 8601). */
  created?: string;
  /** When its status file last changed (ISO 8601). */
  updated?: string;
  /** The ref the run started from, as given (the `base` option, e.g. `HEAD`). */
  baseRef?: string;
  /** The commit that ref named when the run started. */
  baseCommit?: string;
  /** The local branch the base was (where `mergeBack` merges into); absent when the base was not a branch. */
  baseBranch?: string;
  /** Why it was kept, when its state is `kept` (uncommitted work, a failed run with keepFailed…). */
  keptReason?: string;
  /** The worktree's own git dir (`.git/worktrees/<id>`). */
  gitDir?: string;
  /** The run's own git dir, while its run has not released it (what `prune` brings back from). */
  runGitDir?: string;
  /** Uncommitted paths; only filled by `worktreeInfo` (it costs a `git status`). */
  uncommitted?: string[];
}

/** Every corral worktree of the repository around `repo` (status file or corral lock), optionally by name prefix (slug, run name or branch). */
export async function listWorktrees(repo: string, options: { prefix?: string } = {}): Promise<WorktreeInfo[]> {
  const r = await resolveRepo(repo);
  const all = await collect(r);
  const prefix = options.prefix;
  if (!prefix) return all;
  return all.filter((w) => [w.slug, w.name, w.branch, w.branch?.replace(/^corral\//, "")].some((s) => s?.startsWith(prefix)));
}

/** One corral worktree by slug, run name, branch or path, with its uncommitted paths. */
export async function worktreeInfo(repo: string, target: string): Promise<WorktreeInfo> {
  const r = await resolveRepo(repo);
  const info = await find(r, target);
  if (info.state !== "missing" && info.state !== "stale") info.uncommitted = await changes(r, info);
  return info;
}

/** Locks a worktree (idempotent): `changed` is false when it was already locked. */
export async function lockWorktree(repo: string, target: string, options: { reason?: string } = {}): Promise<{ path: string; locked: true; changed: boolean; reason: string }> {
  const r = await resolveRepo(repo);
  const info = await find(r, target);
  if (info.locked) return { path: info.path, locked: true, changed: false, reason: info.lockReason ?? "" };
  const reason = options.reason ?? "locked with corral worktrees lock";
  await lock(info.path, reason, r.root).catch((error: unknown) => {
    throw new WorktreeLockError(`Could not lock ${info.path}: ${gitMessage(error)}`, { cause: error });
  });
  return { path: info.path, locked: true, changed: true, reason };
}

/** Unlocks a worktree (idempotent): `changed` is false when it was not locked. */
export async function unlockWorktree(repo: string, target: string): Promise<{ path: string; locked: false; changed: boolean }> {
  const r = await resolveRepo(repo);
  const info = await find(r, target);
  if (!info.locked) return { path: info.path, locked: false, changed: false };
  await unlock(info.path, r.root).catch((error: unknown) => {
    throw new WorktreeLockError(`Could not unlock ${info.path}: ${gitMessage(error)}`, { cause: error });
  });
  return { path: info.path, locked: false, changed: true };
}

/**
 * Removes a corral worktree. Refuses one whose run is alive or that has uncommitted changes,
 * unless `force`. The branch is kept unless `deleteBranch`.
 */
export async function removeWorktree(
  repo: string,
  target: string,
  options: { force?: boolean; deleteBranch?: boolean } = {},
): Promise<{ path: string; removed: true; branch?: string; branchDeleted: boolean }> {
  const r = await resolveRepo(repo);
  const info = await find(r, target);
  if (!options.force) {
    if (info.state === "active") {
      throw new WorktreeRemovalError(`The worktree ${info.path} belongs to a live run (pid ${info.pid}).`, { hint: "Stop the run first, or pass --force." });
    }
    const dirty = info.state === "missing" || info.state === "stale" ? [] : await changes(r, info);
    if (dirty.length) {
      throw new WorktreeRemovalError(`The worktree ${info.path} has ${dirty.length} uncommitted change(s): ${dirty.slice(0, 5).join(", ")}.`, {
        hint: "Commit or discard them first, or pass --force to delete them.",
      });
    }
  }
  // A dead run's commits may still be only in its own git dir: they come back before anything goes.
  if (info.state === "orphaned" && info.runGitDir && (await lstat(info.runGitDir).catch(() => undefined))) {
    const orphan = await orphanWorkspace(r, info);
    const released = await release(worktreeOptions.parse({}), orphan.workspace, { outcome: "aborted" });
    if (!released.removed) await dropWorktree(r, { ...info, state: "kept" }, true);
  } else {
    await dropWorktree(r, info, options.force === true);
  }
  let branchDeleted = false;
  if (options.deleteBranch && info.branch) {
    branchDeleted = (await gitAcrossWorktrees(["branch", "-D", "--", info.branch], { cwd: r.root, allowFailure: true })).exitCode === 0;
  }
  return { path: info.path, removed: true, ...(info.branch ? { branch: info.branch } : {}), branchDeleted };
}

/** One worktree `pruneWorktrees` removed (or, in a dry run, would remove). */
export interface PruneEntry {
  /** The worktree's name (see `WorktreeInfo.slug`). */
  slug: string;
  /** Its folder. */
  path: string;
  /** Its branch, which is kept. */
  branch?: string;
  /** Why: its folder was gone, its run's process was dead, or its status file named no worktree git knows. */
  reason: "folder-missing" | "owner-dead" | "stale-status";
}

/** What `pruneWorktrees` did, or in a dry run would do. */
export interface PruneResult {
  /** True when nothing was changed: the lists say what a real prune would do. */
  dryRun: boolean;
  /** Removed (or, in a dry run, to be removed). Branches are always kept. */
  pruned: PruneEntry[];
  /** Orphans with uncommitted work: unlocked and marked kept, never deleted. */
  kept: Array<{ slug: string; path: string; reason: string }>;
}

/**
 * Cleans up orphans: worktrees whose folder is gone, and worktrees whose run's process is dead.
 * An orphan with uncommitted changes is kept (and reported); branches are never deleted.
 */
export async function pruneWorktrees(repo: string, options: { dryRun?: boolean; prefix?: string } = {}): Promise<PruneResult> {
  const r = await resolveRepo(repo);
  const dryRun = options.dryRun === true;
  const result: PruneResult = { dryRun, pruned: [], kept: [] };
  for (const info of await listWorktrees(r.root, options.prefix ? { prefix: options.prefix } : {})) {
    const entry = (reason: PruneEntry["reason"]): PruneEntry => ({ slug: info.slug, path: info.path, ...(info.branch ? { branch: info.branch } : {}), reason });
    if (info.state === "missing" || info.state === "stale") {
      result.pruned.push(entry(info.state === "missing" ? "folder-missing" : "stale-status"));
      if (!dryRun) await dropWorktree(r, info, true);
    } else if (info.state === "orphaned" && info.runGitDir) {
      // Its run died mid-way: what the agent committed is still in the run's git dir. Release brings it
      // back (verified), then keeps the worktree if anything is left uncommitted.
      const orphan = await orphanWorkspace(r, info);
      if (dryRun) {
        const dirty = await previewUncommitted(orphan.workspace, orphan.meta);
        if (dirty.length) result.kept.push({ slug: info.slug, path: info.path, reason: `its run's process is gone but it has ${dirty.length} uncommitted change(s)` });
        else result.pruned.push(entry("owner-dead"));
        continue;
      }
      const released = await release(worktreeOptions.parse({}), orphan.workspace, { outcome: "aborted" });
      if (released.removed) result.pruned.push(entry("owner-dead"));
      else result.kept.push({ slug: info.slug, path: info.path, reason: released.keptReason ?? "kept" });
    } else if (info.state === "orphaned") {
      const dirty = await changes(r, info);
      if (dirty.length) {
        const reason = `its run's process is gone but it has ${dirty.length} uncommitted change(s)`;
        result.kept.push({ slug: info.slug, path: info.path, reason });
        if (!dryRun) await markKept(r, info, reason);
      } else {
        result.pruned.push(entry("owner-dead"));
        if (!dryRun) await dropWorktree(r, info, false);
      }
    }
  }
  return result;
}

/**
 * `Isolation.reclaim` for worktrees. With `runId` (what `corral clean` asks for an interrupted run):
 * that run's worktrees are removed, a dirty one kept unless `force`; the branch always stays.
 * Without: every orphan, as `pruneWorktrees` does.
 */
export async function reclaimWorktrees(request: ReclaimRequest): Promise<ReclaimResult> {
  const dryRun = request.dryRun === true;
  if (request.runId === undefined) {
    const pruned = await pruneWorktrees(request.repoRoot, { dryRun });
    return {
      workspaces: [
        ...pruned.pruned.map((p) => ({ id: p.slug, path: p.path, ...(p.branch ? { branch: p.branch } : {}), action: dryRun ? ("would-remove" as const) : ("removed" as const), reason: p.reason })),
        ...pruned.kept.map((k) => ({ id: k.slug, path: k.path, action: "kept" as const, reason: k.reason })),
      ],
    };
  }
  const mine = (await listWorktrees(request.repoRoot)).filter((w) => w.runId === request.runId || (request.workspace !== undefined && w.path === request.workspace));
  const result: ReclaimResult = { workspaces: [] };
  for (const w of mine) {
    const base = { id: w.slug, path: w.path, ...(w.branch ? { branch: w.branch } : {}) };
    try {
      const dirty = w.state === "missing" || w.state === "stale" ? [] : ((await worktreeInfo(request.repoRoot, w.slug)).uncommitted ?? []);
      if (dirty.length && !request.force) {
        const reason = `its run is over but it has ${dirty.length} uncommitted change(s)`;
        // Kept for the user: no longer locked for a run that is gone, and its .git leads to corral's admin dir.
        const repaired = dryRun ? false : await markKept(await resolveRepo(request.repoRoot), w, reason);
        result.workspaces.push({ ...base, action: "kept", reason: `${dirty.length} uncommitted change(s)${repaired ? `; its .git had been deleted or changed and was repaired` : ""}`, uncommitted: dirty.length });
        continue;
      }
      // The caller knows the run is over: a status that still says active is a reused pid.
      if (!dryRun) await removeWorktree(request.repoRoot, w.slug, { force: request.force === true || w.state === "active" });
      result.workspaces.push({ ...base, action: dryRun ? "would-remove" : "removed", reason: "its run is over", ...(dirty.length ? { uncommitted: dirty.length } : {}) });
    } catch (error) {
      result.workspaces.push({ ...base, action: "failed", reason: toCorralError(error).message });
    }
  }
  return result;
}

/** The Workspace a dead run held, rebuilt from its status file, to release it as the run would have. */
async function orphanWorkspace(repo: Repo, info: WorktreeInfo): Promise<{ workspace: Workspace; meta: WorktreeMeta }> {
  const status = (await readAllStatuses(repo)).find((s) => s.slug === info.slug)!;
  const meta: WorktreeMeta = {
    slug: status.slug,
    root: repo.root,
    commonDir: repo.commonDir,
    checkout: repo.root,
    gitDir: status.gitDir!,
    ...(status.runGitDir ? { runGitDir: status.runGitDir } : {}),
    objectFormat: await repoObjectFormat(repo.root),
    baseRef: status.baseRef,
    detached: !status.branch,
    runId: status.runId,
    reused: false,
  };
  const workspace: Workspace = {
    path: status.path,
    cwd: status.path,
    repoRoot: repo.root,
    ...(status.branch ? { branch: status.branch } : {}),
    ...(status.baseBranch ? { baseBranch: status.baseBranch } : {}),
    baseCommit: status.baseCommit,
    gitMounts: [],
    meta,
  };
  return { workspace, meta };
}

/** Uncommitted paths, with git pinned to the worktree's recorded git dir. */
async function changes(repo: Repo, info: WorktreeInfo): Promise<string[]> {
  if (!info.gitDir) throw new IsolationError(`corral does not know the git dir of ${info.path}.`, { hint: "Inspect it with git, then remove it with --force." });
  // A run that never released: compared with where it left its branch, not with the base.
  if (info.runGitDir && (await lstat(info.runGitDir).catch(() => undefined))) {
    const orphan = await orphanWorkspace(repo, info);
    return previewUncommitted(orphan.workspace, orphan.meta);
  }
  return uncommitted({ path: info.path, gitDir: info.gitDir, commonDir: repo.commonDir });
}

/** Worktree path → its git dir, from git's own records (`.git/worktrees/<id>/gitdir`). */
async function adminDirs(repo: Repo): Promise<Map<string, string>> {
  const root = join(repo.commonDir, "worktrees");
  const ids = await readdir(root).catch(() => [] as string[]);
  const pairs = await Promise.all(
    ids.map(async (id) => {
      const target = (await readFile(join(root, id, "gitdir"), "utf8").catch(() => "")).trim();
      return [dirname(target), join(root, id)] as const;
    }),
  );
  return new Map(pairs.filter(([path]) => path !== "."));
}

async function collect(repo: Repo): Promise<WorktreeInfo[]> {
  const [worktrees, statuses, admin] = await Promise.all([gitWorktrees(repo), readAllStatuses(repo), adminDirs(repo)]);
  const byPath = new Map<string, GitWorktree>(worktrees.slice(1).map((w) => [w.path, w]));
  const out: WorktreeInfo[] = [];
  for (const status of statuses) {
    const wt = byPath.get(status.path);
    byPath.delete(status.path);
    out.push(await describe(status.slug, status.path, wt, status, status.gitDir ?? admin.get(status.path)));
  }
  // Worktrees locked by corral whose status file is gone: orphans without a recorded owner.
  for (const wt of byPath.values()) {
    if (!wt.locked?.startsWith("corral")) continue;
    out.push(await describe(wt.path.split("/").pop()!, wt.path, wt, undefined, admin.get(wt.path)));
  }
  return out.sort((a, b) => a.slug.localeCompare(b.slug));
}

async function describe(slug: string, path: string, wt: GitWorktree | undefined, status: WorktreeStatus | undefined, gitDir: string | undefined): Promise<WorktreeInfo> {
  const exists = !!(await lstat(path).catch(() => undefined));
  // A run between claiming its name and `git worktree add` has neither folder nor worktree yet.
  const creating = status?.state === "creating" && ownerAlive(status);
  const state: WorktreeState = creating
    ? "active"
    : !exists
      ? wt
        ? "missing"
        : "stale"
      : !wt
        ? "stale"
        : !status
          ? "orphaned"
          : status.state === "kept" || status.state === "pooled"
            ? status.state
            : ownerAlive(status)
              ? "active"
              : "orphaned";
  const branch = wt?.branch?.replace(/^refs\/heads\//, "") ?? (wt ? undefined : status?.branch);
  return {
    slug,
    path,
    state,
    ...(branch ? { branch } : {}),
    ...(wt?.head ? { head: wt.head } : {}),
    locked: wt?.locked !== undefined,
    ...(gitDir ? { gitDir } : {}),
    ...(status?.runGitDir ? { runGitDir: status.runGitDir } : {}),
    ...(wt?.locked ? { lockReason: wt.locked } : {}),
    ...(status
      ? {
          runId: status.runId,
          ...(status.name ? { name: status.name } : {}),
          pid: status.pid,
          created: status.created,
          updated: status.updated,
          baseRef: status.baseRef,
          baseCommit: status.baseCommit,
          ...(status.baseBranch ? { baseBranch: status.baseBranch } : {}),
          ...(status.keptReason ? { keptReason: status.keptReason } : {}),
        }
      : {}),
  };
}

async function find(repo: Repo, target: string): Promise<WorktreeInfo> {
  const all = await collect(repo);
  const asPath = await realpath(resolve(target)).catch(() => resolve(target));
  const match = all.find((w) => w.slug === target || w.path === asPath || w.branch === target) ?? all.filter((w) => w.name === target).at(0);
  if (!match) {
    throw new IsolationError(`No corral worktree named "${target}" in ${repo.root}.`, { code: "E_WORKTREE_NOT_FOUND", hint: "`corral worktrees list` shows them." });
  }
  return match;
}

async function dropWorktree(repo: Repo, info: WorktreeInfo, force: boolean): Promise<void> {
  if (info.state !== "stale") {
    await unlock(info.path, repo.root).catch(() => {});
    await gitRemoveWorktree(repo, info.path, force);
  }
  await removeStatus(repo, info.slug);
}

/** Marks an orphan kept and unlocks it; its `.git` is made to lead to corral's admin dir again (true when it had to be repaired). */
async function markKept(repo: Repo, info: WorktreeInfo, reason: string): Promise<boolean> {
  const status = (await readAllStatuses(repo)).find((s) => s.slug === info.slug);
  const repaired = info.gitDir && (await lstat(info.path).catch(() => undefined)) ? await pinDotGit(info.path, info.gitDir) : false;
  if (status) await writeStatus(repo, { ...status, state: "kept", keptReason: reason });
  await unlock(info.path, repo.root).catch(() => {});
  return repaired;
}
