import type { AgentEvent, AgentParser, Usage } from "@corral/core";
import { cutLineEvent, isCutLine, jsonObjectLine } from "@corral/core/plugin-kit";
import { ThreadUsage } from "./usage.js";

type Json = Record<string, any>;

/** How `createCodexParser` counts usage: Codex reports a resumed thread's total, so the parser subtracts what the thread had already used. */
export interface CodexParserOptions {
  /** Shared per agent instance, so a resumed exec can subtract what its thread had used before. */
  threads?: ThreadUsage;
  /** The thread this exec resumes, if any. */
  resumedThreadId?: string;
}

/**
 * Parses `codex exec --json` events by their `type` (and `item.type`), never by position. Unknown
 * lines pass through as `raw`. A turn fails on `turn.failed`, or when the stream ends with an
 * `error` but no completed turn; a lone `error` (e.g. "Reconnecting… 1/5") is only reported.
 */
export function createCodexParser(options: CodexParserOptions = {}): AgentParser {
  const threads = options.threads ?? new ThreadUsage();
  const baseline = options.resumedThreadId === undefined ? undefined : threads.total(options.resumedThreadId);
  const started = new Set<string>();
  let threadId: string | undefined;
  let lastText: string | undefined;
  let lastError: string | undefined;
  let finished = false;

  const toolCall = (item: Json, name: string, input: unknown): AgentEvent => ({ type: "tool-call", ...id(item), name, input });

  const fromItem = (phase: "started" | "updated" | "completed", item: Json): AgentEvent[] | undefined => {
    switch (item.type) {
      case "agent_message":
        if (phase !== "completed" || typeof item.text !== "string") return [];
        lastText = item.text;
        return [{ type: "text", text: item.text }];
      case "command_execution": {
        const call = toolCall(item, "shell", { command: item.command });
        if (phase === "started") {
          if (typeof item.id === "string") started.add(item.id);
          return [call];
        }
        if (phase !== "completed") return [];
        const exitCode = typeof item.exit_code === "number" ? item.exit_code : undefined;
        const failed = item.status === "failed" || item.status === "declined" || (exitCode !== undefined && exitCode !== 0);
        return [
          ...(typeof item.id === "string" && started.has(item.id) ? [] : [call]),
          {
            type: "tool-result",
            ...id(item),
            output: typeof item.aggregated_output === "string" ? item.aggregated_output : "",
            ...(exitCode !== undefined ? { exitCode } : {}),
            ...(failed ? { isError: true } : {}),
          },
        ];
      }
      case "file_change": {
        if (phase !== "completed") return [];
        const changes: Json[] = Array.isArray(item.changes) ? item.changes : [];
        return [
          toolCall(item, "file_change", { changes }),
          {
            type: "tool-result",
            ...id(item),
            output: changes.map((c) => `${String(c?.kind ?? "update")} ${String(c?.path ?? "?")}`).join("\n"),
            ...(item.status === "failed" ? { isError: true } : {}),
          },
        ];
      }
      case "mcp_tool_call": {
        const call = toolCall(item, `${String(item.server ?? "mcp")}.${String(item.tool ?? "?")}`, item.arguments);
        if (phase === "started") {
          if (typeof item.id === "string") started.add(item.id);
          return [call];
        }
        if (phase !== "completed") return [];
        const error = typeof item.error?.message === "string" ? item.error.message : undefined;
        return [
          ...(typeof item.id === "string" && started.has(item.id) ? [] : [call]),
          { type: "tool-result", ...id(item), output: error ?? stringify(item.result), ...(error || item.status === "failed" ? { isError: true } : {}) },
        ];
      }
      case "web_search":
        return phase === "completed" ? [toolCall(item, "web_search", { query: item.query })] : [];
      case "error":
        // A warning codex shows in the transcript (e.g. unknown model metadata); not a failure.
        return typeof item.message === "string" ? [{ type: "error", message: item.message }] : undefined;
      case "reasoning":
      case "todo_list":
        return [];
      default:
        return undefined;
    }
  };

  const fromEvent = (event: Json): AgentEvent[] | undefined => {
    switch (event.type) {
      case "thread.started":
        if (typeof event.thread_id !== "string") return undefined;
        threadId = event.thread_id;
        return [{ type: "session", sessionId: event.thread_id }];
      case "turn.started":
        return [];
      case "item.started":
      case "item.updated":
      case "item.completed":
        return event.item && typeof event.item === "object" ? fromItem(event.type.slice(5) as "started" | "updated" | "completed", event.item) : undefined;
      case "turn.completed": {
        finished = true;
        const total = usageOf(event.usage ?? {});
        const usage = threads.delta(threadId, total, threadId !== undefined && threadId === options.resumedThreadId ? baseline : undefined);
        return [
          { type: "usage", usage },
          { type: "result", isError: false, ...(lastText !== undefined ? { text: lastText } : {}) },
        ];
      }
      case "turn.failed": {
        finished = true;
        const message = typeof event.error?.message === "string" ? event.error.message : (lastError ?? "the turn failed");
        return [{ type: "result", isError: true, text: message }];
      }
      case "error": {
        if (typeof event.message !== "string") return undefined;
        lastError = event.message;
        // "Reconnecting... 2/5 (why)": codex retrying a failed request, not yet a failure.
        const retry = /^Reconnecting\.*\s*(\d+)\/(\d+)\s*(?:\((.*)\))?\s*$/su.exec(event.message);
        if (retry) return [{ type: "retry", attempt: Number(retry[1]), maxRetries: Number(retry[2]), ...(retry[3] ? { message: retry[3] } : {}) }];
        return [{ type: "error", message: event.message }];
      }
      default:
        return undefined;
    }
  };

  return {
    parse(line, stream) {
      if (stream === "stderr" || line.charCodeAt(0) !== 123 /* { */) return [{ type: "raw", line, stream }];
      // A line over the run's line cap arrives cut (maxLineChars): its JSON is gone, say so once.
      if (isCutLine(line)) return [cutLineEvent("Codex", line)];
      const event = jsonObjectLine(line);
      const events = event ? fromEvent(event) : undefined;
      return events ?? [{ type: "raw", line, stream }];
    },
    end() {
      // An exec that died after an error but before its turn ended failed with that error.
      return !finished && lastError !== undefined ? [{ type: "result", isError: true, text: lastError }] : [];
    },
  };
}

/** Codex counts cached input inside input_tokens; corral counts them apart, like Anthropic does. */
export function usageOf(usage: Json): Usage {
  const input = num(usage.input_tokens);
  const cached = Math.min(num(usage.cached_input_tokens), input);
  return { inputTokens: input - cached, outputTokens: num(usage.output_tokens), cacheReadTokens: cached, cacheWriteTokens: num(usage.cache_write_input_tokens) };
}

const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);
const id = (item: Json): { id?: string } => (typeof item.id === "string" ? { id: item.id } : {});

function stringify(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
