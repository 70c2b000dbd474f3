/** Static help text: printing it imports nothing else. */
export const MAIN_HELP = `corral — run AI coding agents unattended, in a loop, sandboxed, on their own git worktree

Usage: corral <command> [options]

Commands:
  run         Run an agent (one task, or a fleet with --tasks)
  plugins     List plugins and whether each can run here
  worktrees   List, remove or prune corral's git worktrees
  runs        List and inspect past runs
  clean       Remove what interrupted runs left behind
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
  --agent NAME              claude, codex, command, or a plugin's name
  --model NAME              The agent's model
  --sandbox NAME            host (default: no isolation), bwrap, podman, docker, …
  --isolation NAME          worktree (default in a git repository) or in-place
  --config FILE             corral.config.{ts,mts,js,mjs,json} (default: found from --cwd)

Loop:
  --max-iterations N        Default 1
  --completion-signal TEXT  Ends the loop when the agent says it (repeatable; default <promise>COMPLETE</promise>)
  --idle-timeout SECONDS    Stop an agent silent this long (default 600)
  --completion-timeout SECONDS  Grace after the signal (default 60)

Run:
  --cwd DIR                 Where to run (default: here)
  --name NAME               Names the run, its branch and worktree
  --env NAME                Pass this host env var into the sandbox (repeatable; values are redacted)
  --env-file FILE           Pass the vars of a dotenv file (repeatable)
  --setup CMD               Run CMD on the host in the new workspace before the agent (repeatable)
  --log-file FILE           Also write a plain-text log
  --json                    NDJSON events on stdout (human output stays on stderr)

Fleets:
  --tasks FILE              JSON or YAML list of tasks
  --tasks-cmd CMD           Take the task list from a command's JSON output
  --parallel N              How many tasks at once (default 4)

Examples:
  corral run --agent claude --sandbox bwrap --prompt "Fix the failing test" --max-iterations 5
  corral run --agent command --prompt "hi" -- sh -c 'echo "$0"; echo "<promise>COMPLETE</promise>"' '{prompt}'
`;

export const PLUGINS_HELP = `Usage: corral plugins [--json] [--cwd DIR] [--config FILE]

Lists every installed plugin (built-in, first-party, and third-party from corral.config.*), its version,
and whether it can run here (and why not).
`;
