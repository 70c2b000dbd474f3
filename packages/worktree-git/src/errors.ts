import { IsolationError } from "@corral/core";

/** The folder is not (usable as) a git repository: not a repository, bare, or without any commit. */
export class NotGitRepositoryError extends IsolationError {
  constructor(message: string, options: { hint?: string; cause?: unknown; code?: "E_NOT_GIT_REPOSITORY" | "E_BARE_REPOSITORY" | "E_EMPTY_REPOSITORY" } = {}) {
    super(message, {
      hint: "Run corral inside a git repository with at least one commit, or use the in-place isolation (--isolation in-place).",
      ...options,
      code: options.code ?? "E_NOT_GIT_REPOSITORY",
    });
  }
}

/** The base ref (or an explicit branch's start point) does not name a commit. */
export class UnknownRefError extends IsolationError {
  /** The ref as it was given. */
  readonly ref: string;
  constructor(ref: string, options: { cause?: unknown } = {}) {
    super(`The ref "${ref}" does not name a commit in this repository.`, {
      hint: "Pass an existing branch, tag or commit as the base (e.g. base: \"main\"); `git branch -a` lists them.",
      code: "E_UNKNOWN_REF",
      ...options,
    });
    this.ref = ref;
  }
}

/** An explicitly named branch already exists and reuse is off. */
export class BranchExistsError extends IsolationError {
  /** The branch that exists. */
  readonly branch: string;
  constructor(branch: string, hint?: string) {
    super(`The branch "${branch}" already exists.`, {
      hint: hint ?? "Pick another branch name, delete the branch, or set reuse: true to continue on the existing branch.",
      code: "E_BRANCH_EXISTS",
    });
    this.branch = branch;
  }
}

/** The branch of the run to continue is gone (deleted, discarded, merged and cleaned). */
export class BranchGoneError extends IsolationError {
  /** The branch that is gone. */
  readonly branch: string;
  constructor(branch: string) {
    super(`The branch "${branch}" of the run to continue no longer exists.`, {
      code: "E_BRANCH_GONE",
      hint: "Start a new run instead (corral run --name …), or restore the branch (git reflog shows its last commit) and resume again.",
    });
    this.branch = branch;
  }
}

/** git could not create the worktree, or every name for it (the slug and its numbered suffixes) is taken. */
export class WorktreeCreationError extends IsolationError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { hint: "Read git's message above; `git worktree list` shows existing worktrees.", ...options, code: "E_WORKTREE_CREATION" });
  }
}

/** A worktree could not be removed: git failed, or `removeWorktree` refused one whose run lives or that has uncommitted changes (without `force`). */
export class WorktreeRemovalError extends IsolationError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { hint: "Inspect the worktree; `corral worktrees remove --force <name>` removes it anyway.", ...options, code: "E_WORKTREE_REMOVAL" });
  }
}

/** git could not lock or unlock a worktree (`lockWorktree`, `unlockWorktree`). */
export class WorktreeLockError extends IsolationError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { hint: "`corral worktrees list` shows which worktrees exist and who holds them.", ...options, code: "E_WORKTREE_LOCK" });
  }
}

/** A name or folder that would put a worktree outside its allowed root, or cannot be made safe. */
export class UnsafePathError extends IsolationError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { hint: "Use a run name with letters, digits, '.', '_' or '-', and a base folder inside the repository.", ...options, code: "E_UNSAFE_PATH" });
  }
}

/** The message of a failed git() call, without git's noise. */
export function gitMessage(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(error)).replace(/^fatal: /gm, "");
}

/** The folder worktrees are made in cannot be written (read-only, not ours), or its disk is full. */
export class BaseUnwritableError extends IsolationError {
  constructor(path: string, cause: NodeJS.ErrnoException) {
    const full = cause.code === "ENOSPC" || cause.code === "EDQUOT";
    super(full ? `No space left on the disk of the worktree folder ${path} (${cause.code}).` : `corral cannot make worktrees in ${path} (${cause.code ?? cause.message}).`, {
      cause,
      code: full ? "E_DISK_FULL" : "E_WORKTREE_BASE_UNWRITABLE",
      hint: full
        ? "Free some space there (`df -h` shows it; `corral worktrees prune` removes old runs' worktrees), then run again."
        : "Make the folder writable, or set the worktree isolation's baseDir to a folder you can write (e.g. isolation: { name: \"worktree\", options: { baseDir: \"/tmp/corral-worktrees\" } }).",
    });
  }
}

/** A base-folder write error as a typed one; anything else as it was. */
export function baseWriteError(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  return code && ["EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT"].includes(code) ? new BaseUnwritableError(path, error as NodeJS.ErrnoException) : error;
}
