import type { Agent } from "../agent.js";
import type { Display } from "../display.js";
import type { RunEvent } from "../events.js";
import type { Hooks } from "../hooks.js";
import type { BranchExists, Commit, Isolation, ReleaseResult } from "../isolation.js";
import type { NetworkPolicy } from "../network/policy.js";
import type { OutputSpec } from "../output.js";
import type { Configured } from "../plugin.js";
import type { Mount, ResourceLimits, Sandbox } from "../sandbox.js";
import type { Usage } from "../usage.js";
import type { Budget, BudgetStop } from "./budget.js";
import type { GitIdentityOption } from "./git-identity.js";

/**
 * Everything one run takes: `run(options)`. Only `agent` and a prompt are needed; every other
 * option has a safe default (the `host` sandbox warns). `T`: the type of the structured `output`.
 */
export interface RunOptions<T = undefined> {
  /** The agent: `claude({ model })`, `commandAgent.configure({ argv })`, or an Agent object. */
  agent: Configured<"agent"> | Agent;
  /** Defaults to the `host` sandbox (no isolation). */
  sandbox?: Configured<"sandbox"> | Sandbox;
  /** Defaults to `in-place` (the current checkout). */
  isolation?: Configured<"isolation"> | Isolation;
  /** Where the run's events are shown (terminal, log file, NDJSON…). Default: none (library code never prints). */
  displays?: Display[];
  /** Called with every event, after the displays. */
  onEvent?: (event: RunEvent) => void;
  /** Where the run starts; defaults to process.cwd(). */
  cwd?: string;
  /** Names the run: the branch, the worktree folder and every event carry it. */
  name?: string;
  /** The run's id; default a fresh one (`newRunId()`). */
  runId?: string;
  /** An inline prompt, sent verbatim. */
  prompt?: string;
  /** A prompt template: `{{KEY}}` placeholders, then `` !`cmd` `` expansion inside the sandbox. */
  promptFile?: string;
  /** Values for the template's `{{KEY}}` placeholders (quoted when they land inside a `` !`cmd` ``). */
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
  /**
   * Characters a line of the agent's output may have; a longer one is cut there and ends in
   * `CUT_MARKER` (`@corral/core/plugin-kit`), the rest of it dropped, so a line of any size costs
   * bounded memory. The agent's parser sees the cut line (docs/agents.md). Default 8 MiB.
   */
  maxLineChars?: number;
  /** Aborts the run; it still shuts down in order and brings back what was committed (`E_ABORTED`). */
  signal?: AbortSignal;
  /** Abort (and clean up) on SIGINT/SIGTERM while the run lives. Default true. */
  handleProcessSignals?: boolean;
  /** Structured output: a schema (and tag) the agent's final answer is parsed and validated against (`Output.object(...)`). */
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
  /** Extra host paths shown inside the sandbox, read-only unless said otherwise. */
  mounts?: Mount[];
  /**
   * What the sandbox may reach: `"none"`, `"host"`, or `{ allow: [...], deny?, hosts? }`, enforced by
   * corral's egress proxy, with the agent's API added. Default: `{ allow: [] }` (the agent's API only)
   * where the sandbox enforces it, else `"host"` with a warning. See docs/network.md.
   */
  network?: NetworkPolicy;
  /** `gateway`: the agent's API key stays on the host; corral's gateway adds it to each request (needs an allowlist). Default `env`. */
  credentials?: "env" | "gateway";
  /**
   * What the run may spend (tokens, cost, iterations, seconds): the first one reached stops the agent
   * cleanly, the work is kept, and the run ends `incomplete` with `stoppedBy` naming it.
   */
  budget?: Budget;
  /** Resource limits the sandbox must enforce (or the run fails before it starts). */
  limits?: ResourceLimits;
  /** Said at the start of the run, as `log` warnings (e.g. what the caller found while resolving it: library code never prints). */
  warnings?: string[];
  /** Commands around the run: on the host in the new workspace, or inside the sandbox. */
  hooks?: Hooks;
  /** Untracked paths or globs of the main checkout copied into a new workspace (node_modules, .env…). */
  copy?: string[];
  /**
   * How the sandbox gets the workspace (docs/copied-workspaces.md): `mount` (the default) mounts
   * it; `copy` ships the base commit (a one-commit shallow git bundle) and the `copy` files into a
   * folder of the sandbox's own and brings the run's branch back through the isolation's quarantine,
   * uncommitted work as a patch beside the run's journal; `auto` copies when the sandbox's engine is
   * not local (`capabilities.workspaceLocality: "remote"`) and says so.
   */
  workspace?: WorkspaceMode;
  /**
   * When the branch the run's name gives exists already: `new` (default) makes another one and says
   * so, `fail` refuses (`E_BRANCH_EXISTS`), `reuse` continues on it. Passed to `Isolation.acquire`.
   */
  branchExists?: BranchExists;
  /**
   * A human-in-the-loop session in place of the iterations (`corral run --interactive`, `corral shell`):
   * once the sandbox is ready, `argv` (default: the agent's own program, as the run found it) runs once
   * with the caller's terminal (`SandboxHandle.attach`), with the same env, mounts, network and limits
   * an unattended run has; the workspace is then released as after any run. The sandbox must declare
   * `capabilities.attach` (else `E_ATTACH_UNSUPPORTED`). Exit 0 ends the run `succeeded`, any other `incomplete`.
   */
  interactive?: { argv?: readonly string[] };
  /** Continue an earlier run (`corral run --resume`): its branch and workspace, and its agent session when it has one. */
  resume?: ResumeFrom;
  /**
   * A host folder to keep the agent's session in after the run (the files its CLI keeps under the
   * per-run HOME, `Agent.sessionFiles`), so a later run can `resume` it. Default: not kept.
   */
  keepSession?: string;
}

