import { lstat, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { commitsSince, git, type ReleaseOptions, type ReleaseResult, type Workspace } from "@corral/core";
import { WorktreeRemovalError, gitMessage } from "./errors.js";
import { uncommitted, unlock } from "./git-worktrees.js";
import { mergeBack } from "./merge.js";
import type { WorktreeOptions } from "./options.js";
import { returnToPool } from "./pool.js";
import type { Repo } from "./repo.js";
import { readStatus, removeStatus, writeStatus } from "./status.js";
import { inWorktree, metaOf, pinnedOf, repoOf, worktreeGitDir, type PinnedWorktree, type WorktreeMeta } from "./workspace.js";

/**
 * Gives a workspace back. Uncommitted work is never deleted: it is committed as WIP (when asked)
 * or the worktree is kept and its path reported. A clean worktree is merged back (when asked,
 * after a succeeded run), pooled (with `reuse`) or removed; the branch stays unless
 * `deleteBranch` is set and deleting it loses nothing.
 */
export async function release(options: WorktreeOptions, workspace: Workspace, { outcome, keep: keepAsked }: ReleaseOptions): Promise<ReleaseResult> {
  const meta = metaOf(workspace);
  const repo = repoOf(meta);
  const notes: string[] = [];
  const branch = workspace.branch;
  const pinned = pinnedOf(workspace);

  if (!(await lstat(workspace.path).catch(() => undefined))) {
    await git(["worktree", "remove", "--force", "--force", workspace.path], { cwd: repo.root, allowFailure: true });
    await removeStatus(repo, meta.slug);
    return { removed: true, notes: [`The worktree folder ${workspace.path} was already gone; its git records were cleaned up.`] };
  }

  let dirty = await uncommitted(pinned);
  if (dirty.length && options.uncommitted === "commit" && branch) {
    const wip = await commitLeftovers(pinned, meta.runId);
    if (wip.ok) {
      notes.push(`Committed ${dirty.length} uncommitted file(s) as WIP commit ${wip.sha.slice(0, 12)} on ${branch}.`);
      dirty = await uncommitted(pinned);
    } else {
      notes.push(`Could not commit the leftovers: ${wip.error}`);
    }
  }
  if (dirty.length) return keep(repo, meta, workspace, `it has ${dirty.length} uncommitted change(s)`, notes);

  const head = (await git(["rev-parse", "HEAD"], inWorktree(pinned))).stdout.trim();
  if (!branch && head !== workspace.baseCommit) {
    return keep(repo, meta, workspace, "its detached HEAD has commits that are on no branch", notes);
  }
  if (outcome !== "succeeded" && options.keepFailed) return keep(repo, meta, workspace, `the run ${outcome} (keepFailed)`, notes);
  if (keepAsked) return keep(repo, meta, workspace, `the run ${outcome} before the agent started (e.g. a setup hook); kept for inspection`, notes);

  const commits = branch ? await commitsSince(repo.root, workspace.baseCommit, `refs/heads/${branch}`) : [];
  let merged = false;
  if (outcome === "succeeded" && options.mergeBack !== "none" && branch && commits.length) {
    const result = await mergeBack(repo, { mode: options.mergeBack, branch, baseBranch: workspace.baseBranch, runId: meta.runId });
    merged = result.merged;
    notes.push(result.note);
  }

  // git refuses to remove (or reuse) a worktree whose `.git` file no longer points back at its git dir.
  if ((await worktreeGitDir(workspace.path).catch(() => undefined)) !== meta.gitDir) {
    // Written by hand: `git worktree repair` would follow the bad pointer and write into its target.
    // Never write through what is there (the agent may have made `.git` a symlink to a host file):
    // a fresh file is renamed over it, which replaces a symlink instead of following it.
    const dotGit = join(workspace.path, ".git");
    if ((await lstat(dotGit).catch(() => undefined))?.isDirectory()) await rm(dotGit, { recursive: true, force: true });
    const temp = `${dotGit}.corral-${process.pid}-${Date.now()}`;
    await writeFile(temp, `gitdir: ${meta.gitDir}\n`, { flag: "wx" });
    await rename(temp, dotGit);
    notes.push(`Repaired ${workspace.path}/.git: it had been changed to point elsewhere.`);
  }

  const status = await readStatus(repo, meta.slug);
  let removed = true;
  if (options.reuse && status && (await returnToPool(repo, status, options.poolSize))) {
    removed = false;
    notes.push(`The worktree was kept in the pool for the next run (${workspace.path}).`);
  } else {
    await unlock(workspace.path, repo.root);
    const r = await git(["worktree", "remove", workspace.path], { cwd: repo.root, allowFailure: true });
    // git will not remove a worktree holding a nested repository; that repository may be the agent's work.
    if (r.exitCode !== 0 && /containing submodules/.test(r.stderr)) {
      return keep(repo, meta, workspace, "it contains a nested git repository (git will not remove those); remove it by hand when done", notes);
    }
    if (r.exitCode !== 0) {
      throw new WorktreeRemovalError(`git could not remove the worktree ${workspace.path}: ${gitMessage(r)}`, { cause: Object.assign(new Error(r.stderr), r) });
    }
    await removeStatus(repo, meta.slug);
  }

  if (branch && options.deleteBranch) {
    if (commits.length === 0 || merged) {
      await git(["branch", "-D", "--", branch], { cwd: repo.root, allowFailure: true });
      notes.push(`Deleted the branch ${branch}.`);
    } else {
      notes.push(`Kept the branch ${branch}: it has ${commits.length} commit(s) not merged anywhere.`);
    }
  }
  return { removed, ...(notes.length ? { notes } : {}) };
}

async function keep(repo: Repo, meta: WorktreeMeta, workspace: Workspace, reason: string, notes: string[]): Promise<ReleaseResult> {
  const status = await readStatus(repo, meta.slug);
  if (status) await writeStatus(repo, { ...status, state: "kept", keptReason: reason });
  // The run is over: the lock goes, so the user can `git worktree remove` it once done.
  await unlock(workspace.path, repo.root);
  return { removed: false, keptReason: `The worktree was kept because ${reason}.`, path: workspace.path, ...(notes.length ? { notes } : {}) };
}

async function commitLeftovers(worktree: PinnedWorktree, runId: string): Promise<{ ok: true; sha: string } | { ok: false; error: string }> {
  await git(["add", "--all"], inWorktree(worktree));
  const r = await git(["commit", "--quiet", "--no-verify", "-m", `WIP: uncommitted changes left by corral run ${runId}`], { ...inWorktree(worktree), allowFailure: true });
  if (r.exitCode !== 0) return { ok: false, error: gitMessage(r) };
  return { ok: true, sha: (await git(["rev-parse", "HEAD"], inWorktree(worktree))).stdout.trim() };
}
