import type { AgentEvent } from "./agent.js";
import type { Commit, ReleaseResult } from "./isolation.js";
import type { BudgetStop } from "./run/budget.js";
import type { Usage } from "./usage.js";

/** Fields every RunEvent carries. `name` is the run's name (a task in a fleet). */
export interface RunEventBase {
  /** The run's id (a fleet's own events: the fleet's). */
  runId: string;
  /** The run's name, when it has one. */
  name?: string;
  /** ISO 8601 */
  time: string;
}

/**
 * How a run ended. `incomplete`: every iteration ran (`maxIterations`) and the agent never gave the
 * completion signal; its work is brought back like a success's, but it is not one.
 */
export type RunStatus = "succeeded" | "incomplete" | "failed" | "aborted";

/** What a fleet's task came to; `skipped`: never started (fail-fast or an interrupt stopped the fleet first). */
export type TaskStatus = RunStatus | "skipped";

/** One task of a fleet as its summary shows it, also when it failed or was aborted. */
export interface FleetTaskSummary {
  /** The task's name. */
  name: string;
  /** How it ended. */
  status: TaskStatus;
  /** Its run's id, when it started. */
  runId?: string;
  /** Iterations it ran. */
  iterations?: number;
  /** How many commits it brought back. */
  commits?: number;
  /** The branch its commits are on. */
  branch?: string;
  /** Where the task's kept workspace (its uncommitted work) lies, when it was kept. */
  keptPath?: string;
  /** The agent plugin that ran it (a task list may name one per task). */
  agent?: string;
  /** The model it was asked to use (the task's, the flag's or the config's), else the one the agent reported. */
  model?: string;
  /** Tokens it used (all kinds). */
  tokens?: number;
  /** What it cost in USD, where the agent reports cost. */
  costUsd?: number;
  /** How long it ran (0 when skipped). */
  durationMs: number;
  /** Why it failed: the CorralError's code, message and hint. */
  error?: { code: string; message: string; hint?: string };
}

/** Everything that happens in a run is one of these. Displays, the journal and tests read them. */
export type RunEventBody =
  | { type: "run.started"; agent: string; sandbox: string; isolation: string; maxIterations: number; cwd: string; resumedFrom?: string }
  | { type: "workspace.ready"; path: string; cwd: string; branch?: string; baseCommit?: string; baseBranch?: string }
  | { type: "workspace.copied"; paths: string[]; durationMs: number }
  | { type: "sandbox.ready"; sandbox: string; id: string }
  | { type: "iteration.started"; iteration: number; maxIterations: number }
  | { type: "prompt"; iteration: number; chars: number }
  /** One event of the agent other than its output: a tool call, its result, usage, the session, … */
  | { type: "agent"; iteration: number; event: AgentEvent }
  /**
   * The agent's output, batched (ADR 0712): consecutive `text` events (`kind: "text"`: the command
   * agent's stdout lines, an agent's messages) or `raw` lines of one stream (`kind: "raw"`), in order,
   * as many as one read of its output held. Each element is what one such event held (its `text`, or
   * its `line`), exactly; a message may hold newlines, a raw line never does. `stream`: where they were
   * printed. `agentEventsOf` gives them back as the `AgentEvent`s they stand for.
   *
   * Made from a block of whole lines (ADR 0740), `lines` is a lazy, memoised getter (own, enumerable:
   * JSON, spreads and `toEqual` see an array) over the read's text, split at "\n" only when read;
   * `joinedOutputOf(event)` gives that text without splitting it (the exact bytes, lines joined by "\n").
   */
  | { type: "agent.output"; iteration: number; kind: "text" | "raw"; stream: "stdout" | "stderr"; lines: string[] }
  | { type: "completion.detected"; iteration: number; signal: string }
  | { type: "iteration.finished"; iteration: number; exitCode: number | null; durationMs: number; usage: Usage }
  | { type: "hook.started"; hook: string; command: string }
  | { type: "hook.output"; hook: string; line: string; stream: "stdout" | "stderr" }
  | { type: "hook.finished"; hook: string; command: string; exitCode: number | null; durationMs: number }
  | { type: "commits"; commits: Commit[] }
  /** `branch`: the run's branch, which outlives the workspace (a removed worktree leaves its branch). */
  | { type: "workspace.released"; result: ReleaseResult; branch?: string }
  | { type: "log"; level: "info" | "warn"; message: string }
  /** A connection the egress proxy let through (when it ended, with its bytes). */
  | { type: "network.allowed"; host: string; port: number; protocol: string; rule?: string; bytesOut: number; bytesIn: number; error?: string }
  /** A connection the egress proxy refused, with why and the rule that would allow it. */
  | { type: "network.denied"; host: string; port: number; protocol: string; rule?: string; reason: string; allowWith?: string }
  | {
      type: "run.finished";
      status: RunStatus;
      iterations: number;
      usage: Usage;
      durationMs: number;
      /** The completion signal that ended the loop, if one did. */
      completionSignal?: string;
      /** The budget that stopped the run, if one did (then `status` is `incomplete`). */
      stoppedBy?: BudgetStop;
      /** The run's branch and what it holds: the commits, as they now are in the user's repository. */
      branch?: string;
      /** Absent in journals written before corral recorded it. */
      commits?: Commit[];
      /** Where the workspace lies when it was kept (e.g. uncommitted work), and why. */
      workspace?: { path: string; kept: boolean; keptReason?: string; uncommitted?: number };
      error?: { code: string; message: string; hint?: string };
      /**
       * What the run's teardown could not do, one message each (naming what is left: a container the
       * engine would not remove, a temp folder): the run needs `corral clean`. Absent when it all went.
       */
      teardownIncomplete?: string[];
    }
  /**
   * Fleet events (`runMany`): with the fleet's own id as `runId`. A task that never started (fail-fast
   * tripped, or the fleet was interrupted first), and the fleet's end with one summary row per task.
   */
  | { type: "task.skipped"; status: "skipped" | "aborted"; reason: string }
  | { type: "fleet.finished"; tasks: FleetTaskSummary[]; succeeded: number; durationMs: number; interrupted: boolean };

