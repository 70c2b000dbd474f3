import { realpath } from "node:fs/promises";
import { join } from "node:path";
import { CorralError, UsageError } from "@corral/core";
import { computeMerge, git, gitMessage, swapRef, type MergeStrategy } from "@corral/core/plugin-kit";
import { listRuns } from "../journal/reader.js";
import { journalLocation } from "../journal/root.js";
import { assertRunOver, branchTip, isAncestor, isBranchName, type RunChange } from "./change.js";
import { logRun } from "./diff.js";

/** How `mergeRun` takes the run's work (core's `MergeStrategy`): `merge`, `squash`, `rebase`, `ff-only`. */
export type RunMergeMode = MergeStrategy;

/** What `mergeRun` did. */
export interface RunMergeResult {
  /** The branch merged into. */
  into: string;
  /** How. */
  mode: RunMergeMode;
  /** False when the target held the run's work already (nothing changed). */
  merged: boolean;
  /** Whether the target moved by a fast-forward to the run's own tip. */
  fastForward: boolean;
  /** The target's commit before. */
  before: string;
  /** The target's commit after (the same as `before` when nothing was merged). */
  after: string;
  /** The checkout that has the target checked out, whose files were updated too. */
  checkout?: string;
}

/**
 * Merges a finished run's branch into its base branch (or `into`). Nothing is half-done: the result
 * is computed in the object store first (`git merge-tree`, `commit-tree`), touching no checkout, so a
 * conflict changes nothing; then the target moves by a fast-forward — `git merge --ff-only` in the
 * clean checkout that has it (refused when it has uncommitted changes), or a compare-and-swap of the
 * ref when none does. Git runs in the user's checkout only: never in a run's worktree or git dir.
 */
export async function mergeRun(change: RunChange, options: { mode?: RunMergeMode; into?: string } = {}): Promise<RunMergeResult> {
  const mode = options.mode ?? "merge";
  assertRunOver(change.run);
  const { repoRoot } = change;
  const branch = change.branch ?? "";
  if (!change.branch) throw new CorralError("E_RUN_NO_BRANCH", `Run ${change.run.id} has no branch to merge (it worked in place: its commits are on your branch already).`);
  const into = options.into ?? change.baseBranch;
  if (!into) throw new UsageError(`Run ${change.run.id} did not start from a branch, so there is no base branch to merge into.`, { hint: "Name the branch: --into main." });
  if (!(await isBranchName(repoRoot, into))) throw new UsageError(`"${into}" is not a valid branch name.`, { hint: "e.g. --into main" });
  if (into === branch) throw new UsageError(`${branch} cannot be merged into itself.`, { hint: "Name another branch with --into." });
  const before = await branchTip(repoRoot, into);
  if (!before) throw new CorralError("E_MERGE_REFUSED", `There is no branch ${into} to merge into.`, { hint: "`git branch` lists the branches; pass one with --into." });
  const result = { into, mode, before, fastForward: false };
  if (await isAncestor(repoRoot, change.tip, before)) return { ...result, merged: false, after: before };

  const checkout = await checkoutOf(repoRoot, into);
  if (checkout) await assertClean(checkout, into);

  const message = mode === "squash" ? await squashMessage(change) : `Merge branch '${branch}' into ${into}\n\ncorral run ${change.run.id}\n`;
  const computed = await computeMerge(repoRoot, before, change.tip, { strategy: mode, message, names: { from: branch, into } });
  if (!computed) return { ...result, merged: false, after: before };
  const target = computed.commit;
  result.fastForward = computed.fastForward;

  if (checkout) {
    // The target's checkout gets the files too; --ff-only refuses (and changes nothing) if it moved or a file is in the way.
    if ((await headBranch(checkout)) !== into) throw refused(`${checkout} no longer has ${into} checked out`);
    const ff = await git(["merge", "--ff-only", "--quiet", "--no-stat", target], { cwd: checkout, allowFailure: true });
    if (ff.exitCode !== 0) throw refused(`updating ${checkout} failed: ${gitMessage(ff.stderr || ff.stdout)}`);
  } else {
    const swap = await swapRef(repoRoot, `refs/heads/${into}`, target, before, { message: `corral merge: ${mode} ${branch} (run ${change.run.id})` });
    if (!swap.ok) throw refused(`${into} moved while merging (${swap.reason})`);
  }
  return { ...result, merged: true, after: target, ...(checkout ? { checkout } : {}) };
}

