/** Static help text: printing it imports nothing else. */
export const MAIN_HELP = `corral — run AI coding agents unattended, in a loop, sandboxed, on their own git worktree

Usage: corral <command> [options]

Commands:
  run         Run an agent (one task, or a fleet with --tasks)
  plugins     List plugins and whether each can run here
  worktrees   List, remove or prune corral's git worktrees
  runs        List and inspect past runs
  diff        Show what a run changed (its diff against its base)
  log         Show a run's commits
  merge       Merge a run's branch into its base branch
  pr          Push a run's branch and open a pull request (gh)
  discard     Remove a run's branch and worktree
  clean       Remove what interrupted runs left behind (--branches: empty corral/* branches)
  image       Build or remove the container image a run uses
  init        Scaffold corral.config.ts and a prompt
  doctor      Check that the configured run could start here

Options:
  -h, --help      Show help (also: corral <command> --help)
  -v, --version   Show the version

Exit codes: 0 ok, 1 run failed, 2 usage error, 130 interrupted.
Docs: https://github.com/corral-dev/corral#readme
`;

export const RUN_HELP = `Usage: corral run [options] [-- command argv for --agent command]

Prompt:
  --prompt TEXT             The prompt, sent verbatim
  --prompt-file FILE        A prompt template ({{KEY}} placeholders, !\`cmd\` expansion)
  --prompt-arg KEY=VALUE    A template value (repeatable)

Plugins:
  --agent NAME              claude, codex, copilot, gemini, opencode, pi, command, or a plugin's name
  --model NAME              The agent's model
  --sandbox NAME            host (default: no isolation), bwrap, podman, docker, …
  --isolation NAME          worktree (default in a git repository) or in-place
  --config FILE             corral.config.{ts,mts,js,mjs,json} (default: found from --cwd)

Loop:
  --max-iterations N        Default 1
  --completion-signal TEXT  Ends the loop when the agent says it (repeatable; default <promise>COMPLETE</promise>)
  --idle-timeout SECONDS    Stop an agent silent this long (default 600)
  --completion-timeout SECONDS  Grace after the signal (default 60)

Budget (the first one reached stops the run cleanly, its work kept; exit 3):
  --max-tokens N            Tokens the run may use, counted as the agent reports them
  --max-cost USD            Dollars the run may spend (agents that report cost)
  --max-time SECONDS        Seconds the run may take

Run:
  --cwd DIR                 Where to run (default: here)
  --name NAME               Names the run, its branch and worktree
  --branch-exists MODE      When the name's branch exists: new (default: another branch, said), fail, reuse (continue on it)
  --workspace MODE          mount (default: the sandbox mounts the worktree), copy (it gets a copy; the branch comes back
                            verified, uncommitted work as a patch), auto (copy when the sandbox's engine is remote)
  --env NAME                Pass this host env var into the sandbox (repeatable; values are redacted)
  --env-file FILE           Pass the vars of a dotenv file (repeatable)
  --setup CMD               Run CMD on the host in the new workspace before the agent (repeatable)
  --notify CMD              Run CMD on the host when the run ends: run.finished as JSON on stdin, CORRAL_RUN_* env (repeatable)
  --log-file FILE           Also write a plain-text log
  --json                    NDJSON events on stdout (human output stays on stderr)

Limits and files (added to the config's):
  --memory MB               Memory limit (bwrap where a cgroup enforces it; docker, podman)
  --pids N                  Process limit
  --cpus N                  CPU limit in cores (1.5 = one and a half)
  --wall-clock SECONDS      Hard limit on the sandbox's lifetime
  --mount HOST[:SANDBOX][:ro|rw]  Show a host path inside the sandbox (read-only unless :rw; repeatable)
  --copy GLOB               Copy untracked files of the checkout into the new worktree (repeatable)

Network (docs/network.md):
  --network none|host|allowlist  What the sandbox may reach (allowlist: only through corral's proxy)
  --allow-domain HOST[:PORT]     Allow a host, *.example.com for its subdomains (repeatable; the agent's API is added)
  --deny-domain HOST[:PORT]      Refuse a host even if allowed (repeatable)
  --credentials env|gateway      gateway: the API key stays on the host; corral's proxy adds it (needs the allowlist)

Continue (docs/workflow.md):
  --resume RUN              Continue a run (id, name or unique prefix) that was interrupted, failed, incomplete
                            or stopped: same branch and kept worktree, the agent's session when it has one;
                            agent, sandbox, prompt and iterations from its journal, flags on top
  --retry-failed FLEET      Run a fleet's failed, aborted and interrupted tasks again, each on its own branch
  --include-incomplete      With --retry-failed: also the tasks that ran out of iterations or budget

Fleets:
  --tasks FILE              JSON or YAML list of tasks
  --tasks-cmd CMD           Take the task list from a command's JSON output
  --parallel N              How many tasks at once (default 4)
  --fail-fast               Stop the other tasks (and start no more) when one fails
  --fleet-max-tokens N      Tokens the whole fleet may use (then no task starts, running ones stop)
  --fleet-max-cost USD      Dollars the whole fleet may spend

Examples:
  corral run --agent claude --sandbox bwrap --prompt "Fix the failing test" --max-iterations 5
  corral run --agent command --prompt "hi" -- sh -c 'echo "$0"; echo "<promise>COMPLETE</promise>"' '{prompt}'
  corral run --agent claude --sandbox bwrap --allow-domain registry.npmjs.org --credentials gateway --prompt "Update the deps"
  corral run --resume fix-login --max-iterations 3
  corral run --retry-failed 20260101-120000-a1b2c3 --parallel 2

Exit codes: 0 succeeded; 1 failed, or a run that cannot be resumed (E_RUN_ACTIVE, E_RUN_MERGED,
E_BRANCH_GONE, E_RUN_NO_BRANCH, E_RUN_NOT_RESUMABLE), or an existing branch under --branch-exists fail
(E_BRANCH_EXISTS); 2 usage error (bad flags, E_RUN_NOT_FOUND, E_RUN_AMBIGUOUS, E_NOTHING_TO_RETRY);
3 incomplete; 130 interrupted.
`;

