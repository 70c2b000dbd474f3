import { commitsSince, defineIsolation, git, packageVersion, type Isolation } from "@corral/core";
import { acquire } from "./acquire.js";
import { worktreeOptions, type WorktreeOptionsInput } from "./options.js";
import { release } from "./release.js";
import { inWorktree, metaOf, pinnedOf } from "./workspace.js";

/**
 * The `worktree` isolation: every run on its own git worktree (`.corral/worktrees/<name>`) and
 * branch (`corral/<name>`), locked while the run lives, released without ever losing work.
 */
export const worktreeIsolation = defineIsolation({
  name: "worktree",
  version: packageVersion(import.meta.url),
  packageName: "@corral/worktree-git",
  description: "A git worktree and branch per run",
  options: worktreeOptions,
  create: (options): Isolation => ({
    name: "worktree",
    requiresGit: true,
    acquire: (request) => acquire(options, request),
    async commits(workspace) {
      // Read from the main repository: the worktree's own `.git` file is the agent's to rewrite.
      const head = workspace.branch
        ? `refs/heads/${workspace.branch}`
        : (await git(["rev-parse", "HEAD"], inWorktree(pinnedOf(workspace)))).stdout.trim();
      return commitsSince(metaOf(workspace).root, workspace.baseCommit, head);
    },
    release: (workspace, releaseOptions) => release(options, workspace, releaseOptions),
  }),
});

/** `run({ isolation: worktree({ mergeBack: "squash" }) })` */
export const worktree = (options?: WorktreeOptionsInput) => worktreeIsolation.configure(options);