/** One event of a run, as displays, `onEvent` and the journal get it. Every text in it has passed the redactor. */
export type RunEvent = RunEventBase & RunEventBody;
/** The `type` of a RunEvent: `"run.started"`, `"agent"`, … */
export type RunEventType = RunEvent["type"];

/**
 * The `AgentEvent`s a RunEvent stands for: an `agent` event's one, an `agent.output` event's lines as
 * `text` or `raw` events (in order), none for any other. The one way to read the agent's events
 * whether they came batched or not (journals written before ADR 0712 hold one `agent` event per line).
 */
export function agentEventsOf(event: RunEvent): AgentEvent[] {
  if (event.type === "agent") return [event.event];
  if (event.type !== "agent.output") return [];
  const { lines, stream } = event;
  return event.kind === "text" ? lines.map((text) => ({ type: "text", text })) : lines.map((line) => ({ type: "raw", line, stream }));
}

/**
 * The text an `agent.output` body's lines were split from, when core split them from one (ADR 0720):
 * a property of the event itself, not enumerable (JSON, spreads and equality never see it) and not a
 * WeakMap, whose entries keep the text in the old generation until a full GC (+17 MB RSS, 1.14x CPU).
 */
const SPLIT_FROM = Symbol("corral.joinedOutput");

/**
 * The lines of an `agent.output` event joined by "\n", when core made them by splitting that text at
 * its newlines (a block of output from `ExecOptions.onLines`): then no line holds a newline, and a
 * reader that wants them joined (the journal) need not join them again. Undefined otherwise (a batch of
 * messages, lines that arrived one by one, a line the redactor changed): join them yourself.
 */
export function joinedOutputOf(event: RunEvent | RunEventBody): string | undefined {
  return event.type === "agent.output" ? (event as { [SPLIT_FROM]?: string })[SPLIT_FROM] : undefined;
}

/** Records that `target`'s lines are `joined` split at its newlines (core only; the lines must not change after). */
export function setJoinedOutput(target: object, joined: string): void {
  Object.defineProperty(target, SPLIT_FROM, { value: joined, enumerable: false, configurable: true });
}

/**
 * Gives `target` (an `agent.output` event or body being made, its other keys already set) lines that
 * are `text` split at "\n", made only when someone reads them (ADR 0740): making 500,000 strings a MB
 * of 2-byte lines is the whole CPU budget of a run's output, and the journal needs only the text.
 * `lines`, when given, are that split already (then nothing is made twice).
 */
export function setLazyOutput(target: object, text: string, lines?: string[]): void {
  setJoinedOutput(target, text);
  if (lines !== undefined) Object.defineProperty(target, MADE_LINES, { value: lines, enumerable: false, configurable: true });
  Object.defineProperty(target, "lines", LAZY_LINES);
}

const MADE_LINES = Symbol("corral.madeLines");
type LazyOutput = { [SPLIT_FROM]?: string | undefined; [MADE_LINES]?: string[] };
/**
 * One accessor pair for every such event: V8 keeps an accessor in the object's hidden class, so a
 * pair of closures per event kept each event's text alive until a full GC (1 KiB lines: 1.35x the
 * CPU, +55 MB RSS); this one reads the text from the event itself.
 */
const LAZY_LINES: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: LazyOutput): string[] {
    let made = this[MADE_LINES];
    if (made === undefined) {
      made = (this[SPLIT_FROM] ?? "").split("\n");
      Object.defineProperty(this, MADE_LINES, { value: made, enumerable: false, configurable: true });
    }
    return made;
  },
  // A reader that replaces the lines (a test, a display's copy) gets a plain array; the text no longer stands for it.
  set(this: LazyOutput, value: string[]) {
    Object.defineProperty(this, "lines", { value, enumerable: true, configurable: true, writable: true });
    Object.defineProperty(this, SPLIT_FROM, { value: undefined, enumerable: false, configurable: true });
  },
};

/** Narrow a RunEvent by its type: `isEvent(e, "agent")`. */
export function isEvent<T extends RunEventType>(event: RunEvent, type: T): event is Extract<RunEvent, { type: T }> {
  return event.type === type;
}
