import type { AgentEvent, AgentParser } from "@corral/core";
import { cutLineEvent, isCutLine, jsonObjectLine } from "@corral/core/plugin-kit";

type Json = Record<string, any>;

/** Lines Copilot CLI prints that carry nothing corral reports (the user's own prompt, turn markers, a call about to start). */
const QUIET = new Set(["user.message", "assistant.turn_start", "assistant.turn_end", "tool.execution_start", "system.message"]);

/**
 * Parses `copilot --output-format json` lines by their `type`, never by position. Copilot prints
 * its session events: `assistant.message` (the text and the tool calls of one model step),
 * `tool.execution_complete` (a call's output, exit code and success), `session.error`, and a closing
 * `result` line with the session id and exit code. Streaming deltas and progress lines are marked
 * `ephemeral` and are left out (the whole message follows). Copilot CLI 1.0.102 prints no token
 * counts on stdout (see the README), so no usage event is made. Unknown lines pass through as `raw`.
 */
export function createCopilotParser(): AgentParser {
  let lastText: string | undefined;
  let error: string | undefined;
  let turns = 0;
  let done = false;
  return {
    parse(line, stream) {
      if (stream === "stderr") return [{ type: "raw", line, stream }];
      // A line over the run's line cap arrives cut (maxLineChars): its JSON is gone, say so once.
      if (isCutLine(line)) return [cutLineEvent("Copilot CLI", line)];
      const event = jsonObjectLine(line);
      if (!event || typeof event.type !== "string") return [{ type: "raw", line, stream }];
      const data: Json = event.data && typeof event.data === "object" ? event.data : {};
      switch (event.type) {
        case "assistant.message": {
          turns++;
          const out: AgentEvent[] = [];
          if (typeof data.content === "string" && data.content !== "") {
            lastText = data.content;
            out.push({ type: "text", text: data.content });
          }
          for (const call of Array.isArray(data.toolRequests) ? data.toolRequests : []) {
            if (!call || typeof call !== "object" || typeof call.name !== "string") continue;
            out.push({ type: "tool-call", ...(typeof call.toolCallId === "string" ? { id: call.toolCallId } : {}), name: call.name, input: call.arguments });
          }
          return out;
        }
        case "tool.execution_complete":
          return [toolResult(data)];
        case "session.error":
          error = typeof data.message === "string" ? data.message : "copilot reported an error";
          return [{ type: "error", message: error }];
        case "result": {
          done = true;
          const out: AgentEvent[] = [];
          if (typeof event.sessionId === "string" && event.sessionId) out.push({ type: "session", sessionId: event.sessionId });
          const failed = error !== undefined || (typeof event.exitCode === "number" && event.exitCode !== 0);
          const text = error ?? lastText;
          out.push({ type: "result", isError: failed, ...(text !== undefined ? { text } : {}), turns });
          return out;
        }
      }
      if (event.ephemeral === true || QUIET.has(event.type)) return [];
      return [{ type: "raw", line, stream }];
    },
    end() {
      // Killed before its `result` line (an idle timeout, a signal): what was seen, as a failure only if an error was.
      if (done || (turns === 0 && error === undefined)) return [];
      const text = error ?? lastText;
      return [{ type: "result", isError: error !== undefined, ...(text !== undefined ? { text } : {}), turns }];
    },
  };
}

/**
 * A finished call. A shell call's output ends in Copilot's own trailer (`<shellId: 0 completed with
 * exit code 3>`), which is cut off: the exit code is reported on its own, from `shellExecution`.
 */
function toolResult(data: Json): AgentEvent {
  const id = typeof data.toolCallId === "string" ? { id: data.toolCallId } : {};
  const result: Json = data.result && typeof data.result === "object" ? data.result : {};
  const errorText = typeof data.error === "string" ? data.error : typeof data.error?.message === "string" ? data.error.message : undefined;
  let output = typeof result.content === "string" ? result.content : (errorText ?? "");
  const exit = data.shellExecution?.exitCode;
  const exitCode = typeof exit === "number" && Number.isInteger(exit) ? exit : undefined;
  if (exitCode !== undefined) output = output.replace(/\n?<shellId: [^>\n]* completed with exit code -?\d+>$/, "");
  return { type: "tool-result", ...id, output, ...(data.success === false ? { isError: true } : {}), ...(exitCode !== undefined ? { exitCode } : {}) };
}

/** The file in the per-run HOME where Copilot CLI writes an exec's usage (`--usage-output-file`). */
export const USAGE_FILE = ".corral-copilot-usage.json";

/**
 * The usage event an exec's `--usage-output-file` JSON means. Copilot writes the whole session's
 * totals (`modelMetrics.<model>.usage`, summed over models here), so the exec's share is `after` less
 * the report the exec before it left (`before`) when both are of one session (`sessionStartTime`).
 * Copilot counts cached prompt tokens inside `inputTokens`; corral's `inputTokens` are the uncached
 * ones. Data written by the agent's CLI: a field not shaped so counts as 0; garbage gives no event.
 */
export function parseCopilotUsageFile(after: string, before?: string): AgentEvent[] {
  const now = sessionTotals(after);
  if (!now) return [];
  const then = before === undefined ? undefined : sessionTotals(before);
  const base = then && then.session !== undefined && then.session === now.session ? then.usage : undefined;
  const usage = Object.fromEntries(Object.entries(now.usage).map(([field, n]) => [field, Math.max(0, n - (base?.[field as keyof typeof base] ?? 0))])) as typeof now.usage;
  return [{ type: "usage", usage }];
}

function sessionTotals(text: string): { session: string | undefined; usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number } } | undefined {
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof report !== "object" || report === null) return undefined;
  const { modelMetrics: metrics, sessionStartTime } = report as { modelMetrics?: unknown; sessionStartTime?: unknown };
  if (typeof metrics !== "object" || metrics === null) return undefined;
  const count = (value: unknown) => (typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0);
  const usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  for (const model of Object.values(metrics)) {
    const u = (model as { usage?: Record<string, unknown> } | null)?.usage;
    if (typeof u !== "object" || u === null) continue;
    const cacheRead = count(u.cacheReadTokens);
    usage.inputTokens += Math.max(0, count(u.inputTokens) - cacheRead);
    usage.outputTokens += count(u.outputTokens);
    usage.cacheReadTokens += cacheRead;
    usage.cacheWriteTokens += count(u.cacheWriteTokens);
  }
  return { session: typeof sessionStartTime === "string" ? sessionStartTime : undefined, usage };
}
