import type { Usage } from "./usage.js";

/** What an agent CLI said, parsed from its output stream. */
export type AgentEvent =
  | { type: "text"; text: string }
  | { type: "tool-call"; id?: string; name: string; input: unknown }
  | { type: "tool-result"; id?: string; output: string; isError?: boolean; exitCode?: number }
  | { type: "session"; sessionId: string; model?: string; tools?: string[] }
  | { type: "usage"; usage: Usage }
  | {
      type: "result";
      isError: boolean;
      text?: string;
      costUsd?: number;
      turns?: number;
      permissionDenials?: Array<{ tool: string; input?: unknown }>;
    }
  | { type: "error"; message: string }
  /** The agent CLI retries a failed API request (`attempt` of `maxRetries`, when it says). */
  | { type: "retry"; attempt: number; maxRetries?: number; message?: string; delayMs?: number }
  /** A line the parser did not recognise, passed through rather than dropped. */
  | { type: "raw"; line: string; stream: "stdout" | "stderr" };

/** Parses one agent CLI's output, line by line. One parser per exec: it may keep state. */
export interface AgentParser {
  /**
   * The events one output line means (none, one or several). It MUST NOT throw on a line it does not
   * understand (that is a `raw` event) and MUST treat the line as data: agent output is untrusted.
   */
  parse(line: string, stream: "stdout" | "stderr"): AgentEvent[];
  /** Called once the process has exited; may emit what was buffered. */
  end?(): AgentEvent[];
}

/** What `Agent.command` (and `Agent.parser`) get for one iteration. */
export interface AgentCommandInput {
  /** The prompt, templates filled and `` !`cmd` `` expanded. Put it in argv or (when large) on stdin, never through a shell. */
  prompt: string;
  /** 1 for the first iteration of the run. */
  iteration: number;
  /** The session id the previous exec reported, to resume it. */
  resumeSessionId?: string;
  /** The per-run HOME, as seen inside the sandbox. */
  home: string;
  /** The working directory inside the sandbox. */
  cwd: string;
}

/** One exec of the agent's CLI, as the agent wants it run. */
export interface AgentCommand {
  /** The program (its `executable`) and its arguments; run as given, never through a shell. */
  argv: string[];
  /** Sent on stdin. Use it for large prompts: one argv string is limited to 128 KiB on Linux. */
  stdin?: string;
  /** Env for this exec on top of the run's (not secret: put credentials in `env.credentials`). */
  env?: Record<string, string>;
}

/** What `Agent.setup` gets, once per run before the sandbox starts. */
export interface AgentSetupInput {
  /** The env the run hands over (explicit vars plus the credentials the agent declared). */
  env: Record<string, string>;
  /** The per-run HOME on the host (0700); files written here are visible inside the sandbox. */
  home: string;
  /**
   * Set when the run keeps the API key on the host (`credentials: "gateway"`): the base URL the CLI
   * MUST send its API requests to (corral's gateway, which adds the key). The key env var then holds
   * a placeholder.
   */
  apiBaseUrl?: string;
}

/** Where an agent's API is, so a network allowlist lets it through and its key can stay on the host. */
export interface AgentApi {
  /** Allowlist rules for what the CLI must reach (its API's host and port, from the base URL it will use). */
  hosts: string[];
  /** How corral's gateway can hold the key instead of the sandbox. */
  gateway?: {
    /** A short name (a URL path segment), e.g. `anthropic`. */
    name: string;
    /** The real API's base URL, where the gateway forwards to. */
    upstream: string;
    /** The env var that holds the key (on the host; inside, a placeholder). */
    keyEnv: string;
    /** The env var the CLI reads its base URL from, if it has one (set to the gateway's URL). */
    baseUrlEnv?: string;
    /** The request headers that carry the key. */
    headers(key: string): Record<string, string>;
  };
}

/** An agent: knows one CLI. It builds argv and parses output; it never spawns anything itself. */
export interface Agent {
  /** What users select it by (`--agent <name>`); the plugin's name. */
  readonly name: string;
  /**
   * Env var names the agent reads. `credentials` are secret (their values are redacted
   * everywhere) and taken from the host env when present; `passthrough` likewise but not secret.
   */
  readonly env?: { credentials?: string[]; passthrough?: string[] };
  /**
   * The program every command runs (its argv[0]): a name looked up on PATH, or an absolute path, and
   * the option that sets it (named in the error when it is missing). The run finds it on the host
   * before it starts and, for a sandbox that runs host programs, shows it inside read-only.
   */
  readonly executable?: { name: string; option: string };
  /**
   * Where the CLI keeps its sessions, relative to the per-run HOME (e.g. `.claude/projects`): what a
   * run keeps (`RunOptions.keepSession`) so a later run can resume the session in a new HOME. Only
   * regular files and folders are kept, never followed symlinks: it is agent-written data. Declaring
   * it (`[]` for sessions kept elsewhere) is what makes a resumed run pass `resumeSessionId`; an agent
   * without it starts a new session when a run is resumed.
   */
  readonly sessionFiles?: string[];
  /**
   * A file the CLI writes during an exec that says what its output does not (Copilot CLI's
   * `--usage-output-file` holds the tokens it never prints): a plain file name (no folder) in the
   * per-run HOME, which `command()` passes to the CLI as `${input.home}/${file}`. The run reads it
   * before and after each exec, as data (a regular file, never through a symlink, at most 1 MiB), and
   * when the exec changed it, `parse(after, before)` gives events that count as the exec's own (usage
   * is accounted and budgets checked; also when the exec failed: tokens spent are spent). `before` is
   * what the last exec left (list the file in `sessionFiles` so a resumed session carries it), so a
   * CLI that reports totals can report the difference. It MUST NOT throw on bad text. Known only once
   * the exec ended, so a budget can stop the run only then (docs/agents.md). Read where HOME is shared
   * with the sandbox (every sandbox that mounts it); elsewhere it is missing and nothing is reported.
   */
  readonly execReport?: { file: string; parse(after: string, before: string | undefined): AgentEvent[] };
  /**
   * Checks credentials and prepares the per-run HOME (config files). Throws
   * MissingCredentialsError before anything is spawned. Returns env to add to every exec.
   */
  setup?(input: AgentSetupInput): Promise<Record<string, string> | void> | Record<string, string> | void;
  /** Its API, from the env it will run with: what a network allowlist must let through, and the credentials gateway. */
  api?(env: Record<string, string>): AgentApi | undefined;
  /** The command for one iteration. It MUST be pure: no spawning, no files, no network (the run loop execs it in the sandbox). */
  command(input: AgentCommandInput): AgentCommand;
  /**
   * A fresh parser for the exec `command(input)` started, given the same input (the session it resumes,
   * say), so no state has to pass from `command()` to `parser()` behind the run loop's back.
   */
  parser(input: AgentCommandInput): AgentParser;
}
