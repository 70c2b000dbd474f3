import { defineIsolation, packageVersion, type Isolation } from "@corral/core";
import { acquire } from "./acquire.js";
import { listWorktrees, reclaimWorktrees, removeWorktree } from "./manage.js";
import { worktreeOptions, type WorktreeOptionsInput } from "./options.js";
import { release } from "./release.js";
import type { WorktreeMeta } from "./workspace.js";

/**
 * The `worktree` isolation: every run on its own git worktree (`.corral/worktrees/<name>`) and
 * branch (`corral/<name>`), locked while the run lives, released without ever losing work. The
 * agent commits in a git dir of the run's own; its branch comes back through a verified transfer.
 */
export const worktreeIsolation = defineIsolation({
  name: "worktree",
  version: packageVersion(import.meta.url),
  packageName: "@corral/worktree-git",
  description: "A git worktree and branch per run",
  options: worktreeOptions,
  create: (options): Isolation<WorktreeMeta> => ({
    name: "worktree",
    requiresGit: true,
    fromCommit: true,
    acquire: (request) => acquire(options, request),
    release: (workspace, releaseOptions) => release(options, workspace, releaseOptions),
    // What `corral clean` and `corral worktrees` call (core's optional capabilities).
    reclaim: (request) => reclaimWorktrees(request),
    listWorkspaces: async (repoRoot) => (await listWorktrees(repoRoot)).map((w) => ({ id: w.slug, ...w })),
    removeWorkspace: (repoRoot, target, removeOptions) => removeWorktree(repoRoot, target, removeOptions),
  }),
});

/** `run({ isolation: worktree({ mergeBack: "squash" }) })` */
export const worktree = (options?: WorktreeOptionsInput) => worktreeIsolation.configure(options);
