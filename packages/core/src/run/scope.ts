import type { Agent } from "../agent.js";
import type { RunEventBody } from "../events.js";
import type { Isolation, Workspace } from "../isolation.js";
import type { Redactor } from "../redact.js";
import type { CopiedWorkspaceCapability, Sandbox, SandboxHandle } from "../sandbox.js";
import type { Usage } from "../usage.js";
import type { RunNetwork } from "./network.js";
import type { RunOptions } from "./options.js";
import type { Settings } from "./settings.js";

/**
 * Sends an event to the run's displays and observers, with the run's id, name and time, through the
 * run's redactor. `checked`: core's own copy whose strings `copyForRedaction` found the redactor
 * leaves as they are (the events of a block of agent output, looked at once): not looked at again.
 */
export type Emit = (body: RunEventBody, checked?: boolean) => void;

/** What a run holds while it lives; shutdown gives back whatever is set, in one order. */
export interface Held {
  home?: string;
  network?: RunNetwork;
  workspace?: Workspace;
  handle?: SandboxHandle;
  /** Set for a copied workspace (`workspace: "copy"`): where it is inside the sandbox, and what `copy` brought. */
  copy?: CopiedRun;
}

/** A copied workspace's run state. */
export interface CopiedRun {
  capability: CopiedWorkspaceCapability;
  /** The agent's working directory inside the sandbox. */
  cwd: string;
  /** Paths `copy` brought into the host workspace, shipped in beside the base commit. */
  copied: string[];
  /** Where uncommitted work is kept as a patch. */
  patchPath: string;
}

/** What every phase of one run shares: its inputs, its plugins, its event stream and what it holds. */
export interface RunScope<T = unknown> {
  readonly runId: string;
  readonly options: RunOptions<T>;
  readonly settings: Settings;
  readonly agent: Agent;
  readonly sandbox: Sandbox;
  readonly isolation: Isolation;
  readonly hostEnv: Record<string, string | undefined>;
  readonly redactor: Redactor;
  readonly emit: Emit;
  /** Aborted by the caller's signal, SIGINT/SIGTERM, or nothing. */
  readonly signal: AbortSignal;
  /** Throws AbortError once `signal` is aborted: each phase calls it between its steps. */
  readonly throwIfAborted: () => void;
  /** Set by each phase as it takes something; given back by shutdown. */
  readonly held: Held;
  /** Counted as the run goes, for `run.finished` whatever its end. */
  readonly progress: { usage: Usage; iterations: number };
  /**
   * Checks the run's budget against what it has spent plus `pending` (the running iteration's usage
   * so far) and the iteration about to start; when one is reached, aborts the run with it as reason.
   */
  readonly checkBudget: (pending?: Usage) => void;
}
