import type { AgentEvent, AgentParser, Usage } from "@corral/core";
import { cutLineEvent, isCutLine, jsonObjectLine } from "@corral/core/plugin-kit";

type Json = Record<string, any>;

/**
 * Parses Gemini CLI's `--output-format stream-json` lines by their `type`, never by position:
 * `init` (the session), `message` (the assistant's text arrives in `delta` pieces: they are joined
 * into one text event per message, so a completion signal split across pieces still matches),
 * `tool_use`/`tool_result`, `error`, and `result` (its `stats` carry the usage). Unknown lines
 * pass through as `raw`.
 */
export function createGeminiParser(): AgentParser {
  let pending = "";
  let lastText: string | undefined;
  let lastError: string | undefined;
  let finished = false;

  /** The assistant's message so far, as one text event. */
  const flush = (): AgentEvent[] => {
    if (!pending) return [];
    const text = pending;
    pending = "";
    lastText = text;
    return [{ type: "text", text }];
  };

  const fromEvent = (event: Json): AgentEvent[] | undefined => {
    switch (event.type) {
      case "init":
        if (typeof event.session_id !== "string" || !event.session_id) return undefined;
        return [{ type: "session", sessionId: event.session_id, ...(typeof event.model === "string" ? { model: event.model } : {}) }];
      case "message":
        if (typeof event.content !== "string") return undefined;
        if (event.role !== "assistant") return flush();
        pending += event.content;
        // A whole (non-delta) message ends here; pieces wait for what follows them.
        return event.delta === true ? [] : flush();
      case "tool_use":
        return [
          ...flush(),
          { type: "tool-call", ...id(event.tool_id), name: typeof event.tool_name === "string" ? event.tool_name : "?", input: event.parameters ?? {} },
        ];
      case "tool_result": {
        const failed = event.status !== "success";
        const output = typeof event.output === "string" ? event.output : typeof event.error?.message === "string" ? event.error.message : "";
        return [...flush(), { type: "tool-result", ...id(event.tool_id), output, ...(failed ? { isError: true } : {}) }];
      }
      case "error": {
        const message = typeof event.message === "string" ? event.message : typeof event.error?.message === "string" ? event.error.message : undefined;
        if (message === undefined) return undefined;
        // A warning unless the stream ends without a result (then it is the failure) or says it is one.
        lastError = message;
        return [...flush(), { type: "error", message }];
      }
      case "result": {
        finished = true;
        const text = flush();
        const isError = event.status !== "success";
        const message = typeof event.error?.message === "string" ? event.error.message : lastError;
        return [
          ...text,
          { type: "usage", usage: usageOf(event.stats ?? {}) },
          { type: "result", isError, ...(isError ? { text: message ?? "Gemini CLI reported an error" } : lastText !== undefined ? { text: lastText } : {}) },
        ];
      }
      default:
        return undefined;
    }
  };

  return {
    parse(line, stream) {
      if (stream === "stderr" || line.charCodeAt(0) !== 123 /* { */) return [{ type: "raw", line, stream }];
      // A line over the run's line cap arrives cut (maxLineChars): its JSON is gone, say so once.
      if (isCutLine(line)) return [cutLineEvent("Gemini CLI", line)];
      const event = jsonObjectLine(line);
      const events = event ? fromEvent(event) : undefined;
      return events ?? [{ type: "raw", line, stream }];
    },
    end() {
      // An exec that died after an error but before its result failed with that error.
      const text = flush();
      return [...text, ...(!finished && lastError !== undefined ? [{ type: "result" as const, isError: true, text: lastError }] : [])];
    },
  };
}

/** Gemini counts cached input inside input_tokens (`input` is the rest); corral counts them apart. Gemini reports no cache writes. */
function usageOf(stats: Json): Usage {
  const total = num(stats.input_tokens);
  const cached = Math.min(num(stats.cached), total);
  const input = typeof stats.input === "number" ? num(stats.input) : total - cached;
  return { inputTokens: input, outputTokens: num(stats.output_tokens), cacheReadTokens: cached, cacheWriteTokens: 0 };
}

const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);
const id = (value: unknown): { id?: string } => (typeof value === "string" ? { id: value } : {});
