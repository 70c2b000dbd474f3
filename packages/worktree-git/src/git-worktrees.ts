import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GitError } from "@corral/core";
import { EMPTY_TREE, git, Quarantine, type GitResult } from "@corral/core/plugin-kit";
import { WorktreeRemovalError, gitMessage } from "./errors.js";
import type { Repo } from "./repo.js";
import { inWorktree, type PinnedWorktree } from "./workspace.js";

/**
 * Another run's worktree changing while git walked them all (every `git worktree` command, and `git
 * branch -D`, reads each admin folder first): one half-written by a concurrent `worktree add` (an empty
 * `commondir`/`gitdir`), or one gone mid-way under a concurrent `worktree remove` ("Invalid path
 * '…/worktrees/<id>…'"). Nothing of ours is wrong, and git stopped before doing anything: run it again.
 */
export const CONCURRENT_WORKTREE_CHANGE = /failed to read .*worktrees\/[^/]+\/(commondir|gitdir)|Invalid path '[^']*\/worktrees\/[^/']+|could not lock config file/i;
export const MAX_CONCURRENT_RETRIES = 25;
/** A short random wait before running again, so runs that met each other do not meet again. */
export const concurrentRetryPause = () => sleep(10 + Math.random() * 90);

/**
 * `git` for a command that walks every worktree of the repository: run again while it failed only on
 * another worktree changing (`CONCURRENT_WORKTREE_CHANGE`, at most `MAX_CONCURRENT_RETRIES` times);
 * otherwise as `git`.
 */
export async function gitAcrossWorktrees(args: readonly string[], options: { cwd: string; allowFailure?: boolean }): Promise<GitResult> {
  for (let retries = 0; ; retries++) {
    const r = await git(args, { cwd: options.cwd, allowFailure: true });
    if (r.exitCode !== 0 && CONCURRENT_WORKTREE_CHANGE.test(r.stderr) && retries < MAX_CONCURRENT_RETRIES) {
      await concurrentRetryPause();
      continue;
    }
    if (r.exitCode !== 0 && !options.allowFailure) throw new GitError(args, r);
    return r;
  }
}

/** One entry of `git worktree list --porcelain -z`. */
export interface GitWorktree {
  path: string;
  head?: string;
  /** Full ref, e.g. `refs/heads/corral/fix`; undefined when detached. */
  branch?: string;
  bare: boolean;
  detached: boolean;
  /** The lock reason ("" when locked without one); undefined when not locked. */
  locked?: string;
  prunable?: string;
}

/** Every worktree git knows of, the main one first. */
export async function gitWorktrees(repo: Repo): Promise<GitWorktree[]> {
  const r = await gitAcrossWorktrees(["worktree", "list", "--porcelain", "-z"], { cwd: repo.root });
  const out: GitWorktree[] = [];
  let current: GitWorktree | undefined;
  for (const field of r.stdout.split("\0")) {
    if (field === "") {
      if (current) out.push(current);
      current = undefined;
      continue;
    }
    const space = field.indexOf(" ");
    const key = space === -1 ? field : field.slice(0, space);
    const value = space === -1 ? "" : field.slice(space + 1);
    if (key === "worktree") {
      if (current) out.push(current);
      current = { path: value, bare: false, detached: false };
    } else if (current) {
      if (key === "HEAD") current.head = value;
      else if (key === "branch") current.branch = value;
      else if (key === "bare") current.bare = true;
      else if (key === "detached") current.detached = true;
      else if (key === "locked") current.locked = value;
      else if (key === "prunable") current.prunable = value;
    }
  }
  if (current) out.push(current);
  return out;
}

/**
 * Paths of uncommitted changes (tracked and untracked, not ignored) in a worktree: its files read
 * into a tree in a quarantine (no filter, driver or nested repository's config can run; see core's
 * quarantine.ts) and compared with its HEAD, which is read from corral's admin dir.
 */
export async function uncommitted(worktree: PinnedWorktree): Promise<string[]> {
  const pinned = inWorktree(worktree);
  const format = (await git(["rev-parse", "--show-object-format"], pinned)).stdout.trim() === "sha256" ? "sha256" : "sha1";
  const head = await git(["rev-parse", "--verify", "-q", "HEAD^{tree}"], { ...pinned, allowFailure: true });
  const quarantine = await Quarantine.open({ commonDir: worktree.commonDir, objectFormat: format, name: "status" });
  try {
    const snapshot = await quarantine.snapshot(worktree.path, join(worktree.gitDir, "index"));
    const changed = head.exitCode === 0 && head.stdout.trim() === snapshot.tree ? [] : await quarantine.changedPaths(head.exitCode === 0 ? head.stdout.trim() : EMPTY_TREE[format], snapshot.tree);
    return [...changed, ...snapshot.unreadable];
  } finally {
    await quarantine.dispose();
  }
}

export async function lock(path: string, reason: string, cwd: string): Promise<void> {
  await gitAcrossWorktrees(["worktree", "lock", "--reason", reason, "--", path], { cwd });
}

/** Unlocks; a worktree that was not locked is fine. */
export async function unlock(path: string, cwd: string): Promise<void> {
  const r = await gitAcrossWorktrees(["worktree", "unlock", "--", path], { cwd, allowFailure: true });
  if (r.exitCode !== 0 && !/is not locked/.test(r.stderr)) throw Object.assign(new Error(r.stderr), r);
}

/**
 * `git worktree remove` of a corral worktree (`force`: also a dirty or locked one). A `git gc` in
 * the user's checkout at the same moment can write a lock file into the worktree's admin folder
 * (its reflog expiry walks every worktree) while git deletes it: then the working tree is gone and
 * only that folder is left, "Directory not empty". Once the working tree is gone, `git worktree
 * prune` finishes the job; a failure that persists is a WorktreeRemovalError.
 */
export async function gitRemoveWorktree(repo: Repo, path: string, force: boolean): Promise<void> {
  const args = force ? ["worktree", "remove", "--force", "--force", path] : ["worktree", "remove", path];
  const last = await gitAcrossWorktrees(args, { cwd: repo.root, allowFailure: true });
  for (let attempt = 1; last.exitCode !== 0 && attempt <= 3 && !existsSync(path); attempt++) {
    await sleep(100 * attempt);
    await gitAcrossWorktrees(["worktree", "prune"], { cwd: repo.root, allowFailure: true });
    if (!(await gitWorktrees(repo)).some((w) => w.path === path)) return;
  }
  if (last.exitCode !== 0) throw new WorktreeRemovalError(`git could not remove the worktree ${path}: ${gitMessage(last)}`, { cause: Object.assign(new Error(last.stderr), last) });
}
