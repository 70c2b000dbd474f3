import { computeMerge, git, type ComputedMerge } from "@corral/core/plugin-kit";
import { gitMessage } from "./errors.js";
import { gitWorktrees } from "./git-worktrees.js";
import type { Repo } from "./repo.js";
import { readAllStatuses } from "./status.js";

/** How a succeeded run's branch is merged into its base (a `MergeStrategy` of core's). */
export type MergeMode = "merge" | "squash" | "rebase";

/** What the `mergeBack` option did on release: merged the run's branch into the base branch, or why not. */
export interface MergeBackResult {
  /** True when the base branch now holds the run's work; false when skipped, nothing to merge, or stopped on a conflict. */
  merged: boolean;
  /** The base branch's new tip when merged. */
  commit?: string;
  /** True when a merge was asked for and could not be made (a conflict, a dirty or foreign checkout, git refused): the run is not a success. */
  failed?: boolean;
  /** Files in conflict, when the merge stopped on one. */
  conflicts?: string[];
  /** One line for the user saying what happened (and, when not merged, that the run's branch is kept). */
  note: string;
}

/** Merges into one target (repository and branch) wait for each other in this process: one at a time. */
const mergesInto = new Map<string, Promise<unknown>>();

/** How often a merge is computed again when the target moved between computing and applying it (another process merged first). */
const MERGE_ATTEMPTS = 5;

/**
 * Merges the run's branch into its base branch. Merges into one target are serialised (a fleet's
 * tasks finish together), and each is computed against the target's tip of the moment: when the
 * target moved before the result could be applied (a merge from another process), it is computed
 * again against the new tip. The result is computed first without touching any checkout
 * (`git merge-tree`), so a conflict changes nothing; then the base branch moves by a fast-forward to
 * it: `git merge --ff-only` in the checkout that has it (which must be clean), or a compare-and-swap
 * `update-ref` when no checkout has it.
 */
export async function mergeBack(repo: Repo, options: { mode: MergeMode; branch: string; baseBranch: string | undefined; runId: string }): Promise<MergeBackResult> {
  if (!options.baseBranch) return { merged: false, note: `Merge-back skipped: the run did not start from a branch; ${options.branch} is kept.` };
  const key = `${repo.commonDir}\0${options.baseBranch}`;
  const before = mergesInto.get(key) ?? Promise.resolve();
  const mine = before.then(async () => {
    for (let attempt = 1; ; attempt++) {
      const result = await mergeOnce(repo, { ...options, baseBranch: options.baseBranch! });
      if (!result.moved || attempt === MERGE_ATTEMPTS) return result.outcome;
    }
  });
  const settled = mine.catch(() => {});
  mergesInto.set(key, settled);
  try {
    return await mine;
  } finally {
    if (mergesInto.get(key) === settled) mergesInto.delete(key);
  }
}

/** One attempt; `moved`: the target was no longer where the merge was computed from, so try again. */
async function mergeOnce(repo: Repo, options: { mode: MergeMode; branch: string; baseBranch: string; runId: string }): Promise<{ outcome: MergeBackResult; moved?: true }> {
  const { mode, branch, baseBranch } = options;
  const done = (outcome: MergeBackResult) => ({ outcome });
  const rev = async (ref: string) => (await git(["rev-parse", "--verify", `${ref}^{commit}`], { cwd: repo.root })).stdout.trim();
  const runTip = await rev(`refs/heads/${branch}`);
  const baseTip = await rev(`refs/heads/${baseBranch}`);
  const isAncestor = async (a: string, b: string) => (await git(["merge-base", "--is-ancestor", a, b], { cwd: repo.root, allowFailure: true })).exitCode === 0;
  if (await isAncestor(runTip, baseTip)) return done({ merged: false, note: `Nothing to merge: ${baseBranch} already contains ${branch}.` });

  const holder = (await gitWorktrees(repo)).find((w) => w.branch === `refs/heads/${baseBranch}`);
  // Another run's worktree is the agent's to rewrite: corral never runs git in it from here.
  if (holder && (await readAllStatuses(repo)).some((s) => s.path === holder.path)) {
    return done({ merged: false, failed: true, note: `Merge-back skipped: ${baseBranch} is checked out in the corral worktree ${holder.path}; ${branch} is kept.` });
  }
  if (holder) {
    const dirty = await git(["status", "--porcelain", "--untracked-files=no"], { cwd: holder.path });
    if (dirty.stdout.trim()) {
      return done({ merged: false, failed: true, note: `Merge-back skipped: ${holder.path} (on ${baseBranch}) has uncommitted changes; ${branch} is kept, merge it yourself later.` });
    }
  }

  const subjects = (await git(["log", "--reverse", "--format=- %s", `${baseTip}..${runTip}`], { cwd: repo.root })).stdout;
  const message = mode === "squash" ? `Squash ${branch} (corral run ${options.runId})\n\n${subjects}\n` : `Merge branch '${branch}' into ${baseBranch} (corral run ${options.runId})\n`;
  let computed: ComputedMerge | undefined;
  try {
    computed = await computeMerge(repo.root, baseTip, runTip, { strategy: mode, message, names: { from: branch, into: baseBranch } });
  } catch (error) {
    const conflicts = (error as { files?: string[] }).files;
    if (conflicts) return done({ merged: false, failed: true, conflicts, note: `Merge-back of ${branch} into ${baseBranch} stopped on a conflict in ${conflicts.join(", ")}; nothing was changed and ${branch} is kept.` });
    return done({ merged: false, failed: true, note: `Merge-back of ${branch} into ${baseBranch} failed: ${(error as Error).message}; ${branch} is kept.` });
  }
  if (!computed) return done({ merged: false, note: `Nothing to merge: ${baseBranch} already contains ${branch}.` });
  const target = computed.commit;
  const how = computed.fastForward ? "fast-forwarded" : { merge: "merged", squash: "squashed", rebase: "rebased" }[mode];

  const apply = holder
    ? await git(["merge", "--ff-only", "--quiet", target], { cwd: holder.path, allowFailure: true })
    : await git(["update-ref", "-m", `corral: merge-back of ${branch}`, `refs/heads/${baseBranch}`, target, baseTip], { cwd: repo.root, allowFailure: true });
  if (apply.exitCode !== 0) {
    const failed = { merged: false, failed: true, note: `Merge-back of ${branch} into ${baseBranch} failed: ${gitMessage(apply)}; nothing was changed and ${branch} is kept.` } as const;
    // The target moved under us (another process merged first): compute it again from the new tip.
    return (await rev(`refs/heads/${baseBranch}`)) !== baseTip ? { outcome: failed, moved: true } : done(failed);
  }
  return done({ merged: true, commit: target, note: `${branch} ${how} into ${baseBranch} (${target.slice(0, 12)}).` });
}
