import { rmdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AbortError, type AcquireRequest, type Workspace } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { BranchExistsError, UnsafePathError, WorktreeCreationError, gitMessage } from "./errors.js";
import type { WorktreeOptions } from "./options.js";
import { ensureExcluded, excludePatterns, prepareBaseDir, reserveFolder } from "./paths.js";
import { takeFromPool } from "./pool.js";
import { resolveBase, resolveRepo, type Repo } from "./repo.js";
import { slugify, withSuffix } from "./slug.js";
import { claimStatus, removeStatus } from "./status.js";
import { branchFor, finish, lockReason, MAX_ATTEMPTS, statusFor, type AcquirePlan } from "./plan.js";
import type { WorktreeMeta } from "./workspace.js";


/** git's own words for "that name is taken": retried with the next suffix. */
const COLLISION = /already exists|cannot lock ref|already checked out|already used by worktree|already registered/i;
/**
 * Another `git worktree add` running at the same moment: git read that worktree's admin folder
 * while it was half-written (an empty `commondir`/`gitdir`). Nothing of ours is wrong: retry.
 */
const TRANSIENT = /failed to read .*worktrees\/[^/]+\/(commondir|gitdir)|could not lock config file/i;
const MAX_TRANSIENT_RETRIES = 25;

/** Checks every input, then makes (or reuses) a worktree. Bad input leaves nothing behind. */
export async function acquire(options: WorktreeOptions, request: AcquireRequest): Promise<Workspace<WorktreeMeta>> {
  throwIfAborted(request.signal);
  const repo = await resolveRepo(request.cwd);
  const base = await resolveBase(repo, options.base);
  const explicitBranch = options.branch === undefined ? undefined : await checkExplicitBranch(repo, options.branch, options.reuse);
  if (!options.detach && !explicitBranch) await checkBranchName(repo, `${options.branchPrefix}x`, "branchPrefix");
  const slug = slugify(request.name ?? options.branch ?? request.runId);
  const baseDir = await prepareBaseDir(repo, options.baseDir);
  await ensureExcluded(repo, excludePatterns(repo, baseDir));
  const plan: AcquirePlan = {
    repo,
    branchPrefix: options.branchPrefix,
    baseDir,
    baseRef: options.base,
    baseCommit: explicitBranch?.exists ? await tip(repo, explicitBranch.name) : base.commit,
    ...(base.branch ? { baseBranch: base.branch } : {}),
    slug,
    ...(explicitBranch ? { explicitBranch } : {}),
    request,
  };
  throwIfAborted(request.signal);
  if (options.reuse) {
    const reused = await takeFromPool(options, plan);
    if (reused) return reused;
  }
  return createFresh(options, plan);
}

async function createFresh(options: WorktreeOptions, plan: AcquirePlan): Promise<Workspace<WorktreeMeta>> {
  const { repo, request } = plan;
  let transientRetries = 0;
  for (let n = 1; n <= MAX_ATTEMPTS; n++) {
    const slug = withSuffix(plan.slug, n);
    const branch = branchFor(options, plan, slug);
    const status = statusFor(plan, slug, branch);
    if (!(await claimStatus(repo, status))) continue;
    const path = await reserveFolder(plan.baseDir, slug).catch(async (error: unknown) => {
      await removeStatus(repo, slug);
      throw error;
    });
    if (!path) {
      await removeStatus(repo, slug);
      continue;
    }
    const target = options.detach
      ? ["--detach", path, plan.baseCommit]
      : plan.explicitBranch?.exists
        ? [path, branch!]
        : ["-b", branch!, path, plan.baseCommit];
    const r = await git(["worktree", "add", "--quiet", "--lock", "--reason", lockReason(request.runId), ...target], { cwd: repo.root, allowFailure: true });
    if (r.exitCode !== 0) {
      await rmdir(path).catch(() => {}); // only ever our own empty reservation
      await removeStatus(repo, slug);
      if (TRANSIENT.test(r.stderr) && transientRetries++ < MAX_TRANSIENT_RETRIES) {
        // git creates a `-b` branch before it fails here; that branch is ours (we hold the slug) and empty.
        if (branch && !plan.explicitBranch) await git(["branch", "-D", "--", branch], { cwd: repo.root, allowFailure: true });
        await sleep(10 + Math.random() * 90);
        n--; // the same name again
        continue;
      }
      if (COLLISION.test(r.stderr) && !plan.explicitBranch) continue;
      if (plan.explicitBranch && /already exists/.test(r.stderr)) throw new BranchExistsError(plan.explicitBranch.name);
      throw new WorktreeCreationError(`git could not create the worktree ${path}: ${gitMessage(r)}`, { cause: Object.assign(new Error(r.stderr), r) });
    }
    try {
      const workspace = await finish(plan, { slug, path, branch, status, reused: false, detached: options.detach });
      throwIfAborted(request.signal);
      return workspace;
    } catch (error) {
      // Half-made: take the worktree back so nothing is left behind; the branch has no commits yet.
      await git(["worktree", "remove", "--force", "--force", path], { cwd: repo.root, allowFailure: true });
      if (branch && !plan.explicitBranch) await git(["branch", "-D", "--", branch], { cwd: repo.root, allowFailure: true });
      await removeStatus(repo, slug);
      throw error;
    }
  }
  throw new WorktreeCreationError(`Every name from "${plan.slug}" to "${withSuffix(plan.slug, MAX_ATTEMPTS)}" is taken.`, {
    hint: "Prune old worktrees (`corral worktrees prune`) and branches, or pick another run name.",
  });
}

async function checkExplicitBranch(repo: Repo, name: string, reuse: boolean): Promise<{ name: string; exists: boolean }> {
  await checkBranchName(repo, name, "branch");
  const exists = (await git(["show-ref", "--verify", "-q", `refs/heads/${name}`], { cwd: repo.root, allowFailure: true })).exitCode === 0;
  if (exists && !reuse) throw new BranchExistsError(name);
  return { name, exists };
}

async function checkBranchName(repo: Repo, name: string, field: string): Promise<void> {
  const ok = !name.startsWith("-") && (await git(["check-ref-format", "--branch", name], { cwd: repo.root, allowFailure: true })).exitCode === 0;
  if (!ok) throw new UnsafePathError(`The ${field} "${name}" is not a valid git branch name.`, { hint: "Use letters, digits, '/', '.', '_' and '-' (see `git check-ref-format`)." });
}

async function tip(repo: Repo, branch: string): Promise<string> {
  return (await git(["rev-parse", "--verify", `refs/heads/${branch}^{commit}`], { cwd: repo.root })).stdout.trim();
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}
