import { addUsage, emptyUsage, type AgentEvent, type AgentParser, type Usage } from "@corral/core";
import { cutLineEvent, isCutLine, jsonObjectLine } from "@corral/core/plugin-kit";

type Json = Record<string, any>;

/**
 * Parses Claude Code's `--output-format stream-json` lines by their `type` (and `subtype`), never by
 * position. Lines it does not know — new message types, non-JSON noise, stderr — pass through as
 * `raw` events; nothing here is fatal.
 */
export function createClaudeParser(): AgentParser {
  const usage = new StreamedUsage();
  return {
    parse(line, stream) {
      if (stream === "stderr") return [{ type: "raw", line, stream }];
      // A line over the run's line cap arrives cut (maxLineChars): its JSON is gone, say so once.
      if (isCutLine(line)) return [cutLineEvent("Claude Code", line)];
      const message = jsonObjectLine(line);
      const events = message ? fromMessage(message, usage) : undefined;
      return events ?? [{ type: "raw", line, stream }];
    },
  };
}

/**
 * The messages whose usage is remembered: a message's lines come together (a subagent's may interleave
 * with a few others), and the stream is the agent's to write, so a flood of ids must not grow memory.
 */
const REMEMBERED_MESSAGES = 256;

/**
 * Tokens as they are spent: each API response's usage (its stream-json lines repeat it per content
 * block, so it is counted once per message id, growing), then the result's total less what was
 * already counted. An iteration stopped before its result still counts what it spent.
 */
class StreamedUsage {
  /** The last REMEMBERED_MESSAGES message ids and their usage so far, the latest last. */
  readonly #perMessage = new Map<string, Usage>();
  #counted = emptyUsage();

  /** The growth of one message's usage since its last line. */
  message(id: unknown, raw: Json | undefined): Usage | undefined {
    if (typeof id !== "string" || !raw) return undefined;
    const now = usageOf(raw);
    const before = this.#perMessage.get(id) ?? emptyUsage();
    this.#perMessage.delete(id);
    this.#perMessage.set(id, now);
    if (this.#perMessage.size > REMEMBERED_MESSAGES) this.#perMessage.delete(this.#perMessage.keys().next().value!);
    const delta = subtract(now, before);
    if (Object.values(delta).every((n) => n === 0)) return undefined;
    this.#counted = addUsage(this.#counted, delta);
    return delta;
  }

  /** What the result's total adds to what was counted (so the iteration's sum is the result's total). */
  result(total: Usage): Usage {
    const delta = subtract(total, this.#counted);
    this.#counted = total;
    return delta;
  }
}

function usageOf(usage: Json): Usage {
  return {
    inputTokens: num(usage.input_tokens),
    outputTokens: num(usage.output_tokens),
    cacheReadTokens: num(usage.cache_read_input_tokens),
    cacheWriteTokens: num(usage.cache_creation_input_tokens),
  };
}

const subtract = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens - b.inputTokens,
  outputTokens: a.outputTokens - b.outputTokens,
  cacheReadTokens: a.cacheReadTokens - b.cacheReadTokens,
  cacheWriteTokens: a.cacheWriteTokens - b.cacheWriteTokens,
});

/** The events one stream-json message stands for; undefined for a message this parser does not know. */
function fromMessage(message: Json, usage: StreamedUsage): AgentEvent[] | undefined {
  switch (message.type) {
    case "system":
      if (message.subtype === "api_retry" && typeof message.attempt === "number") return [fromRetry(message)];
      if (message.subtype !== "init" || typeof message.session_id !== "string") return undefined;
      return [
        {
          type: "session",
          sessionId: message.session_id,
          ...(typeof message.model === "string" ? { model: message.model } : {}),
          ...(Array.isArray(message.tools) ? { tools: message.tools.filter((t: unknown): t is string => typeof t === "string") } : {}),
        },
      ];
    case "assistant": {
      const events = fromAssistant(message);
      const spent = usage.message(message.message?.id, message.message?.usage);
      return events && spent ? [...events, { type: "usage", usage: spent }] : events;
    }
    case "user":
      return fromUser(message);
    case "result":
      return fromResult(message, usage);
    default:
      return undefined;
  }
}

