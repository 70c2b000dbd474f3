import { lstat, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
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
  if (await plainlyAbsent(repo, branch)) return false;
  return (await git(["show-ref", "--verify", "-q", `refs/heads/${branch}`], { cwd: repo.root, allowFailure: true })).exitCode === 0;
}

/**
 * True only when the user's repository (trusted, read before the run) plainly has no such branch:
 * files ref storage (no reftable), no loose ref file, no packed-refs line. Anything else (a file
 * there, a packed line, an unusual name, a large packed-refs) is git's to answer.
 */
async function plainlyAbsent(repo: Repo, branch: string): Promise<boolean> {
  if (!PLAIN_BRANCH.test(branch)) return false;
  const missing = async (path: string) =>
    lstat(path).then(
      () => false,
      (error: NodeJS.ErrnoException) => error.code === "ENOENT" || error.code === "ENOTDIR",
    );
  const [noReftable, noLoose] = await Promise.all([missing(join(repo.commonDir, "reftable")), missing(join(repo.commonDir, "refs", "heads", branch))]);
  if (!noReftable || !noLoose) return false;
  const packed = await readFile(join(repo.commonDir, "packed-refs")).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? null : undefined));
  if (packed === null) return true;
  if (packed === undefined || packed.length > 8 * 1024 * 1024) return false;
  const name = `refs/heads/${branch}`;
  return !packed.toString("utf8").split("\n").some((line) => line.endsWith(name) && line.charAt(line.length - name.length - 1) === " ");
}

/** Branch names whose ref is one plain path under `refs/heads/` (letters, digits, `_`, `-`, `/` between parts). */
export const PLAIN_BRANCH = /^[A-Za-z0-9_][A-Za-z0-9_-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_-]*)*$/;

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
