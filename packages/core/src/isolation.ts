import type { GitMount } from "./sandbox.js";

/** The place a run works in, as an Isolation hands it out. */
/** `Meta`: what the isolation keeps for itself in `meta`, typed by the isolation that made it. */
export interface Workspace<Meta = unknown> {
  /** Root of the workspace (a worktree, or the checkout itself). */
  path: string;
  /** The agent's working directory: `path`, or a subfolder of it when the run started in one. */
  cwd: string;
  /** The repository the workspace belongs to (the main checkout), if any. */
  repoRoot?: string;
  /** The run's branch, if the isolation made one. */
  branch?: string;
  /** The branch the workspace was made from, if any. */
  baseBranch?: string;
  /** The commit the workspace started at. */
  baseCommit?: string;
  /**
   * The git data the sandbox must mount on top of the workspace: the run's own git dir
   * (read-write), the user's objects it borrows (read-only), and the workspace's `.git` pinned
   * read-only. Empty outside a git repository.
   */
  gitMounts: GitMount[];
  /**
   * The host path of the run's own git dir (the writable one of `gitMounts`), when it has one. A
   * copied workspace brings the sandbox's objects and the run's branch, reflog and HEAD back into
   * it (as data, regular files only) before `release`, which then takes them through its quarantine
   * as for a mounted run. An isolation without it cannot be used with a copied workspace.
   */
  runGitDir?: string;
  /** What the isolation wants the user to know about the workspace it handed out (e.g. the run's branch got another name); the run says each as a warning. */
  notes?: string[];
  /** Isolation-private data (e.g. a lock id). */
  meta?: Meta;
}

/** A commit the run made, as it now is in the user's repository. */
export interface Commit {
  /** Full object id. */
  sha: string;
  /** The first line of its message. */
  subject: string;
  /** `Name <email>`. */
  author: string;
  /** ISO 8601 */
  time: string;
  /** Paths it changed, relative to the repository root. */
  files: string[];
}

/** What `Isolation.acquire` gets. */
export interface AcquireRequest {
  /** Where the run was started (a repository or a folder inside one). */
  cwd: string;
  /** The run's id: record it with the workspace so `reclaim` can tell a dead run's from a live one's. */
  runId: string;
  /** Run name; used for the branch and folder names when given. */
  name?: string;
  /** Aborting it MUST stop `acquire` and leave nothing behind. */
  signal?: AbortSignal;
  /**
   * False when the sandbox shows the agent the host as it is (the `host` sandbox): git mounts would
   * not be applied, so the isolation hands out a plain checkout and reads the commits from the
   * user's repository. Default true.
   */
  sandboxed?: boolean;
  /**
   * What to do when the branch the run's name gives (e.g. `corral/fix-1`) exists already:
   * `new` (the default) makes another one (`corral/fix-1-2`) and says so in `Workspace.notes`;
   * `fail` MUST refuse with `E_BRANCH_EXISTS` and create nothing; `reuse` continues on the existing
   * branch (its tip is the new base). An isolation without branches ignores it.
   */
  branchExists?: BranchExists;
  /**
   * Continue an earlier run's work: on its `branch` (which MUST exist, else `E_BRANCH_GONE`; its tip
   * is the base), in its kept workspace at `path` when that is still there and no live run holds
   * it (its uncommitted files as they are), else in a new workspace on that branch. The isolation
   * MUST treat the kept workspace as hostile (agent-written) and give it a git dir of the run's own
   * as for any acquire. `baseBranch`: the earlier run's base branch, kept as the merge target.
   */
  continueFrom?: { branch: string; path?: string; baseBranch?: string };
}

/** `AcquireRequest.branchExists`: what to do when the run's branch exists already. */
export type BranchExists = "fail" | "new" | "reuse";

/** What `Isolation.release` gets besides the workspace. */
export interface ReleaseOptions {
  /** How the run ended: a failed run may be kept for inspection; an `incomplete` one is not a success (no merge-back). */
  outcome: "succeeded" | "incomplete" | "failed" | "aborted";
  /** Keep the workspace folder whatever its state (e.g. a setup hook failed and it needs inspecting). */
  keep?: boolean;
}

/** What `Isolation.release` did: the commits brought back, and what became of the workspace. */
export interface ReleaseResult {
  /** The commits the run made on its branch, oldest first, as they now are in the user's repository. */
  commits: Commit[];
  /** True when the workspace folder was removed. */
  removed: boolean;
  /** Set when the workspace was kept (e.g. it had uncommitted changes), with the reason. */
  keptReason?: string;
  /** Where uncommitted work is, when it was kept. */
  path?: string;
  /** How many files the agent changed without committing them (kept in `path`), when any. */
  uncommitted?: number;
  /** Anything the isolation wants the user to know (merge-back result, WIP commit…). */
  notes?: string[];
  /**
   * What the run did that it must not have, or work that could not be brought back safely (a ref
   * that is not a commit id, objects that fail verification, a planted corral config). A run with
   * problems is not a success.
   */
  problems?: string[];
  /**
   * Work that did not land where the run meant it to, though nothing of it is lost: commits the
   * run's git refused to put on its branch or its own reset dropped, a branch moved behind its base
   * (`E_COMMITS_DROPPED`), a merge-back that failed (`E_MERGE_BACK`). Each names the ref that keeps
   * the commits. A run with failures is not a success.
   */
  failures?: ReleaseFailure[];
  /** What the merge-back did, when the isolation was asked to merge the run's branch into its base. */
  merge?: MergeBackOutcome;
}

/** One way a run's work did not land where it was meant to (see `ReleaseResult.failures`). */
export interface ReleaseFailure {
  /** `E_COMMITS_DROPPED` or `E_MERGE_BACK`. */
  code: "E_COMMITS_DROPPED" | "E_MERGE_BACK";
  /** What happened and where the commits are kept, for the user. */
  message: string;
  /** The ref that keeps the commits reachable, when one was made or kept for them. */
  ref?: string;
}

