import { rmdir } from "node:fs/promises";
import { basename } from "node:path";
import { AbortError, type AcquireRequest, type Workspace } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { BranchExistsError, BranchGoneError, UnsafePathError, WorktreeCreationError, gitMessage } from "./errors.js";
import type { WorktreeOptions } from "./options.js";
import { ensureExcluded, excludePatterns, prepareBaseDir, reserveFolder } from "./paths.js";
import { takeFromPool } from "./pool.js";
import { CONCURRENT_WORKTREE_CHANGE, concurrentRetryPause, gitAcrossWorktrees, MAX_CONCURRENT_RETRIES } from "./git-worktrees.js";
import { branchExists, PLAIN_BRANCH, takeKept } from "./continue.js";
import { askBase, objectFormatOf, resolveBase, resolveRepo, type Repo } from "./repo.js";
import { slugify, withSuffix } from "./slug.js";
import { claimStatus, removeStatus } from "./status.js";
import { branchFor, finish, lockReason, MAX_ATTEMPTS, statusFor, type AcquirePlan } from "./plan.js";
import type { WorktreeMeta } from "./workspace.js";


/** git's own words for "that name is taken": retried with the next suffix. */
const COLLISION = /already exists|cannot lock ref|already checked out|already used by worktree|already registered/i;

/**
 * Checks every input, then makes (or reuses) a worktree. Bad input leaves nothing behind. A run that
 * continues another (`continueFrom`) gets that run's kept worktree, or a new one on its branch; a
 * named run whose branch exists follows `branchExists` (`new` by default, said in `notes`).
 */
