import { z } from "zod";

/** Options of the `worktree` isolation. */
export const worktreeOptions = z
  .object({
    /** Where worktrees go: relative to the repository root (must stay inside it), or absolute. */
    baseDir: z.string().min(1).default(".corral/worktrees"),
    /** The ref each run starts from. */
    base: z.string().min(1).default("HEAD"),
    /** Prefix of the branch made for each run: `corral/<name-or-run-id>`. */
    branchPrefix: z.string().default("corral/"),
    /** Use exactly this branch (no suffixing). Refused when it exists, unless `reuse` is on. */
    branch: z.string().min(1).optional(),
    /** Check the base out on a detached HEAD instead of a branch. */
    detach: z.boolean().default(false),
    /** Delete the run's branch on release, when that loses nothing (no commits, or merged back). */
    deleteBranch: z.boolean().default(false),
    /** Uncommitted changes at release: `keep` the worktree (default) or `commit` them as a WIP commit first. */
    uncommitted: z.enum(["keep", "commit"]).default("keep"),
    /** After a succeeded run: `none`, `merge` (fast-forward when possible), `squash` or `rebase` (its commits replayed on top) into the base branch. */
    mergeBack: z.enum(["none", "merge", "squash", "rebase"]).default("none"),
    /** Keep the worktree of a failed or aborted run for inspection (the branch is always kept). */
    keepFailed: z.boolean().default(false),
    /** Pool released worktrees and hand them to the next run (switching branch and base); also continues an existing explicit `branch`. */
    reuse: z.boolean().default(false),
    /** How many clean worktrees the pool keeps per base folder. */
    poolSize: z.number().int().min(1).max(64).default(2),
  })
  .strict()
  .refine((o) => !(o.detach && o.branch !== undefined), { message: "detach and branch exclude each other", path: ["detach"] })
  .refine((o) => !(o.detach && o.mergeBack !== "none"), { message: "mergeBack needs a branch; drop detach", path: ["mergeBack"] });

/** The `worktree` isolation's options after validation, every default filled in. */
export type WorktreeOptions = z.output<typeof worktreeOptions>;
/** The `worktree` isolation's options as a user writes them (in `worktree({...})` or corral.config.*): every key optional. */
export type WorktreeOptionsInput = z.input<typeof worktreeOptions>;