/** What a run continues (`RunOptions.resume`). */
export interface ResumeFrom {
  /** The earlier run's id: said in `run.started` (`resumedFrom`). */
  runId: string;
  /** Its branch (continued: its tip is the base) and workspace (reused when still kept), for `Isolation.acquire`. */
  branch?: string;
  workspace?: string;
  /** Its base branch, kept as the merge target. */
  baseBranch?: string;
  /** The agent's session to continue in the first iteration (`AgentCommandInput.resumeSessionId`). Agent-written: checked, dropped with a warning when not a plain id. */
  sessionId?: string;
  /** The folder its session was kept in (`keepSession`), copied into the new run's HOME before the agent's setup. */
  sessionDir?: string;
}

/** What a successful (or `incomplete`) run gives back; a failed run throws a CorralError instead. */
export interface RunResult<T = undefined> {
  /** The run's id (its journal, temp folders and labels carry it). */
  runId: string;
  /** The run's name, when it had one. */
  name?: string;
  /**
   * `incomplete`: all `maxIterations` ran without the completion signal (and no structured output
   * was asked for, which would have been the answer), or a budget stopped it (`stoppedBy`). The work
   * is there; the task may not be done.
   */
  status: "succeeded" | "incomplete";
  /** How many iterations ran. */
  iterations: number;
  /** The completion signal that ended the loop, if one did. */
  completionSignal?: string;
  /** The budget that stopped the run (its own or its fleet's), if one did: then `status` is `incomplete`. */
  stoppedBy?: BudgetStop;
  /** The commits the run made, oldest first, as they now are in the user's repository. */
  commits: Commit[];
  /** The branch they are on (none for `in-place` outside git). */
  branch?: string;
  /** The commit the workspace started from. */
  baseCommit?: string;
  /** Tokens (and cost, when the agent says) over all iterations. */
  usage: Usage;
  /** The structured output, validated; `undefined` without `output`. */
  output: T;
  /** The agent's last session id, when it reported one. */
  sessionId?: string;
  /** Where the run worked, and what `Isolation.release` did with it. */
  workspace: { path: string; cwd: string; release: ReleaseResult };
  /** How long the run took, setup and shutdown included. */
  durationMs: number;
}

/** `RunOptions.workspace`: how the sandbox gets the workspace. */
export type WorkspaceMode = "mount" | "copy" | "auto";
