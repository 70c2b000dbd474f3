import type { AgentEvent, AgentParser, Usage } from "@corral/core";
import { cutLineEvent, isCutLine, jsonObjectLine } from "@corral/core/plugin-kit";

type Json = Record<string, any>;

/**
 * Lines pi prints that repeat what another line says in full: streaming deltas (each repeats the whole
 * partial message), lifecycle markers, and `turn_end`/`agent_end`, which carry the messages again.
 * They are known by their opening bytes and never parsed: they are most of the stream's bytes.
 */
const SKIPPED = ["message_update", "message_start", "tool_execution_start", "tool_execution_update", "turn_start", "turn_end", "agent_start", "queue_update", "compaction_start"].map(
  (type) => `{"type":"${type}"`,
);
const AGENT_END = '{"type":"agent_end"';

/**
 * Parses `pi --print --mode json` lines by their `type`: the `session` header, each finished
 * message (`message_end`: assistant text, tool calls, usage and cost, a failed request's error),
 * each finished tool (`tool_execution_end`), pi's own retries (`auto_retry_start`), and `agent_end`,
 * which closes the exec with the result. Lines it does not know (new event types, non-JSON noise,
 * stderr) pass through as `raw` events; nothing here is fatal.
 */
export function createPiParser(): AgentParser {
  let lastText: string | undefined;
  let error: string | undefined;
  let turns = 0;
  let costUsd = 0;
  let ended = false;
  const result = (): AgentEvent[] => {
    if (ended || (turns === 0 && error === undefined)) return [];
    ended = true;
    const text = error ?? lastText;
    return [{ type: "result", isError: error !== undefined, ...(text !== undefined ? { text } : {}), ...(costUsd > 0 ? { costUsd } : {}), turns }];
  };
  return {
    parse(line, stream) {
      if (stream === "stderr") return [{ type: "raw", line, stream }];
      if (line.startsWith(AGENT_END)) return result();
      for (const prefix of SKIPPED) if (line.startsWith(prefix)) return [];
      // A line over the run's line cap arrives cut (maxLineChars): its JSON is gone, say so once.
      if (isCutLine(line)) return [cutLineEvent("pi", line)];
      const event = jsonObjectLine(line);
      switch (event?.type) {
        case "session":
          if (typeof event.id === "string" && event.id) return [{ type: "session", sessionId: event.id }];
          break;
        case "message_end": {
          const message: Json | undefined = event.message;
          if (message?.role === "user" || message?.role === "toolResult") return [];
          if (message?.role !== "assistant" || !Array.isArray(message.content)) break;
          turns++;
          const out = fromAssistant(message);
          for (const e of out) if (e.type === "text") lastText = e.text;
          const usage = usageOf(message.usage);
          if (usage) {
            if (usage.costUsd !== undefined) costUsd += usage.costUsd;
            out.push({ type: "usage", usage });
          }
          if (message.stopReason === "error" || message.stopReason === "aborted") {
            error = typeof message.errorMessage === "string" && message.errorMessage ? message.errorMessage : `pi's request ended with ${message.stopReason}`;
            out.push({ type: "error", message: error });
          }
          return out;
        }
        case "tool_execution_end":
          if (typeof event.toolName !== "string") break;
          return [
            {
              type: "tool-result",
              ...(typeof event.toolCallId === "string" ? { id: event.toolCallId } : {}),
              output: resultText(event.result?.content),
              ...(event.isError === true ? { isError: true } : {}),
            },
          ];
        case "auto_retry_start":
          if (!Number.isInteger(event.attempt) || event.attempt < 1) break;
          return [
            {
              type: "retry",
              attempt: event.attempt,
              ...(typeof event.maxAttempts === "number" ? { maxRetries: event.maxAttempts } : {}),
              ...(typeof event.errorMessage === "string" ? { message: event.errorMessage } : {}),
              ...(typeof event.delayMs === "number" ? { delayMs: Math.round(event.delayMs) } : {}),
            },
          ];
        case "auto_retry_end":
        case "compaction_end":
          return [];
      }
      return [{ type: "raw", line, stream }];
    },
    // A stream cut off before `agent_end` (killed, crashed) still reports what it saw.
    end: result,
  };
}

/** An assistant message's text and tool calls; `thinking` blocks are the model's scratchpad, left out. */
function fromAssistant(message: Json): AgentEvent[] {
  const events: AgentEvent[] = [];
  for (const block of message.content as Json[]) {
    if (block?.type === "text" && typeof block.text === "string") events.push({ type: "text", text: block.text });
    else if (block?.type === "toolCall" && typeof block.name === "string") {
      events.push({ type: "tool-call", ...(typeof block.id === "string" ? { id: block.id } : {}), name: block.name, input: block.arguments });
    }
  }
  return events;
}

/** A tool result's content is a list of blocks; only the text is kept (an image is named, not copied). */
function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((block: Json) => (block?.type === "text" && typeof block.text === "string" ? block.text : block?.type ? `[${block.type}]` : "")).join("\n");
}

/**
 * One request's tokens (`input` is the uncached part) and pi's cost from the model's price list (0 for a
 * model it has no price for, which is left out rather than reported as free).
 */
function usageOf(raw: unknown): Usage | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const usage = raw as Json;
  const cost = typeof usage.cost?.total === "number" && Number.isFinite(usage.cost.total) && usage.cost.total > 0 ? usage.cost.total : undefined;
  // A request that failed before any token was spent reports zeros: nothing to count.
  if (cost === undefined && !num(usage.input) && !num(usage.output) && !num(usage.cacheRead) && !num(usage.cacheWrite)) return undefined;
  return {
    inputTokens: num(usage.input),
    outputTokens: num(usage.output),
    cacheReadTokens: num(usage.cacheRead),
    cacheWriteTokens: num(usage.cacheWrite),
    ...(cost !== undefined ? { costUsd: cost } : {}),
  };
}

const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0);
