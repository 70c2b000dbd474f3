import { lstat, rm } from "node:fs/promises";
import { type Workspace } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { lock, unlock } from "./git-worktrees.js";
import { finish, lockReason, type AcquirePlan } from "./plan.js";
import { pinDotGit } from "./release.js";
import type { Repo } from "./repo.js";
import { newStatus, readAllStatuses, takeStatus, writeStatus } from "./status.js";
import type { WorktreeMeta } from "./workspace.js";

/** Whether `refs/heads/<branch>` exists in the user's repository. */
export async function branchExists(repo: Repo, branch: string): Promise<boolean> {
  return (await git(["show-ref", "--verify", "-q", `refs/heads/${branch}`], { cwd: repo.root, allowFailure: true })).exitCode === 0;
}

/**
 * Hands the kept worktree on `branch` (at `path`, when given) to the run that continues
 * it, its files as they are (uncommitted work included). Claimed atomically (its status file renamed
 * away, so two resumes cannot both take it), its `.git` pinned to corral's admin dir again, locked
 * for the new run, and given a fresh git dir of the run's own by `finish`, as every acquire is: the
 * folder is agent-written, and host git reads nothing of it but through corral's admin dir.
 * Undefined when there is no such worktree (the caller makes a new one on the branch).
 */
export async function takeKept(plan: AcquirePlan, wanted: string | undefined, branch: string): Promise<Workspace<WorktreeMeta> | undefined> {
  const { repo, request } = plan;
  const kept = (await readAllStatuses(repo)).find((s) => s.state === "kept" && (wanted === undefined || s.path === wanted) && s.branch === branch && s.gitDir);
  const path = kept?.path;
  if (!kept || !path || !(await lstat(path).catch(() => undefined))?.isDirectory()) return undefined;
  const claimed = await takeStatus(repo, kept.slug, "kept");
  if (!claimed) return undefined; // another run took it first
  const { status: current, file: taken } = claimed;
  const gitDir = current.gitDir!;
  const status = newStatus({
    slug: current.slug,
    path,
    runId: request.runId,
    ...(request.name ? { name: request.name } : {}),
    state: "creating",
    branch,
    baseRef: plan.baseRef,
    baseCommit: plan.baseCommit,
    ...(plan.baseBranch ? { baseBranch: plan.baseBranch } : {}),
    gitDir,
  });
  try {
    await writeStatus(repo, status);
    await rm(taken, { force: true });
    await pinDotGit(path, gitDir);
    await unlock(path, repo.root);
    await lock(path, lockReason(request.runId), repo.root);
    return await finish(plan, { slug: current.slug, path, branch, status, reused: true, detached: false });
  } catch (error) {
    // Left as it was found: kept, for its owner.
    await writeStatus(repo, current).catch(() => {});
    await rm(taken, { force: true });
    await unlock(path, repo.root).catch(() => {});
    throw error;
  }
}
