/** The place a run works in, as an Isolation hands it out. */
export interface Workspace {
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
   * Git metadata outside `path` a sandbox must mount: read-write (objects, the run's own ref folder,
   * the worktree's gitdir) and read-only (other refs, config, hooks). Entries nest both ways, so a
   * sandbox mounts them all after its other mounts, parents before children: the deeper entry wins.
   */
  gitMounts: { readWrite: string[]; readOnly: string[] };
  /** Isolation-private data (e.g. a lock id). */
  meta?: Record<string, unknown>;
}

export interface Commit {
  sha: string;
  subject: string;
  author: string;
  /** ISO 8601 */
  time: string;
  files: string[];
}

export interface AcquireRequest {
  /** Where the run was started (a repository or a folder inside one). */
  cwd: string;
  runId: string;
  /** Run name; used for the branch and folder names when given. */
  name?: string;
  signal?: AbortSignal;
}

export interface ReleaseOptions {
  /** How the run ended: a failed run may be kept for inspection. */
  outcome: "succeeded" | "failed" | "aborted";
  /** Keep the workspace folder whatever its state (e.g. a setup hook failed and it needs inspecting). */
  keep?: boolean;
}

export interface ReleaseResult {
  /** True when the workspace folder was removed. */
  removed: boolean;
  /** Set when the workspace was kept (e.g. it had uncommitted changes), with the reason. */
  keptReason?: string;
  /** Where uncommitted work is, when it was kept. */
  path?: string;
  /** Anything the isolation wants the user to know (merge-back result, WIP commit…). */
  notes?: string[];
}

/** An isolation provider: a plugin instance with its options applied. */
export interface Isolation {
  readonly name: string;
  /** True when this isolation needs a git repository (the CLI checks `--cwd` early). */
  readonly requiresGit?: boolean;
  acquire(request: AcquireRequest): Promise<Workspace>;
  /** Commits made in the workspace since its base, oldest first. */
  commits(workspace: Workspace): Promise<Commit[]>;
  release(workspace: Workspace, options: ReleaseOptions): Promise<ReleaseResult>;
}
