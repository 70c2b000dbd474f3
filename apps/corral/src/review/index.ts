/**
 * Reviewing and taking a run's work: its diff and commits, merging it, a pull request, throwing it
 * away. Host-side git runs only in the user's main checkout, never in a run's worktree or git dir.
 */
export { runChange, fleetChanges, changeOf, reviewLocation } from "./change.js";
export type { RunChange } from "./change.js";
export { diffRun, logRun } from "./diff.js";
export type { DiffFile, RunDiff, RunCommit } from "./diff.js";
export { mergeRun } from "./merge.js";
export type { RunMergeMode, RunMergeResult } from "./merge.js";
export { pullRequest, compareUrlOf } from "./pr.js";
export type { PullRequestOptions, PullRequestResult } from "./pr.js";
export { discardRun, cleanBranches, branchStanding } from "./branches.js";
export type { BranchCleanup, BranchStanding, DiscardResult } from "./branches.js";