/** What merging a run's branch into its base did. */
export interface MergeBackOutcome {
  /** The branch merged into. */
  into: string;
  /** True when `into` now holds the run's work. */
  merged: boolean;
  /** `into`'s new tip, when merged. */
  commit?: string;
  /** One line for the user. */
  message: string;
}

/**
 * An isolation provider: a plugin instance with its options applied.
 *
 * The trust boundary runs through it: everything in the workspace and in the run's git dir was
 * writable by the agent and is hostile data. An isolation MUST hand the sandbox a git dir of the
 * run's own (never the user's objects, refs, config, hooks or index writable), and MUST NOT let host
 * git read a config, hooks, `.git` file, index or attributes the agent could have written.
 */
export interface Isolation<Meta = unknown> {
  /** What users select it by (`--isolation <name>`); the plugin's name. */
  readonly name: string;
  /** True when this isolation needs a git repository (the CLI checks `--cwd` early). */
  readonly requiresGit?: boolean;
  /**
   * True when the workspace is made from the last commit, so uncommitted and untracked files of the
   * checkout are not in it (unless the run's `copy` brings them): the run says so before it starts.
   */
  readonly fromCommit?: boolean;
  /**
   * Gives the run its workspace: a folder (and, for git, a branch and base commit) of its own, and
   * the `gitMounts` that show the agent a git dir of the run's own. It MUST NOT touch a dirty tree
   * of the user's, and on failure MUST leave nothing behind.
   */
  acquire(request: AcquireRequest): Promise<Workspace<Meta>>;
  /**
   * Brings the run's work back and gives the workspace back. Called once, after the sandbox is
   * closed (nothing can write the workspace any more): verifies and transfers the run's branch into
   * the user's repository, reports its commits, then removes, pools or keeps the workspace. It MUST
   * never delete uncommitted work silently, and a kept workspace MUST be safe to open with git.
   */
  release(workspace: Workspace<Meta>, options: ReleaseOptions): Promise<ReleaseResult>;
  /**
   * Optional: gives back what runs that are over left in the repository at `repoRoot` (a run killed
   * with SIGKILL never released its workspace): what `corral clean` (one run, `runId`) and
   * `corral worktrees prune` (every run) call. It MUST bring a dead run's commits back before its
   * workspace goes, MUST keep the run's branch, MUST NOT touch a live run's workspace unless it
   * belongs to `runId` (the caller knows that run is over), and MUST keep a workspace with
   * uncommitted work (action `kept`, its count in `uncommitted`) unless `force` is set for `runId`.
   * With `dryRun` it changes nothing. A repository with nothing left reports nothing.
   */
  reclaim?(request: ReclaimRequest): Promise<ReclaimResult>;
  /** Optional, with `removeWorkspace`: every workspace it keeps in the repository, live or left behind (`corral worktrees list`). It MUST change nothing. */
  listWorkspaces?(repoRoot: string): Promise<ListedWorkspace[]>;
  /**
   * Optional: removes one workspace by id, run name, branch or path (`corral worktrees remove`). It
   * MUST refuse (a CorralError with a hint) one whose run is alive or that has uncommitted work,
   * unless `force`, and MUST keep the branch unless `deleteBranch`.
   */
  removeWorkspace?(repoRoot: string, target: string, options?: { force?: boolean; deleteBranch?: boolean }): Promise<RemovedWorkspace>;
}

/** What `Isolation.reclaim` takes. */
export interface ReclaimRequest {
  /** The repository (its main checkout). */
  repoRoot: string;
  /** Only this run's workspaces (found by run id, or at `workspace`). Without it: those of every run that is over. */
  runId?: string;
  /** Where the run's workspace was, as its journal recorded it. */
  workspace?: string;
  /** Report what would be done, changing nothing. */
  dryRun?: boolean;
  /** With `runId`: remove its workspaces even with uncommitted work (discarding it). */
  force?: boolean;
}

/** One workspace `reclaim` looked at, and what it did. */
export interface ReclaimedWorkspace {
  /** The isolation's name for it (a worktree's slug). */
  id: string;
  /** Its folder. */
  path: string;
  /** The run's branch, which stays. */
  branch?: string;
  /** `removed`, `would-remove` (dry run), `kept` (uncommitted work, or its run is alive), `failed` (`reason` says why). */
  action: "removed" | "would-remove" | "kept" | "failed";
  /** Why: what made it an orphan, why it was kept, or what failed. */
  reason: string;
  /** Uncommitted changes in it (kept, or discarded with `force`). */
  uncommitted?: number;
}

/** What `Isolation.reclaim` did. */
export interface ReclaimResult {
  /** Every dead run's workspace it found, whatever it did with it. */
  workspaces: ReclaimedWorkspace[];
}

/** A workspace as `listWorkspaces` shows it; an isolation may add its own fields (shown by `--json`). */
export interface ListedWorkspace {
  /** The isolation's name for it (a worktree's slug): what `removeWorkspace` takes. */
  id: string;
  /** Its folder. */
  path: string;
  /** What it is doing: `active`, `kept`, `orphaned`… (the isolation's words). */
  state: string;
  /** Its branch, when it has one. */
  branch?: string;
  /** The run that made it, when known. */
  runId?: string;
  /** Why it was kept, when it was. */
  keptReason?: string;
}

/** What `removeWorkspace` removed. */
export interface RemovedWorkspace {
  /** The folder that was removed. */
  path: string;
  /** Its branch, when it had one. */
  branch?: string;
  /** Whether the branch was deleted too (`deleteBranch`). */
  branchDeleted: boolean;
}