export const PLUGINS_HELP = `Usage: corral plugins [--json] [--no-check] [--cwd DIR] [--config FILE]

Lists every installed plugin (built-in, first-party, and third-party from corral.config.*), its version,
and whether it can run here (and why not): each sandbox's check() really probes (starts a bwrap sandbox,
pings the docker engine, asks podman for the image). --no-check lists without probing.
`;

export const RUNS_HELP = `Usage: corral runs [list] [--json]
       corral runs show <id|name> [--json]     (or just: corral runs <id|name>)
       corral runs logs <id|name> [-f] [--json]

The run journal: every run started in this repository is recorded in .corral/runs/<run-id>/
(run.json, events.jsonl; \`corral runs logs\` renders its plain-text log from the events). A run
whose process died while running shows as interrupted; \`corral clean\` removes what it left behind.

Options:
  --json         Machine output on stdout (list/show: JSON; logs: the events as NDJSON)
  -f, --follow   logs: keep printing new lines until the run ends (Ctrl-C stops following)
  --cwd DIR      The repository (default: here)
`;

export const CLEAN_HELP = `Usage: corral clean [--dry-run] [--force] [--json] [--cwd DIR]
       corral clean --branches [--dry-run] [--force] [--json] [--cwd DIR]

For every run that left something — interrupted (its process died while it was running), recorded with
an incomplete teardown (an engine that failed), or named by an orphaned container's labels whatever its
journal says: stops processes it left behind, has the sandbox plugins remove what it left (docker and
podman containers) and its temporary folders, removes an interrupted run's worktree (its branch and
commits are kept) and prunes git's worktree records, then marks the run cleaned.

With --branches: deletes every corral/* branch with no commits beyond its base (empty, merged, or
squashed or rebased in). A branch with unmerged commits is kept unless --force; one that is checked
out, or whose run is still running, is always kept.

Options:
  --branches  Clean corral/* branches instead of interrupted runs
  --dry-run   Only say what would be done
  --force     Also remove worktrees with uncommitted changes (they are kept otherwise);
              with --branches: also branches with unmerged commits
  --json      The report as JSON on stdout
  --cwd DIR   The repository (default: here)

Example:
  corral clean --branches --dry-run

Exit codes: 0 done, 1 something could not be removed, 2 usage error.
`;

export const DIFF_HELP = `Usage: corral diff <run> [--stat] [--json] [--cwd DIR]
       corral diff --fleet <id> [--stat] [--json]

What a run changed: the diff of its branch against the commit it started from. <run> is a run id,
a run name, or a unique prefix of either; a name several runs share lists them instead.
The diff is the agent's text: control characters in it are shown, never sent to the terminal.

Options:
  --stat        Only the files changed, with lines added and deleted
  --fleet ID    Every task of a fleet (fleet id or a unique prefix), one section per task
  --json        The files (and the patch, without --stat) as JSON on stdout
  --cwd DIR     The repository (default: here)

Example:
  corral diff fix-login --stat

Exit codes: 0 shown, 1 the run has no branch (any more), 2 unknown or ambiguous run, bad flags.
`;

export const LOG_HELP = `Usage: corral log <run> [--json] [--cwd DIR]
       corral log --fleet <id> [--json]

A run's commits, oldest first (git log <base>..<branch>). <run> is a run id, a name or a unique
prefix; commit messages are the agent's and are shown inert.

Options:
  --fleet ID    Every task of a fleet, one section per task
  --json        The commits (sha, parents, author, time, subject, body) as JSON on stdout
  --cwd DIR     The repository (default: here)

Example:
  corral log fix-login

Exit codes: 0 shown, 1 the run has no branch (any more), 2 unknown or ambiguous run, bad flags.
`;

