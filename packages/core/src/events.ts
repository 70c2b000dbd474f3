import type { AgentEvent } from "./agent.js";
import type { Commit, ReleaseResult } from "./isolation.js";
import type { Usage } from "./usage.js";

/** Fields every RunEvent carries. `name` is the run's name (a task in a fleet). */
export interface RunEventBase {
  runId: string;
  name?: string;
  /** ISO 8601 */
  time: string;
}

export type RunStatus = "succeeded" | "failed" | "aborted";

/** Everything that happens in a run is one of these. Displays, the journal and tests read them. */
export type RunEventBody =
  | { type: "run.started"; agent: string; sandbox: string; isolation: string; maxIterations: number; cwd: string }
  | { type: "workspace.ready"; path: string; cwd: string; branch?: string; baseCommit?: string }
  | { type: "workspace.copied"; paths: string[]; durationMs: number }
  | { type: "sandbox.ready"; sandbox: string; id: string }
  | { type: "iteration.started"; iteration: number; maxIterations: number }
  | { type: "prompt"; iteration: number; chars: number }
  | { type: "agent"; iteration: number; event: AgentEvent }
  | { type: "completion.detected"; iteration: number; signal: string }
  | { type: "iteration.finished"; iteration: number; exitCode: number | null; durationMs: number; usage: Usage }
  | { type: "hook.started"; hook: string; command: string }
  | { type: "hook.output"; hook: string; line: string; stream: "stdout" | "stderr" }
  | { type: "hook.finished"; hook: string; command: string; exitCode: number | null; durationMs: number }
  | { type: "commits"; commits: Commit[] }
  | { type: "workspace.released"; result: ReleaseResult }
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
      error?: { code: string; message: string; hint?: string };
    };

export type RunEvent = RunEventBase & RunEventBody;
export type RunEventType = RunEvent["type"];

/** Narrow a RunEvent by its type: `isEvent(e, "agent")`. */
export function isEvent<T extends RunEventType>(event: RunEvent, type: T): event is Extract<RunEvent, { type: T }> {
  return event.type === type;
}
