import { agentEventsOf, describeAgentEvent, describeBudgetStop, oneLine, totalTokens, type AgentEvent, type RunEvent } from "@corral/core";
import { inert } from "@corral/core/plugin-kit";

export { oneLine };

/**
 * One human line for an event, or undefined for events not worth a line. Shared by the terminal
 * and the log file. Safe to print: what came from the sandbox in it is made inert.
 */
export function formatEvent(event: RunEvent): string | undefined {
  const line = describeEvent(event);
  return line === undefined ? undefined : inert(line);
}

/** The agent's latest action in a few words (the live status line); safe to print like formatEvent. */
export function formatAgentEvent(event: AgentEvent): string | undefined {
  const line = describeAgentEvent(event);
  return line === undefined ? undefined : inert(line);
}

function describeEvent(event: RunEvent): string | undefined {
  switch (event.type) {
    case "run.started":
      return `run ${event.name ? `${event.name} (${event.runId})` : event.runId} started: agent ${event.agent}, sandbox ${event.sandbox}, isolation ${event.isolation}, up to ${event.maxIterations} iteration(s)`;
    case "workspace.ready":
      return `workspace ${event.path}${event.branch ? ` on branch ${event.branch}` : ""}`;
    case "sandbox.ready":
      return `sandbox ${event.sandbox} ready (${event.id})`;
    case "iteration.started":
      return `iteration ${event.iteration}/${event.maxIterations}`;
    case "agent":
      return describeAgentEvent(event.event);
    case "agent.output":
      // One line per line of output, as each read alone (`stderr: ` before a raw stderr line).
      return agentEventsOf(event)
        .map((e) => describeAgentEvent(e) ?? "")
        .join("\n");
    case "completion.detected":
      return `completion signal seen: ${event.signal}`;
    case "iteration.finished":
      return `iteration ${event.iteration} finished in ${(event.durationMs / 1000).toFixed(1)} s (exit ${event.exitCode ?? "killed"}, ${totalTokens(event.usage)} tokens)`;
    case "hook.started":
      return `hook ${event.hook}: ${event.command}`;
    case "hook.output":
      return `  ${event.hook}| ${event.line}`;
    case "hook.finished":
      return `hook ${event.hook} exited ${event.exitCode ?? "killed"} after ${(event.durationMs / 1000).toFixed(1)} s`;
    case "commits":
      return event.commits.length ? `${event.commits.length} commit(s): ${event.commits.map((c) => `${c.sha.slice(0, 8)} ${c.subject}`).join("; ")}` : undefined;
    case "workspace.released":
      // The branch outlives the workspace: say so, or "removed" reads like the work is gone.
      return event.result.removed ? `workspace removed${event.branch ? `, branch ${event.branch} kept` : ""}` : `workspace kept${event.result.keptReason ? `: ${event.result.keptReason}` : ""}${event.result.path ? ` (${event.result.path})` : ""}`;
    case "log":
      return `${event.level === "warn" ? "warning: " : ""}${event.message}`;
    // Denials are shown, with the fix; allowed connections only go to the journal and --json.
    case "network.denied":
      return `denied ${event.host}:${event.port} (${event.reason})${event.allowWith ? ` — allow it with --allow-domain ${event.allowWith}` : ""}`;
    case "run.finished":
      return `run ${event.status} after ${event.iterations} iteration(s) in ${(event.durationMs / 1000).toFixed(1)} s${event.status === "incomplete" ? `: ${incompleteBecause(event)}` : ""}${event.error ? `: [${event.error.code}] ${event.error.message}` : ""}`;
    case "task.skipped":
      return `${event.status === "skipped" ? "skipped" : "not started"}: ${event.reason}`;
    case "fleet.finished":
      return `fleet finished: ${event.succeeded}/${event.tasks.length} task(s) succeeded in ${(event.durationMs / 1000).toFixed(1)} s${event.interrupted ? " (interrupted)" : ""}`;
    default:
      return undefined;
  }
}

/** Why an `incomplete` run stopped: a budget, or its iterations used up without the completion signal. */
export function incompleteBecause(finished: Extract<RunEvent, { type: "run.finished" }>): string {
  return finished.stoppedBy ? describeBudgetStop(finished.stoppedBy) : "max iterations reached without the completion signal";
}
