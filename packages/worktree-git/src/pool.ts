import { lstat, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Workspace } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { branchFor, finish, lockReason, MAX_ATTEMPTS, statusFor, type AcquirePlan } from "./plan.js";
import { BranchExistsError } from "./errors.js";
import { gitAcrossWorktrees, lock, uncommitted, unlock } from "./git-worktrees.js";
import type { WorktreeOptions } from "./options.js";
import type { Repo } from "./repo.js";
import { inWorktree, type WorktreeMeta } from "./workspace.js";
import { withSuffix } from "./slug.js";
import { claimStatus, readAllStatuses, removeStatus, takeStatus, writeStatus, type WorktreeStatus } from "./status.js";

export const POOL_LOCK_REASON = "corral: pooled for reuse";

/**
 * Hands a pooled worktree to a new run: claims it atomically (renaming its status file away),
 * makes the run's branch at the new base, moves the folder to the run's name and switches it,
 * so only files that differ between the two bases are touched. Undefined when the pool is empty.
 */
export async function takeFromPool(options: WorktreeOptions, plan: AcquirePlan): Promise<Workspace<WorktreeMeta> | undefined> {
  const pooled = (await readAllStatuses(plan.repo))
    .filter((s) => s.state === "pooled" && dirname(s.path) === plan.baseDir)
    .sort((a, b) => b.updated.localeCompare(a.updated));
  for (const candidate of pooled) {
    const taken = await takeStatus(plan.repo, candidate.slug, "pooled");
    if (!taken) continue;
    try {
      const workspace = await reuse(options, plan, taken.status);
      if (workspace) {
        await rm(taken.file, { force: true });
        return workspace;
      }
    } catch {
      // A pooled worktree that cannot be reused is dropped below; the run gets a fresh one.
    }
    await discard(plan.repo, taken);
  }
  return undefined;
}

async function reuse(options: WorktreeOptions, plan: AcquirePlan, pooled: WorktreeStatus): Promise<Workspace<WorktreeMeta> | undefined> {
  const { repo } = plan;
  const old = pooled.path;
  const gitDir = pooled.gitDir;
  if (!gitDir || !(await lstat(old).catch(() => undefined))) return undefined;
  const dirty = await uncommitted({ path: old, gitDir, commonDir: repo.commonDir });
  if (dirty.length) {
    // Changed while pooled: never thrown away, kept for its owner to look at.
    await writeStatus(repo, { ...pooled, state: "kept", keptReason: `changed while pooled (${dirty.length} files)` });
    await unlock(old, repo.root);
    pooled.state = "kept"; // so discard() leaves it alone
    throw new Error("pooled worktree is dirty");
  }
  let made: { slug: string; path: string; branch: string | undefined; status: WorktreeStatus } | undefined;
  for (let n = 1; n <= MAX_ATTEMPTS && !made; n++) {
    const slug = withSuffix(plan.slug, n);
    const path = join(plan.baseDir, slug);
    const branch = branchFor(options, plan, slug);
    const status = statusFor(plan, slug, branch);
    if (!(await claimStatus(repo, status))) continue;
    if (slug !== pooled.slug && (await lstat(path).catch(() => undefined))) {
      await removeStatus(repo, slug);
      continue;
    }
    if (branch && !plan.explicitBranch?.exists) {
      const r = await git(["branch", "--no-track", "--", branch, plan.baseCommit], { cwd: repo.root, allowFailure: true });
      if (r.exitCode !== 0) {
        await removeStatus(repo, slug);
        if (plan.explicitBranch) throw new BranchExistsError(branch);
        continue;
      }
    }
    made = { slug, path, branch, status };
  }
  if (!made) return undefined;
  try {
    if (made.path !== old) await gitAcrossWorktrees(["worktree", "move", "--force", "--force", old, made.path], { cwd: repo.root });
    await unlock(made.path, repo.root);
    await lock(made.path, lockReason(plan.request.runId), repo.root);
    const pinned = inWorktree({ path: made.path, gitDir, commonDir: repo.commonDir });
    await git(["clean", "-ffdxq"], pinned);
    await git(made.branch ? ["switch", "--quiet", "--no-guess", made.branch] : ["switch", "--quiet", "--detach", plan.baseCommit], pinned);
    return await finish(plan, { ...made, reused: true, detached: options.detach });
  } catch (error) {
    if (made.branch && !plan.explicitBranch?.exists) await gitAcrossWorktrees(["branch", "-D", "--", made.branch], { cwd: repo.root, allowFailure: true });
    await removeStatus(repo, made.slug);
    // The folder may have moved already; discard() removes it wherever it is.
    pooled.path = (await lstat(made.path).catch(() => undefined)) ? made.path : old;
    throw error;
  }
}

async function discard(repo: Repo, taken: { status: WorktreeStatus; file: string }): Promise<void> {
  if (taken.status.state === "pooled") {
    await gitAcrossWorktrees(["worktree", "remove", "--force", "--force", taken.status.path], { cwd: repo.root, allowFailure: true });
  }
  await rm(taken.file, { force: true });
}

/**
 * Puts a clean, released worktree into the pool: detaches HEAD (so its branch is free elsewhere)
 * and relabels it. False when the pool is full; the caller removes the worktree then.
 */
export async function returnToPool(repo: Repo, status: WorktreeStatus, poolSize: number): Promise<boolean> {
  const pooled = (await readAllStatuses(repo)).filter((s) => s.state === "pooled" && dirname(s.path) === dirname(status.path));
  if (pooled.length >= poolSize || !status.gitDir) return false;
  await git(["switch", "--quiet", "--detach"], inWorktree({ path: status.path, gitDir: status.gitDir, commonDir: repo.commonDir }));
  await unlock(status.path, repo.root);
  await lock(status.path, POOL_LOCK_REASON, repo.root);
  const { branch: _branch, keptReason: _kept, ...rest } = status;
  await writeStatus(repo, { ...rest, state: "pooled" });
  return true;
}
