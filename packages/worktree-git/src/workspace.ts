import { mkdir, readFile, realpath, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Workspace } from "@corral/core";
import { IsolationError } from "@corral/core";
import { inside, type Repo } from "./repo.js";

/** What the worktree isolation keeps in `Workspace.meta`. */
export interface WorktreeMeta {
  slug: string;
  root: string;
  commonDir: string;
  checkout: string;
  /** The worktree's own git dir (`.git/worktrees/<id>`). */
  gitDir: string;
  baseRef: string;
  detached: boolean;
  runId: string;
  /** True when the worktree came from the pool. */
  reused: boolean;
}

export function pinnedOf(workspace: Workspace): PinnedWorktree {
  const meta = metaOf(workspace);
  return { path: workspace.path, gitDir: meta.gitDir, commonDir: meta.commonDir };
}

export function metaOf(workspace: Workspace): WorktreeMeta {
  const meta = workspace.meta as Partial<WorktreeMeta> | undefined;
  if (!meta?.slug || !meta.root || !meta.commonDir || !meta.gitDir) {
    throw new IsolationError(`The workspace ${workspace.path} was not made by the worktree isolation.`, {
      hint: "Release a workspace with the isolation that acquired it.",
    });
  }
  return meta as WorktreeMeta;
}

export function repoOf(meta: WorktreeMeta): Repo {
  return { root: meta.root, commonDir: meta.commonDir, checkout: meta.checkout };
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
 * The git metadata a sandbox must mount for commits to work in the worktree: read-write the
 * worktree's git dir, the shared objects, and only the folder of the run's own branch under refs
 * and logs; read-only everything else — the user's branches and tags, config, hooks, info, and
 * the files that could repoint the worktree. Sandboxes mount parents before children, so the
 * run's writable refs/heads/<prefix> sits inside read-only refs.
 */
export async function gitMounts(repo: Repo, gitDir: string, branch?: string): Promise<Workspace["gitMounts"]> {
  // Read-only inside the writable git dir, so an agent cannot repoint the worktree's common dir or
  // add per-worktree config (read when extensions.worktreeConfig is on).
  await writeFile(join(gitDir, "config.worktree"), "", { flag: "a" });
  const g = (name: string) => join(gitDir, name);
  const c = (name: string) => join(repo.commonDir, name);
  // The folder that holds the run's branch ref (refs/heads/corral for corral/<slug>); a branch
  // without a folder of its own can only be given all of refs/heads.
  const branchFolder = branch ? dirname(`refs/heads/${branch}`) : undefined;
  const writable = branchFolder ? [c(branchFolder), c(join("logs", branchFolder))] : [];
  // Reflogs are written on commit; make sure the folders exist so the mounts have a target.
  for (const folder of [c("logs"), ...writable]) await mkdir(folder, { recursive: true });
  const existing = async (paths: string[]) => (await Promise.all(paths.map(async (p) => ((await stat(p).catch(() => undefined)) ? p : undefined)))).filter((p): p is string => !!p);
  return {
    readWrite: await existing([gitDir, c("objects"), ...writable]),
    readOnly: await existing([c("refs"), c("logs"), c("config"), c("hooks"), c("info"), c("packed-refs"), c("HEAD"), c("shallow"), g("commondir"), g("gitdir"), g("config.worktree")]),
  };
}

/** The agent's cwd in the worktree: the same subfolder the run was started in, when it exists there. */
export async function mapCwd(repo: Repo, requestCwd: string, worktree: string): Promise<string> {
  const rel = inside(repo.checkout, await realpath(requestCwd).catch(() => requestCwd));
  if (!rel) return worktree;
  const candidate = join(worktree, rel);
  return (await stat(candidate).catch(() => undefined))?.isDirectory() ? candidate : worktree;
}