export const MERGE_HELP = `Usage: corral merge <run> [--squash | --rebase | --ff-only] [--into BRANCH] [--json] [--cwd DIR]

Merges a finished run's branch into the branch it started from (or --into BRANCH). The result is
computed first without touching any checkout, so a conflict changes nothing; a checkout that has the
target branch must be clean (it is refused otherwise) and is fast-forwarded to the result.

Options:
  (default)       A fast-forward when possible, else a merge commit
  --squash        One new commit with all of the run's changes
  --rebase        The run's commits replayed on top of the target
  --ff-only       Only a fast-forward; refused when the target has moved on
  --into BRANCH   The branch to merge into (default: the run's base branch)
  --json          The result as JSON on stdout
  --cwd DIR       The repository (default: here)

Example:
  corral merge fix-login --squash

Exit codes: 0 merged (or nothing to merge), 1 refused (conflict, uncommitted changes, not a
fast-forward), 2 unknown or ambiguous run, bad flags.
`;

export const PR_HELP = `Usage: corral pr <run> [--remote NAME] [--base BRANCH] [--title TEXT] [--draft] [--push] [--json] [--cwd DIR]

Pushes a finished run's branch and opens a pull request with the GitHub CLI (gh) when it is
installed. Title and body come from the run: the prompt's first line, its commits, its usage.
Without gh nothing is pushed (unless --push): corral prints the push command and the compare URL.

Options:
  --remote NAME   The remote (default: the base branch's remote, else origin, else the only one)
  --base BRANCH   The branch to merge into (default: the run's base branch)
  --title TEXT    The title (default: the first line of the prompt)
  --draft         Open it as a draft
  --push          Push even without gh
  --json          The result as JSON on stdout
  --cwd DIR       The repository (default: here)

Example:
  corral pr fix-login --draft

Exit codes: 0 opened (or, without gh, the commands printed), 1 push or gh failed, 2 unknown run,
no remote, bad flags.
`;

export const DISCARD_HELP = `Usage: corral discard <run> [--force] [--dry-run] [--json] [--cwd DIR]

Throws a finished run's work away: removes its kept worktree and deletes its branch. A branch with
commits its base does not have, or a worktree with uncommitted changes, is kept unless --force.
The branch's last commit is printed, so \`git branch <branch> <sha>\` can bring it back.

Options:
  --force     Also discard unmerged commits and uncommitted changes
  --dry-run   Only say what would be removed
  --json      The result as JSON on stdout
  --cwd DIR   The repository (default: here)

Example:
  corral discard fix-login --dry-run

Exit codes: 0 discarded, 1 refused (unmerged commits, uncommitted changes), 2 unknown or ambiguous run.
`;

export const WORKTREES_HELP = `Usage: corral worktrees list [--json]
       corral worktrees remove <slug|name|branch|path> [--force] [--delete-branch]
       corral worktrees prune [--dry-run] [--json]

corral's git worktrees in this repository (@corral/worktree-git, or any installed isolation that keeps workspaces).
  list     Each worktree, its branch and state (active, orphaned, missing, kept, pooled, stale)
  remove   Remove one; refuses a live run's or a dirty one unless --force; keeps the branch unless --delete-branch
  prune    Remove orphans (their run's process is gone) and git's records of missing ones;
           an orphan with uncommitted changes is kept; branches are always kept

Options:
  --dry-run        prune: only say what would be removed
  --force          remove: even a dirty worktree or a live run's
  --delete-branch  remove: also delete its branch
  --json           Machine output on stdout
  --cwd DIR        The repository (default: here)
`;

export const IMAGE_HELP = `Usage: corral image build --sandbox NAME [--file FILE] [--tag TAG] [--build-arg K=V]… [--context DIR]
       corral image remove --sandbox NAME [--tag TAG]

Builds (or removes) the container image a docker or podman run (or any sandbox that builds images) uses. The build output is streamed;
the host uid/gid are passed as AGENT_UID/AGENT_GID build args. A failed build exits 1.

Options:
  --sandbox NAME     docker, podman, or another sandbox that builds images (default: the sandbox of corral.config.*)
  --file FILE        Dockerfile/Containerfile (default: Dockerfile, or Containerfile for podman)
  --tag TAG          Image tag (default: the config's image, else corral-agent:latest, what a run uses)
  --build-arg K=V    A build arg (repeatable)
  --context DIR      Build context (default: the repository root)
  --cwd DIR          The repository (default: here)
  --config FILE      The config whose sandbox and image are meant (default: corral.config.* found from --cwd)
`;

export const INIT_HELP = `Usage: corral init [--agent NAME] [--sandbox NAME] [--model NAME] [--yes] [--cwd DIR]

Scaffolds corral.config.ts and .corral/prompt.md, and for the docker and podman sandboxes a
Dockerfile (docker) or Containerfile (podman) and .env.example; adds .env, .corral/runs/ and
.corral/worktrees/ to .gitignore (the prompt stays committable).
Never overwrites a file: an existing one is skipped and named.

On a terminal it asks for each choice not given as a flag; without one, a missing choice is an
error (exit 2) that names its flag.

Options:
  --agent NAME     claude, codex, copilot, gemini, opencode, pi or command
  --sandbox NAME   bwrap, docker, podman or host
  --model NAME     The agent's model (optional; --yes leaves the agent's default)
  -y, --yes        Accept the defaults for every choice not given (claude, bwrap)
  --cwd DIR        Where to scaffold (default: here)
`;
