/**
 * @corral/worktree-git — the `worktree` isolation: a git worktree and branch per run, safely and
 * in parallel, plus the management API behind `corral worktrees list|remove|prune`.
 */
import { worktreeIsolation } from "./plugin.js";

export { worktree, worktreeIsolation } from "./plugin.js";
export { worktreeOptions } from "./options.js";
export type { WorktreeOptions, WorktreeOptionsInput } from "./options.js";
export { listWorktrees, lockWorktree, pruneWorktrees, reclaimWorktrees, removeWorktree, unlockWorktree, worktreeInfo } from "./manage.js";
export type { PruneEntry, PruneResult, WorktreeInfo, WorktreeState } from "./manage.js";
export type { MergeBackResult } from "./merge.js";
export type { WorktreeMeta } from "./workspace.js";
export { slugify } from "./slug.js";
export {
  BranchExistsError,
  BranchGoneError,
  NotGitRepositoryError,
  UnknownRefError,
  UnsafePathError,
  WorktreeCreationError,
  WorktreeLockError,
  WorktreeRemovalError,
} from "./errors.js";

export default worktreeIsolation;
