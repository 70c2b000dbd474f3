import { git } from "@corral/core/plugin-kit";
import { gitMessage } from "./errors.js";
import { gitWorktrees } from "./git-worktrees.js";
import type { Repo } from "./repo.js";
import { readAllStatuses } from "./status.js";

export type MergeMode = "merge" | "squash";

/** What the `mergeBack` option did on release: merged the run's branch into the base branch, or why not. */
export interface MergeBackResult {
  /** True when the base branch now holds the run's work; false when skipped, nothing to merge, or stopped on a conflict. */
  merged: boolean;
  /** The base branch's new tip when merged. */
  commit?: string;
  /** Files in conflict, when the merge stopped on one. */
  conflicts?: string[];
  /** One line for the user saying what happened (and, when not merged, that the run's branch is kept). */
  note: string;
}

/**
 * Merges the run's branch into its base branch. The result is computed first without touching any
 * checkout (`git merge-tree`), so a conflict changes nothing; then the base branch moves by a
 * fast-forward to it: `git merge --ff-only` in the checkout that has it (which must be clean), or a
 * compare-and-swap `update-ref` when no checkout has it.
 */
export async function mergeBack(repo: Repo, options: { mode: MergeMode; branch: string; baseBranch: string | undefined; runId: string }): Promise<MergeBackResult> {
  const { mode, branch, baseBranch } = options;
  if (!baseBranch) return { merged: false, note: `Merge-back skipped: the run did not start from a branch; ${branch} is kept.` };
  const rev = async (ref: string) => (await git(["rev-parse", "--verify", `${ref}^{commit}`], { cwd: repo.root })).stdout.trim();
  const runTip = await rev(`refs/heads/${branch}`);
  const baseTip = await rev(`refs/heads/${baseBranch}`);
  const isAncestor = async (a: string, b: string) => (await git(["merge-base", "--is-ancestor", a, b], { cwd: repo.root, allowFailure: true })).exitCode === 0;
  if (await isAncestor(runTip, baseTip)) return { merged: false, note: `Nothing to merge: ${baseBranch} already contains ${branch}.` };

  const holder = (await gitWorktrees(repo)).find((w) => w.branch === `refs/heads/${baseBranch}`);
  // Another run's worktree is the agent's to rewrite: corral never runs git in it from here.
  if (holder && (await readAllStatuses(repo)).some((s) => s.path === holder.path)) {
    return { merged: false, note: `Merge-back skipped: ${baseBranch} is checked out in the corral worktree ${holder.path}; ${branch} is kept.` };
  }
  if (holder) {
    const dirty = await git(["status", "--porcelain", "--untracked-files=no"], { cwd: holder.path });
    if (dirty.stdout.trim()) {
      return { merged: false, note: `Merge-back skipped: ${holder.path} (on ${baseBranch}) has uncommitted changes; ${branch} is kept, merge it yourself later.` };
    }
  }

  let target: string;
  let how: string;
  if (mode === "merge" && (await isAncestor(baseTip, runTip))) {
    target = runTip;
    how = "fast-forwarded";
  } else {
    const tree = await git(["merge-tree", "--write-tree", "--name-only", "--no-messages", baseTip, runTip], { cwd: repo.root, allowFailure: true });
    if (tree.exitCode === 1) {
      const conflicts = [...new Set(tree.stdout.split("\n").slice(1).filter(Boolean))];
      return { merged: false, conflicts, note: `Merge-back of ${branch} into ${baseBranch} stopped on a conflict in ${conflicts.join(", ")}; nothing was changed and ${branch} is kept.` };
    }
    if (tree.exitCode !== 0) return { merged: false, note: `Merge-back failed: ${gitMessage(tree)}; nothing was changed.` };
    const treeId = tree.stdout.split("\n")[0]!.trim();
    const subjects = (await git(["log", "--reverse", "--format=- %s", `${baseTip}..${runTip}`], { cwd: repo.root })).stdout;
    const message =
      mode === "squash"
        ? `Squash ${branch} (corral run ${options.runId})\n\n${subjects}\n`
        : `Merge branch '${branch}' into ${baseBranch} (corral run ${options.runId})\n`;
    const parents = mode === "squash" ? ["-p", baseTip] : ["-p", baseTip, "-p", runTip];
    const commit = await git(["commit-tree", treeId, ...parents, "-F", "-"], { cwd: repo.root, input: message, allowFailure: true });
    if (commit.exitCode !== 0) return { merged: false, note: `Merge-back failed: ${gitMessage(commit)}; nothing was changed.` };
    target = commit.stdout.trim();
    how = mode === "squash" ? "squashed" : "merged";
  }

  const apply = holder
    ? await git(["merge", "--ff-only", "--quiet", target], { cwd: holder.path, allowFailure: true })
    : await git(["update-ref", "-m", `corral: merge-back of ${branch}`, `refs/heads/${baseBranch}`, target, baseTip], { cwd: repo.root, allowFailure: true });
  if (apply.exitCode !== 0) {
    return { merged: false, note: `Merge-back of ${branch} into ${baseBranch} failed: ${gitMessage(apply)}; nothing was changed and ${branch} is kept.` };
  }
  return { merged: true, commit: target, note: `${branch} ${how} into ${baseBranch} (${target.slice(0, 12)}).` };
}
