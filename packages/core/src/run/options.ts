import type { Agent } from "../agent.js";
import type { Display } from "../display.js";
import type { RunEvent } from "../events.js";
import type { Hooks } from "../hooks.js";
import type { Commit, Isolation, ReleaseResult } from "../isolation.js";
import type { NetworkPolicy } from "../network/policy.js";
import type { OutputSpec } from "../output.js";
import type { Configured } from "../plugin.js";
import type { Mount, ResourceLimits, Sandbox } from "../sandbox.js";
import type { Usage } from "../usage.js";
import type { GitIdentityOption } from "./git-identity.js";

export interface RunOptions<T = undefined> {
  /** The agent: `claude({ model })`, `commandAgent.configure({ argv })`, or an Agent object. */
  agent: Configured<"agent"> | Agent;
  /** Defaults to the `host` sandbox (no isolation). */
  sandbox?: Configured<"sandbox"> | Sandbox;
  /** Defaults to `in-place` (the current checkout). */
  isolation?: Configured<"isolation"> | Isolation;
  displays?: Display[];
  /** Called with every event, after the displays. */
  onEvent?: (event: RunEvent) => void;
  /** Where the run starts; defaults to process.cwd(). */
  cwd?: string;
  /** Names the run: the branch, the worktree folder and every event carry it. */
  name?: string;
  runId?: string;
  /** An inline prompt, sent verbatim. */
  prompt?: string;
  /** A prompt template: `{{KEY}}` placeholders, then `` !`cmd` `` expansion inside the sandbox. */
  promptFile?: string;
  promptArgs?: Record<string, string>;
  /** Default 1. */
  maxIterations?: number;
  /** Default `<promise>COMPLETE</promise>`. Matched only in the agent's own text. */
  completionSignal?: string | string[];
  /** Seconds without any output before the agent is stopped. Default 600. */
  idleTimeout?: number;
  /** Seconds the agent may keep going after it signalled completion. Default 60. */
  completionTimeout?: number;
  /** Seconds each `` !`cmd` `` in a prompt may take. Default 60. */
  promptCommandTimeout?: number;
  signal?: AbortSignal;
  /** Abort (and clean up) on SIGINT/SIGTERM while the run lives. Default true. */
  handleProcessSignals?: boolean;
  output?: OutputSpec<T>;
  /**
   * Who the agent's commits are by. Default `"host"`: the user's name and email (GIT_AUTHOR_* or
   * `git config user.*` on the host), and nothing else of their gitconfig. `false`: none.
   */
  gitIdentity?: GitIdentityOption;
  /** Env handed to the sandbox, explicitly. The host env is never passed whole. */
  env?: Record<string, string>;
  /** Names in `env` whose values are secret (redacted everywhere). */
  secretEnv?: string[];
  /** Where agent-declared credentials are read from. Default process.env. */
  hostEnv?: Record<string, string | undefined>;
  mounts?: Mount[];
  /**
   * What the sandbox may reach: `"none"`, `"host"`, or `{ allow: [...], deny?, hosts? }`, enforced by
   * corral's egress proxy, with the agent's API added. Default: `{ allow: [] }` (the agent's API only)
   * where the sandbox enforces it, else `"host"` with a warning. See docs/network.md.
   */
  network?: NetworkPolicy;
  /** `gateway`: the agent's API key stays on the host; corral's gateway adds it to each request (needs an allowlist). Default `env`. */
  credentials?: "env" | "gateway";
  limits?: ResourceLimits;
  /** Said at the start of the run, as `log` warnings (e.g. what the caller found while resolving it: library code never prints). */
  warnings?: string[];
  /** Commands around the run: on the host in the new workspace, or inside the sandbox. */
  hooks?: Hooks;
  /** Untracked paths or globs of the main checkout copied into a new workspace (node_modules, .env…). */
  copy?: string[];
}

export interface RunResult<T = undefined> {
  runId: string;
  name?: string;
  /**
   * `incomplete`: all `maxIterations` ran without the completion signal (and no structured output
   * was asked for, which would have been the answer). The work is there; the task may not be done.
   */
  status: "succeeded" | "incomplete";
  iterations: number;
  /** The completion signal that ended the loop, if one did. */
  completionSignal?: string;
  commits: Commit[];
  branch?: string;
  baseCommit?: string;
  usage: Usage;
  output: T;
  sessionId?: string;
  workspace: { path: string; cwd: string; release: ReleaseResult };
  durationMs: number;
}
