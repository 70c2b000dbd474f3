import { lstat, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type MergeBackOutcome, type ReleaseFailure, type ReleaseOptions, type ReleaseResult, type Workspace } from "@corral/core";
import { commitsSince, git } from "@corral/core/plugin-kit";
import { collect } from "./collect.js";
import { gitAcrossWorktrees, gitRemoveWorktree, unlock } from "./git-worktrees.js";
import { gitMessage } from "./errors.js";
import { mergeBack } from "./merge.js";
import type { WorktreeOptions } from "./options.js";
import { returnToPool } from "./pool.js";
import type { Repo } from "./repo.js";
import { readStatus, removeStatus, writeStatus } from "./status.js";
import { metaOf, repoOf, worktreeGitDir, type WorktreeMeta } from "./workspace.js";

/**
 * Gives a workspace back, after the sandbox is closed. First the run's work comes back (see
 * collect.ts): its branch through the verified transfer, uncommitted work as a WIP commit when
 * asked. Uncommitted work is never deleted: the worktree is kept, defused (its `.git` leads to
 * corral's admin dir, whose index corral wrote) and its path reported. A clean worktree is merged
 * back (when asked, after a succeeded run), pooled (with `reuse`) or removed; the branch stays
 * unless `deleteBranch` is set and deleting it loses nothing.
 */
export async function release(options: WorktreeOptions, workspace: Workspace, { outcome, keep: keepAsked }: ReleaseOptions): Promise<ReleaseResult> {
  const meta = metaOf(workspace);
  const repo = repoOf(meta);
  const notes: string[] = [];
  const branch = workspace.branch;

  if (!(await lstat(workspace.path).catch(() => undefined))) {
    // The folder is gone; what the run committed may still be in its git dir.
    const problems = await recoverBranchOnly(options, workspace, meta);
    await gitAcrossWorktrees(["worktree", "remove", "--force", "--force", workspace.path], { cwd: repo.root, allowFailure: true });
    await removeStatus(repo, meta.slug);
    if (meta.runGitDir) await rm(meta.runGitDir, { recursive: true, force: true });
    return {
      commits: branch ? await commitsSince(repo.root, workspace.baseCommit, `refs/heads/${branch}`) : [],
      removed: true,
      notes: [`The worktree folder ${workspace.path} was already gone; its git records were cleaned up.`],
      ...(problems.length ? { problems } : {}),
    };
  }

  // Whatever the agent made of the `.git` file, it leads to corral's admin dir again before any git reads it.
  if (await pinDotGit(workspace.path, meta.gitDir)) notes.push(`Repaired ${workspace.path}/.git: it had been changed to point elsewhere.`);

  const collected = await collect(options, workspace, meta, { listCommits: true });
  try {
    if (collected.wip) notes.push(`Committed ${collected.wip.files} uncommitted file(s) as WIP commit ${collected.wip.sha.slice(0, 12)} on ${branch}.`);
    const problems = collected.problems;
    const commits = branch ? await (collected.commits ?? commitsSince(repo.root, workspace.baseCommit, `refs/heads/${branch}`)) : [];
    const failures: ReleaseFailure[] = [...collected.failures];
    let mergeOutcome: MergeBackOutcome | undefined;
    const result = (extra: Partial<ReleaseResult> & { removed: boolean }): ReleaseResult => ({
      commits,
      ...extra,
      ...(notes.length ? { notes } : {}),
      ...(problems.length ? { problems } : {}),
      ...(failures.length ? { failures } : {}),
      ...(mergeOutcome ? { merge: mergeOutcome } : {}),
    });
    const keep = async (reason: string): Promise<ReleaseResult> => {
      await collected.installIndex();
      await markKept(repo, meta, workspace.path, reason);
      return result({ removed: false, keptReason: `The worktree was kept because ${reason}.`, path: workspace.path, ...(collected.dirty.length ? { uncommitted: collected.dirty.length } : {}) });
    };

    if (collected.dirty.length) return await keep(`it has ${collected.dirty.length} uncommitted change(s)`);
    // A nested repository's history lives only in its own .git, which removal would delete.
    if (collected.nested.length) return await keep(`it contains a nested git repository (${collected.nested.slice(0, 3).join(", ")}) whose history is only there; remove it by hand when done`);
    if (!branch && collected.tip !== workspace.baseCommit) return await keep("its detached HEAD has commits that are on no branch");
    if (problems.length) return await keep("the run's work could not all be brought back (see the problems)");
    if (outcome !== "succeeded" && options.keepFailed) return await keep(`the run ${outcome} (keepFailed)`);
    if (keepAsked) return await keep(`the run ${outcome} before the agent started (e.g. a setup hook); kept for inspection`);

    let merged = false;
    if (outcome === "succeeded" && options.mergeBack !== "none" && branch && commits.length) {
      const merge = await mergeBack(repo, { mode: options.mergeBack, branch, baseBranch: workspace.baseBranch, runId: meta.runId });
      merged = merge.merged;
      notes.push(merge.note);
      if (workspace.baseBranch) mergeOutcome = { into: workspace.baseBranch, merged, ...(merge.commit ? { commit: merge.commit } : {}), message: merge.note };
      if (merge.failed) failures.push({ code: "E_MERGE_BACK", message: merge.note, ref: `refs/heads/${branch}` });
    }

    const status = await readStatus(repo, meta.slug);
    let removed = true;
    if (options.reuse && status) {
      await collected.installIndex();
      if (await returnToPool(repo, status, options.poolSize)) {
        removed = false;
        notes.push(`The worktree was kept in the pool for the next run (${workspace.path}).`);
      }
    }
    if (removed) {
      // Clean by corral's own reading above; git's own check would enter nested repositories.
      // (--force twice also removes a locked worktree.)
      await gitRemoveWorktree(repo, workspace.path, true);
      await removeStatus(repo, meta.slug);
    }

    if (branch && options.deleteBranch) {
      if (commits.length === 0 || merged) {
        const deleted = await gitAcrossWorktrees(["branch", "-D", "--", branch], { cwd: repo.root, allowFailure: true });
        notes.push(deleted.exitCode === 0 ? `Deleted the branch ${branch}.` : `Kept the branch ${branch}: git could not delete it (${gitMessage(deleted).split("\n")[0]}).`);
      } else {
        notes.push(`Kept the branch ${branch}: it has ${commits.length} commit(s) not merged anywhere.`);
      }
    }
    return result({ removed });
  } finally {
    await collected.dispose();
    if (meta.runGitDir) await rm(meta.runGitDir, { recursive: true, force: true });
  }
}

