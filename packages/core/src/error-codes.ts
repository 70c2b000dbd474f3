/**
 * Every error code corral and its plugins use: one code per condition, stable across releases (a
 * program may branch on it), each with what it means. `CorralError` takes only these, so a new
 * condition is a new line here; docs/errors.md is checked against this list by a test. The CLI's exit
 * code follows the class: a `UsageError` (bad input) exits 2, any other error 1.
 */
export const ERROR_CODES = {
  // Input: the caller must change a flag, an option, the config or a file (exit code 2).
  E_USAGE: "A flag, option or argument is invalid, missing, or goes with another it cannot.",
  E_CONFIG: "corral.config.* does not load or does not match the schema (the message names the field, or the line).",
  E_NO_SUCH_FOLDER: "The folder a run or command was pointed at (--cwd) does not exist.",
  E_NETWORK_POLICY: "The network policy is malformed, or names a rule that cannot be parsed.",
  E_PROMPT_TEMPLATE: "The prompt template cannot be filled: an unknown {{KEY}}, a shadowed built-in, or args without a template.",
  E_MISSING_CREDENTIALS: "The agent's API key (or token) is not set where the agent reads it.",
  E_AGENT_NOT_FOUND: "The agent's program (or the runtime its #! line names) is not on the host where the sandbox would look.",
  E_PLUGIN_NOT_FOUND: "No installed plugin has that name (the hint is the install command, or a did-you-mean).",
  E_PLUGIN_OPTIONS: "A plugin's options do not match its schema (the message names the field).",
  E_PLUGIN_API_VERSION: "A plugin was written for a plugin API this core does not speak.",
  E_PLUGIN_DUPLICATE: "Two installed plugins of one kind have the same name.",
  E_PLUGIN_INVALID: "A plugin breaks its interface's contract where the run depends on it (an agent's execReport.file that is not a plain file name).",
  E_PLUGIN_CAPABILITY: "The command needs a capability (building images, reaping, reclaiming) the chosen plugin does not have.",
  E_RUN_NOT_FOUND: "No recorded run has that id, prefix or name.",
  E_RUN_AMBIGUOUS: "The name or id prefix fits more than one recorded run (or fleet); they are listed, none is picked.",
  E_NO_REMOTE: "The repository has no remote to push the run's branch to, or --remote names none.",
  E_FLEET_NOT_FOUND: "No recorded run was a task of a fleet with that id or prefix.",
  E_RUN_MERGED: "The run to resume succeeded and its branch is merged into its base: there is nothing to continue.",
  E_RUN_NOT_RESUMABLE: "The run to resume cannot be continued: it recorded no branch (in-place, detached) or no agent.",
  E_NOTHING_TO_RETRY: "The fleet has no failed, aborted, interrupted or incomplete task to run again.",
  E_UNKNOWN_REF: "The base ref does not name a commit in the repository.",
  E_UNSAFE_PATH: "A run name or worktree folder would leave the repository or follow a symlink out of it.",
  E_NOT_GIT_REPOSITORY: "The isolation needs a git repository and the folder is not in one.",
  E_BARE_REPOSITORY: "The folder is a bare repository (or a git dir): there is no checkout to make a worktree of.",
  E_EMPTY_REPOSITORY: "The repository has no commit yet, so there is nothing to check out.",
  E_BRANCH_EXISTS: "The run's branch exists already and reusing it was not asked for.",

  // The run: what stopped the agent.
  E_AGENT_EXECUTION: "The agent exited non-zero, or reported an error result (the message carries its last output).",
  E_IDLE_TIMEOUT: "The agent printed nothing for idleTimeout seconds, so it was stopped.",
  E_WALL_CLOCK: "The sandbox's wall-clock limit (limits.wallSeconds) ended the agent, or refuses to run more.",
  E_BUDGET_EXCEEDED: "A budget (tokens, cost, iterations, seconds) stopped a run that had to give a structured answer, so there is none.",
  E_ABORTED: "The run was aborted (its AbortSignal, Ctrl-C or SIGTERM); what it did is kept.",
  E_PROMPT_EXPANSION: "A !`cmd` in the prompt failed or timed out inside the sandbox.",
  E_STRUCTURED_OUTPUT: "The agent's answer has no <tag> block, or one that is not valid JSON or does not match the schema.",
  E_HOOK: "A hook command failed; the workspace is kept as it was.",
  E_INTEGRITY: "The run did something it must not (rewrote history, planted config); its work is kept aside, not merged.",
  E_COMMITS_DROPPED: "Commits the run made are not on its branch (its git refused them, its own reset dropped them, or the branch moved behind its base); a ref named in the message keeps them.",
  E_MERGE_BACK: "The run's branch could not be merged into its base (a conflict, or the base cannot be moved); the branch is kept.",

  // Sandboxes.
  E_SANDBOX_UNAVAILABLE: "The sandbox cannot run on this machine (the reason says what is missing; corral never falls back).",
  E_SANDBOX_IMAGE_MISSING: "The container image the run needs does not exist in the engine.",
  E_SANDBOX_UNSUPPORTED: "The sandbox cannot enforce something the run asks for (a network policy, a limit, a mount mode): it fails closed.",
  E_SANDBOX_USERNS: "The container engine cannot give the run the user namespace it needs.",
  E_SANDBOX_SECCOMP: "The sandbox's seccomp filter cannot be built for this machine's architecture.",
  E_SANDBOX_LIMITS: "The resource limits could not be set up (cgroup, systemd-run or prlimit).",
  E_SANDBOX_SPEC: "The sandbox spec is inconsistent (a workspace, HOME or git dir that does not exist, a relative path).",
  E_MOUNT_MISSING: "A mount's host path does not exist.",
  E_WORKSPACE_COPY_UNSUPPORTED: "A copied workspace was asked for, but the sandbox cannot take one (no archive transfer, or the host sandbox) or the isolation gives no git dir of the run's own.",
  E_WORKSPACE_COPY: "Shipping the copied workspace into the sandbox, or bringing the run's work back out of it, failed (the message says which step).",
  E_ARCHIVE_UNSAFE: "An archive from the sandbox is malformed, too large, or holds a link or a path that leaves its folder: nothing of it past that point is used.",
  E_SANDBOX_MOUNT: "An isolation's git mount cannot be mounted as asked (a bug in the isolation).",
  E_SANDBOX_START: "The sandbox (its container or process) could not be started.",
  E_SANDBOX_EXEC: "A command could not be run inside the sandbox.",
  E_SANDBOX_EXIT_UNKNOWN: "A command's exit code could not be read (the engine's client was killed or lost it).",
  E_SANDBOX_ENGINE_TRUST: "A remote container engine could not be trusted: its TLS certificate or ssh host key did not verify, it refused corral's credentials, or it was reachable only unencrypted.",
  E_SANDBOX_ENGINE_LOST: "The container engine stopped answering mid-run (its container may be left; corral clean removes it once the engine answers).",
  E_SANDBOX_CLOSED: "The sandbox is closed; a new one is needed.",
  E_SANDBOX_CLOSE: "The sandbox could not be removed (its container is left; corral clean finds it).",
  E_SANDBOX_REAP: "Leftover sandboxes of an ended run could not be found or removed.",
  E_SANDBOX: "The sandbox failed in a way none of the codes above names (the message says how).",
  E_IMAGE_BUILD: "Building the container image failed (the build's last lines are in the message).",
  E_IMAGE_REMOVE: "Removing the container image failed.",

  // Isolations and git.
  E_ISOLATION: "The isolation failed in a way none of the codes below names (the message says how).",
  E_WORKTREE_CREATION: "The run's worktree or branch could not be made.",
  E_WORKTREE_LOCK: "The worktree is locked by a run that is still alive.",
  E_WORKTREE_NOT_FOUND: "No worktree of corral's has that slug, name, branch or path.",
  E_WORKTREE_REMOVAL: "The worktree could not be removed (it is kept, with its work).",
  E_GIT: "A host-side git command failed (its stderr is in the message).",

  // The host's own resources.
  E_DISK_FULL: "The disk (or quota) that holds the run's files is full: no space left on device.",
  E_TEMP_DIR_UNWRITABLE: "The temp folder (TMPDIR) does not exist, is read-only, or is not writable by this user.",
  E_JOURNAL_UNREADABLE: "A recorded run's journal (events.jsonl, run.log) is missing or cannot be read.",
  E_WORKTREE_BASE_UNWRITABLE: "The folder worktrees are made in (worktree baseDir) is read-only or not writable by this user.",
  // Taking a run's work: corral diff, log, merge, pr, discard, clean --branches.
  E_RUN_NO_BRANCH: "The run has no branch to review, merge or push (an in-place run, or one that never made its workspace).",
  E_BRANCH_GONE: "The run's branch is no longer in the repository (discarded, merged and deleted, or deleted by hand).",
  E_RUN_ACTIVE: "The run is still running: its branch gets its work when it ends, so it cannot be merged, pushed or discarded yet.",
  E_MERGE_CONFLICT: "Merging the run's branch into the target would conflict; nothing was changed.",
  E_MERGE_DIRTY: "The checkout of the target branch has uncommitted changes; nothing was merged.",
  E_MERGE_REFUSED: "The merge cannot be done as asked (not a fast-forward, merges in a history to rebase, a target branch that is missing, held by a run's worktree, or moved meanwhile); nothing was changed.",
  E_BRANCH_UNMERGED: "The branch has commits its base does not have; removing it needs --force.",
  E_PUSH_FAILED: "git push of the run's branch failed (the message carries git's reason).",
  E_PR_FAILED: "gh could not open the pull request (the message carries its reason); the branch is pushed.",

  E_INTERNAL: "A bug in corral: please report it with the message.",
} as const satisfies Record<`E_${string}`, string>;

/** A stable error code: see ERROR_CODES and docs/errors.md. */
export type ErrorCode = keyof typeof ERROR_CODES;