export async function acquire(options: WorktreeOptions, request: AcquireRequest): Promise<Workspace<WorktreeMeta>> {
  throwIfAborted(request.signal);
  // HEAD (the default base) names the same commit from any folder of the checkout: asked while the
  // repository is, taken only once the repository checks out (its errors come first).
  const headEarly = options.base === "HEAD" ? askBase(request.cwd, "HEAD") : undefined;
  headEarly?.catch(() => {});
  const repo = await resolveRepo(request.cwd);
  const continued = request.continueFrom;
  // The read-only questions of a plain run (no branch given, none continued) do not depend on each
  // other: git is asked them side by side, and their answers (or errors) are taken in the order below.
  const ahead = continued || options.branch !== undefined || options.detach ? undefined : askAhead(repo, options, request);
  const base = await resolveBase(repo, options.base, headEarly);
  if (continued) {
    await checkBranchName(repo, continued.branch, "branch");
    if (!(await branchExists(repo, continued.branch))) throw new BranchGoneError(continued.branch);
  }
  const reuseBranch = options.reuse || request.branchExists === "reuse";
  let explicitBranch = continued
    ? { name: continued.branch, exists: true }
    : options.branch === undefined
      ? undefined
      : await checkExplicitBranch(repo, options.branch, reuseBranch, request.branchExists);
  if (!options.detach && !explicitBranch) await (ahead?.prefixChecked ?? checkBranchName(repo, `${options.branchPrefix}x`, "branchPrefix"));
  const slug = continued ? slugify(continued.path ? basename(continued.path) : continued.branch.replace(/^.*\//, "")) : slugify(request.name ?? options.branch ?? request.runId);
  // A named run's branch that exists already: refused, continued, or (the default) another name, said.
  const notes: string[] = [];
  if (!options.detach && !explicitBranch) {
    const wanted = `${options.branchPrefix}${slug}`;
    if (await (ahead?.wanted === wanted ? ahead.wantedExists : branchExists(repo, wanted))) {
      if (request.branchExists === "fail") throw new BranchExistsError(wanted, RESUME_HINT);
      if (request.branchExists === "reuse") explicitBranch = { name: wanted, exists: true };
      else notes.push(`The branch ${wanted} exists already, so this run works on a new branch (named below). To continue ${wanted} instead: --branch-exists reuse, or corral run --resume <run>; --branch-exists fail refuses.`);
    }
  }
  const baseDir = await prepareBaseDir(repo, options.baseDir);
  await ensureExcluded(repo, excludePatterns(repo, baseDir));
  const baseBranch = continued?.baseBranch ?? base.branch;
  const plan: AcquirePlan = {
    repo,
    branchPrefix: options.branchPrefix,
    baseDir,
    baseRef: options.base,
    baseCommit: explicitBranch?.exists ? await tip(repo, explicitBranch.name) : base.commit,
    ...(baseBranch ? { baseBranch } : {}),
    slug,
    ...(explicitBranch ? { explicitBranch } : {}),
    ...(ahead?.objectFormat ? { objectFormat: ahead.objectFormat } : {}),
    request,
  };
  throwIfAborted(request.signal);
  const withNotes = (workspace: Workspace<WorktreeMeta>) => (notes.length ? { ...workspace, notes } : workspace);
  // An existing branch continued (resume, reuse): its kept worktree, when one holds it, is the place.
  if (explicitBranch?.exists) {
    const kept = await takeKept(plan, continued?.path, explicitBranch.name);
    if (kept) return kept;
  }
  if (options.reuse) {
    const reused = await takeFromPool(options, plan);
    if (reused) return withNotes(reused);
  }
  return withNotes(await createFresh(options, plan));
}

/**
 * A plain run's git questions, started now and awaited later: whether the branch prefix is a valid
 * branch name, whether the run's branch exists, and (no run git dir to say it) the object format.
 * Each promise is marked handled, so one that fails before its turn is not an unhandled rejection.
 */
function askAhead(repo: Repo, options: WorktreeOptions, request: AcquireRequest) {
  const handled = <T>(promise: Promise<T>): Promise<T> => {
    promise.catch(() => {});
    return promise;
  };
  let wanted: string | undefined;
  try {
    wanted = `${options.branchPrefix}${slugify(request.name ?? request.runId)}`;
  } catch {
    wanted = undefined; // slugify's own error is thrown in its turn
  }
  return {
    prefixChecked: handled(checkBranchName(repo, `${options.branchPrefix}x`, "branchPrefix")),
    wanted,
    wantedExists: wanted === undefined ? undefined : handled(branchExists(repo, wanted)),
    objectFormat: request.sandboxed === false ? handled(objectFormatOf(repo)) : undefined,
  };
}

/** What an `E_BRANCH_EXISTS` from `branchExists: "fail"` says to do. */
const RESUME_HINT = "Continue that run with `corral run --resume <run>`, continue on the branch with --branch-exists reuse, let corral pick another branch with --branch-exists new, or pick another --name.";

async function createFresh(options: WorktreeOptions, plan: AcquirePlan): Promise<Workspace<WorktreeMeta>> {
  const { repo, request } = plan;
  let concurrentRetries = 0;
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
      if (CONCURRENT_WORKTREE_CHANGE.test(r.stderr) && concurrentRetries++ < MAX_CONCURRENT_RETRIES) {
        // git creates a `-b` branch before it fails here; that branch is ours (we hold the slug) and empty.
        if (branch && !plan.explicitBranch) await gitAcrossWorktrees(["branch", "-D", "--", branch], { cwd: repo.root, allowFailure: true });
        await concurrentRetryPause();
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
      await gitAcrossWorktrees(["worktree", "remove", "--force", "--force", path], { cwd: repo.root, allowFailure: true });
      if (branch && !plan.explicitBranch) await gitAcrossWorktrees(["branch", "-D", "--", branch], { cwd: repo.root, allowFailure: true });
      await removeStatus(repo, slug);
      throw error;
    }
  }
  throw new WorktreeCreationError(`Every name from "${plan.slug}" to "${withSuffix(plan.slug, MAX_ATTEMPTS)}" is taken.`, {
    hint: "Prune old worktrees (`corral worktrees prune`) and branches, or pick another run name.",
  });
}

async function checkExplicitBranch(repo: Repo, name: string, reuse: boolean, asked: AcquireRequest["branchExists"]): Promise<{ name: string; exists: boolean }> {
  await checkBranchName(repo, name, "branch");
  const exists = await branchExists(repo, name);
  // An explicit branch is never renamed: `new` cannot apply to it.
  if (exists && !reuse) throw new BranchExistsError(name, asked === "fail" ? RESUME_HINT : undefined);
  return { name, exists };
}

async function checkBranchName(repo: Repo, name: string, field: string): Promise<void> {
  // A plain name (no dot, `@`, space or other character git's rules are about; not HEAD) is valid for every git.
  const plain = PLAIN_BRANCH.test(name) && name !== "HEAD";
  const ok = plain || (!name.startsWith("-") && (await git(["check-ref-format", "--branch", name], { cwd: repo.root, allowFailure: true })).exitCode === 0);
  if (!ok) throw new UnsafePathError(`The ${field} "${name}" is not a valid git branch name.`, { hint: "Use letters, digits, '/', '.', '_' and '-' (see `git check-ref-format`)." });
}

async function tip(repo: Repo, branch: string): Promise<string> {
  return (await git(["rev-parse", "--verify", `refs/heads/${branch}^{commit}`], { cwd: repo.root })).stdout.trim();
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}
