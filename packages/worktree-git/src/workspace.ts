import { readFile, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { IsolationError, type GitMount, type Workspace } from "@corral/core";
import { borrowedObjectMounts, SHARED_OBJECTS } from "@corral/core/plugin-kit";
import { inside, type Repo } from "./repo.js";

/** What the worktree isolation keeps in `Workspace.meta`. */
export interface WorktreeMeta {
  /** The worktree's name: its folder under the base folder, and the last part of its branch. */
  slug: string;
  /** The main checkout's root (where `.corral/` lives). */
  root: string;
  /** The repository's shared git dir (`<root>/.git` usually): objects, refs, config, hooks. */
  commonDir: string;
  /** The checkout the run was started from (the main one, or a linked worktree). */
  checkout: string;
  /** The worktree's admin dir (`.git/worktrees/<id>`): corral's, never shown writable to the agent. */
  gitDir: string;
  /** The run's own git dir (what the agent's git uses inside the sandbox); absent when the sandbox shows the host as it is. */
  runGitDir?: string;
  /** The repository's object hash. */
  objectFormat: "sha1" | "sha256";
  /** The ref the run started from, as given (the `base` option). */
  baseRef: string;
  /** True when the worktree is on a detached HEAD (the `detach` option): no branch of its own. */
  detached: boolean;
  /** The run the worktree belongs to. */
  runId: string;
  /** True when the worktree came from the pool. */
  reused: boolean;
  /** When the workspace was handed out (ms since the epoch): objects written after it may be the run's. */
  acquiredAt?: number;
}

export function pinnedOf(workspace: Workspace): PinnedWorktree {
  const meta = metaOf(workspace);
  return { path: workspace.path, gitDir: meta.gitDir, commonDir: meta.commonDir };
}

/** The meta of a workspace this isolation made; checked, as a caller may hand release any workspace. */
export function metaOf(workspace: Workspace<unknown>): WorktreeMeta {
  const meta = workspace.meta as Partial<WorktreeMeta> | undefined;
  if (!meta?.slug || !meta.root || !meta.commonDir || !meta.gitDir) {
    throw new IsolationError(`The workspace ${workspace.path} was not made by the worktree isolation.`, {
      hint: "Release a workspace with the isolation that acquired it.",
    });
  }
  return meta as WorktreeMeta;
}

export function repoOf(meta: WorktreeMeta): Repo {
  return { root: meta.root, commonDir: meta.commonDir, checkout: meta.checkout, objectFormat: meta.objectFormat };
}

/** Where a worktree's git data is, as corral recorded it (never as the worktree's `.git` file says). */
export interface PinnedWorktree {
  path: string;
  gitDir: string;
  commonDir: string;
}

/**
 * Options for core's git() that run git in a worktree with its git dir, work tree and common dir
 * given explicitly. The agent can rewrite the worktree's `.git` file to point at a git dir it made
 * (whose config could run commands); host-side git must never follow it.
 */
export function inWorktree(w: PinnedWorktree): { cwd: string; env: Record<string, string> } {
  return { cwd: w.path, env: { GIT_DIR: w.gitDir, GIT_WORK_TREE: w.path, GIT_COMMON_DIR: w.commonDir } };
}

/** The worktree's own git dir, read from its `.git` file (only right after git made it). */
export async function worktreeGitDir(path: string): Promise<string> {
  const text = await readFile(join(path, ".git"), "utf8");
  const dir = text.match(/^gitdir: (.*)$/m)?.[1]?.trim();
  if (!dir) throw new Error(`${path}/.git does not name a git dir`);
  return realpath(isAbsolute(dir) ? dir : resolve(path, dir));
}

/**
 * What the sandbox must mount for the agent's git: the run's own git dir shown where the worktree's
 * `.git` file points (over the admin dir, which stays corral's), the user's objects read-only inside
 * it (borrowed through the alternate), and the `.git` file itself pinned read-only so it cannot be
 * repointed. Nothing of the user's git dir is writable.
 */
export async function gitMounts(repo: Repo, worktree: string, adminDir: string, runGitDir: string): Promise<GitMount[]> {
  const dotGit = join(worktree, ".git");
  return [
    { host: dotGit, sandbox: dotGit, readonly: true },
    { host: runGitDir, sandbox: adminDir, readonly: false },
    ...(await borrowedObjectMounts(repo.commonDir, join(adminDir, SHARED_OBJECTS))),
  ];
}

/** The agent's cwd in the worktree: the same subfolder the run was started in, when it exists there. */
export async function mapCwd(repo: Repo, requestCwd: string, worktree: string): Promise<string> {
  const rel = inside(repo.checkout, await realpath(requestCwd).catch(() => requestCwd));
  if (!rel) return worktree;
  const candidate = join(worktree, rel);
  return (await stat(candidate).catch(() => undefined))?.isDirectory() ? candidate : worktree;
}