const refused = (why: string) => new CorralError("E_MERGE_REFUSED", `The merge stopped: ${why}; nothing was changed.`, { hint: "Run the command again." });

async function squashMessage(change: RunChange): Promise<string> {
  const commits = await logRun(change);
  const prompt = typeof change.run.options.prompt === "string" ? change.run.options.prompt.split("\n")[0]!.trim().slice(0, 72) : "";
  const title = prompt || `Squashed ${change.branch}`;
  return `${title}\n\n${commits.map((c) => `- ${c.subject}`).join("\n")}\n\ncorral run ${change.run.id} (${change.branch})\n`;
}

/** The checkout (main or a linked worktree) that has `branch` checked out, if any. A run's worktree is refused: it is the agent's. */
async function checkoutOf(repoRoot: string, branch: string): Promise<string | undefined> {
  const out = (await git(["worktree", "list", "--porcelain", "-z"], { cwd: repoRoot })).stdout;
  let path: string | undefined;
  let holder: string | undefined;
  for (const field of out.split("\0")) {
    if (field.startsWith("worktree ")) path = field.slice(9);
    else if (field === `branch refs/heads/${branch}`) holder = path;
  }
  if (!holder) return undefined;
  const real = await realpath(holder).catch(() => holder!);
  const runs = await listRuns((await journalLocation(repoRoot)).root);
  const runWorktrees = await Promise.all(runs.filter((r) => r.workspace && r.workspace !== repoRoot).map((r) => realpath(r.workspace!).catch(() => r.workspace!)));
  if (real.startsWith(join(await realpath(repoRoot), ".corral") + "/") || runWorktrees.includes(real)) {
    throw new CorralError("E_MERGE_REFUSED", `${branch} is checked out in a run's worktree (${holder}): corral never runs git there; nothing was changed.`, { hint: "Discard that run (corral discard) or check the branch out elsewhere." });
  }
  return holder;
}

async function headBranch(checkout: string): Promise<string | undefined> {
  const r = await git(["symbolic-ref", "--quiet", "HEAD"], { cwd: checkout, allowFailure: true });
  return r.exitCode === 0 ? r.stdout.trim().replace(/^refs\/heads\//, "") : undefined;
}

/** Refuses a checkout with uncommitted changes (staged or not) to tracked files, or a merge, rebase or cherry-pick under way. */
async function assertClean(checkout: string, branch: string): Promise<void> {
  const status = await git(["status", "--porcelain=v1", "-z", "--untracked-files=no", "--ignore-submodules=all"], { cwd: checkout });
  const dirty = status.stdout.split("\0").filter(Boolean).map((line) => line.slice(3));
  if (dirty.length) {
    throw Object.assign(
      new CorralError("E_MERGE_DIRTY", `${checkout} (on ${branch}) has uncommitted changes in ${dirty.length} file(s): ${dirty.slice(0, 5).join(", ")}${dirty.length > 5 ? ", …" : ""}. Nothing was merged.`, {
        hint: "Commit or stash them (git stash), then run corral merge again.",
      }),
      { files: dirty },
    );
  }
  const gitDir = (await git(["rev-parse", "--absolute-git-dir"], { cwd: checkout })).stdout.trim();
  for (const marker of ["MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply"]) {
    const exists = await realpath(join(gitDir, marker)).then(() => true, () => false);
    if (exists) throw new CorralError("E_MERGE_DIRTY", `${checkout} is in the middle of a ${marker.replace(/_HEAD$|-.*$/, "").toLowerCase()}. Nothing was merged.`, { hint: "Finish or abort it first." });
  }
}