function fromAssistant(message: Json): AgentEvent[] | undefined {
  const content: unknown = message.message?.content;
  if (!Array.isArray(content)) return undefined;
  // Claude Code turns an API failure into a synthetic assistant message: that is an error, not agent text.
  const synthetic = typeof message.error === "string" || message.message?.model === "<synthetic>";
  const events: AgentEvent[] = [];
  for (const block of content as Json[]) {
    if (block?.type === "text" && typeof block.text === "string") {
      events.push(synthetic ? { type: "error", message: block.text } : { type: "text", text: block.text });
    } else if (block?.type === "tool_use" && typeof block.name === "string") {
      events.push({ type: "tool-call", ...(typeof block.id === "string" ? { id: block.id } : {}), name: block.name, input: block.input });
    }
    // thinking / redacted_thinking blocks are the model's scratchpad, not output: left out.
  }
  return events;
}

function fromUser(message: Json): AgentEvent[] | undefined {
  const content: unknown = message.message?.content;
  if (!Array.isArray(content)) return typeof content === "string" ? [] : undefined;
  const events: AgentEvent[] = [];
  for (const block of content as Json[]) {
    if (block?.type !== "tool_result") continue;
    events.push({
      type: "tool-result",
      ...(typeof block.tool_use_id === "string" ? { id: block.tool_use_id } : {}),
      output: resultText(block.content),
      ...(block.is_error === true ? { isError: true } : {}),
    });
  }
  return events;
}

/** A tool result's content is a string or a list of blocks; only the text is kept. */
function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((block: Json) => (block?.type === "text" && typeof block.text === "string" ? block.text : block?.type ? `[${block.type}]` : ""))
    .join("\n");
}

/** `{"type":"system","subtype":"api_retry","attempt":2,"max_retries":10,"error_status":500,"error":"server_error",…}` */
function fromRetry(message: Json): AgentEvent {
  const status = typeof message.error_status === "number" ? `API error ${message.error_status}` : "API error";
  const reason = typeof message.error === "string" ? ` (${message.error})` : "";
  return {
    type: "retry",
    attempt: message.attempt,
    ...(typeof message.max_retries === "number" ? { maxRetries: message.max_retries } : {}),
    message: `${status}${reason}`,
    ...(typeof message.retry_delay_ms === "number" ? { delayMs: Math.round(message.retry_delay_ms) } : {}),
  };
}

function fromResult(message: Json, streamed: StreamedUsage): AgentEvent[] {
  const usage: Json = message.usage ?? {};
  const cost = typeof message.total_cost_usd === "number" ? message.total_cost_usd : undefined;
  const subtype = typeof message.subtype === "string" ? message.subtype : "";
  // `is_error: true` fails even under subtype "success" (that is how an API error ends); an
  // `error_*` subtype (max turns, execution error) fails whatever is_error says.
  const isError = message.is_error === true || subtype.startsWith("error");
  const text =
    typeof message.result === "string"
      ? message.result
      : Array.isArray(message.errors) && message.errors.length
        ? message.errors.map(String).join("; ")
        : isError
          ? `claude ended with ${subtype || "an error"}`
          : undefined;
  const denials = Array.isArray(message.permission_denials)
    ? (message.permission_denials as Json[]).map((d) => ({ tool: String(d?.tool_name ?? "unknown"), ...(d?.tool_input !== undefined ? { input: d.tool_input } : {}) }))
    : [];
  return [
    { type: "usage", usage: { ...streamed.result(usageOf(usage)), ...(cost !== undefined ? { costUsd: cost } : {}) } },
    {
      type: "result",
      isError,
      ...(text !== undefined ? { text } : {}),
      ...(cost !== undefined ? { costUsd: cost } : {}),
      ...(typeof message.num_turns === "number" ? { turns: message.num_turns } : {}),
      ...(denials.length ? { permissionDenials: denials } : {}),
    },
  ];
}

const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);
