import type { AgentEvent, AgentParser, Usage } from "@corral/core";
import { cutLineEvent, isCutLine, jsonObjectLine } from "@corral/core/plugin-kit";

type Json = Record<string, any>;

/**
 * Parses `opencode run --format json` lines by their `type`, never by position: `step_start`,
 * `text`, `reasoning`, `tool_use`, `step_finish`, `error`, each with the session id. OpenCode
 * prints no closing line, so the result is made at the end of the stream from what was seen: the
 * last text, the steps taken, and whether an error was reported. Lines it does not know (new
 * event types, non-JSON noise, stderr) pass through as `raw` events; nothing here is fatal.
 */
export function createOpencodeParser(): AgentParser {
  let sessionId: string | undefined;
  let lastText: string | undefined;
  let error: string | undefined;
  let steps = 0;
  let costUsd = 0;
  return {
    parse(line, stream) {
      if (stream === "stderr") return [{ type: "raw", line, stream }];
      // A line over the run's line cap arrives cut (maxLineChars): its JSON is gone, say so once.
      if (isCutLine(line)) return [cutLineEvent("OpenCode", line)];
      const event = jsonObjectLine(line);
      if (!event || typeof event.type !== "string") return [{ type: "raw", line, stream }];
      const out: AgentEvent[] = [];
      if (sessionId === undefined && typeof event.sessionID === "string" && event.sessionID) {
        sessionId = event.sessionID;
        out.push({ type: "session", sessionId: event.sessionID });
      }
      const part: Json = event.part && typeof event.part === "object" ? event.part : {};
      switch (event.type) {
        case "step_start":
          return out;
        case "text":
          if (typeof part.text !== "string") break;
          lastText = part.text;
          out.push({ type: "text", text: part.text });
          return out;
        case "reasoning":
          // The model's scratchpad (printed with --thinking), not output: left out.
          return out;
        case "tool_use": {
          const events = fromTool(part);
          if (!events) break;
          out.push(...events);
          return out;
        }
        case "step_finish": {
          steps++;
          const usage = usageOf(part);
          if (usage.costUsd !== undefined) costUsd += usage.costUsd;
          out.push({ type: "usage", usage });
          return out;
        }
        case "error":
          error = errorMessage(event.error);
          out.push({ type: "error", message: error });
          return out;
      }
      out.push({ type: "raw", line, stream });
      return out;
    },
    end() {
      if (steps === 0 && error === undefined) return [];
      const text = error ?? lastText;
      return [
        {
          type: "result",
          isError: error !== undefined,
          ...(text !== undefined ? { text } : {}),
          ...(costUsd > 0 ? { costUsd } : {}),
          turns: steps,
        },
      ];
    },
  };
}

/** A `tool_use` line is printed once the call has finished: the call and its result together. */
function fromTool(part: Json): AgentEvent[] | undefined {
  const state: Json | undefined = part.state && typeof part.state === "object" ? part.state : undefined;
  if (part.type !== "tool" || typeof part.tool !== "string" || !state) return undefined;
  const id = typeof part.callID === "string" ? { id: part.callID } : {};
  const call: AgentEvent = { type: "tool-call", ...id, name: part.tool, input: state.input };
  if (state.status === "error") {
    return [call, { type: "tool-result", ...id, output: typeof state.error === "string" ? state.error : "", isError: true }];
  }
  if (state.status !== "completed") return [call];
  const exit = state.metadata?.exit;
  return [
    call,
    {
      type: "tool-result",
      ...id,
      output: typeof state.output === "string" ? state.output : "",
      ...(typeof exit === "number" && Number.isInteger(exit) ? { exitCode: exit } : {}),
    },
  ];
}

/**
 * One step's tokens: `input` is what was not read from the cache; reasoning tokens are billed as
 * output, so they count there. The cost is OpenCode's own estimate from its model catalogue (0 for
 * a model it has no price for, which is left out rather than reported as free).
 */
function usageOf(part: Json): Usage {
  const tokens: Json = part.tokens && typeof part.tokens === "object" ? part.tokens : {};
  const cache: Json = tokens.cache && typeof tokens.cache === "object" ? tokens.cache : {};
  const cost = typeof part.cost === "number" && Number.isFinite(part.cost) && part.cost > 0 ? part.cost : undefined;
  return {
    inputTokens: num(tokens.input),
    outputTokens: num(tokens.output) + num(tokens.reasoning),
    cacheReadTokens: num(cache.read),
    cacheWriteTokens: num(cache.write),
    ...(cost !== undefined ? { costUsd: cost } : {}),
  };
}

/** `{"name":"APIError","data":{"message":"…","statusCode":401}}`, or whatever shape a newer OpenCode sends. */
function errorMessage(error: unknown): string {
  if (typeof error === "string") return error;
  if (!error || typeof error !== "object") return "opencode reported an error";
  const e = error as Json;
  const message = typeof e.data?.message === "string" ? e.data.message : typeof e.message === "string" ? e.message : undefined;
  const name = typeof e.name === "string" ? e.name : undefined;
  const status = typeof e.data?.statusCode === "number" ? ` ${e.data.statusCode}` : "";
  if (message !== undefined) return name ? `${name}${status}: ${message}` : message;
  return name ?? "opencode reported an error";
}

const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0);