/** With the folder gone, only the branch can come back (from the run's git dir); the problems, if any. */
async function recoverBranchOnly(options: WorktreeOptions, workspace: Workspace, meta: WorktreeMeta): Promise<string[]> {
  if (!meta.runGitDir || !(await lstat(meta.runGitDir).catch(() => undefined))) return [];
  const collected = await collect({ ...options, uncommitted: "keep" }, workspace, meta, { readWorkTree: false });
  await collected.dispose();
  return collected.problems;
}

/**
 * Makes the worktree's `.git` file lead to `gitDir` again, if the agent changed it. Never written
 * through: the agent may have made `.git` a symlink to a host file; a fresh file is renamed over
 * it (a folder is removed first). True when it had to be repaired.
 */
export async function pinDotGit(worktree: string, gitDir: string): Promise<boolean> {
  if ((await worktreeGitDir(worktree).catch(() => undefined)) === gitDir && !(await lstat(join(worktree, ".git"))).isSymbolicLink()) return false;
  const dotGit = join(worktree, ".git");
  if ((await lstat(dotGit).catch(() => undefined))?.isDirectory()) await rm(dotGit, { recursive: true, force: true });
  const temp = `${dotGit}.corral-${process.pid}-${Date.now()}`;
  await writeFile(temp, `gitdir: ${gitDir}\n`, { flag: "wx" });
  await rename(temp, dotGit);
  return true;
}

/** Marks a worktree kept; the run is over, so the lock goes and the user can `git worktree remove` it once done. */
async function markKept(repo: Repo, meta: WorktreeMeta, path: string, reason: string): Promise<void> {
  const status = await readStatus(repo, meta.slug);
  if (status) {
    const { runGitDir: _gone, ...rest } = status;
    await writeStatus(repo, { ...rest, state: "kept", keptReason: reason });
  }
  await unlock(path, repo.root);
}
