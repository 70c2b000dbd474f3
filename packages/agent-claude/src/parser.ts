import type { AgentEvent, AgentParser } from "@corral/core";

type Json = Record<string, any>;

/**
 * Parses Claude Code's `--output-format stream-json` lines by their `type` (and `subtype`), never by
 * position. Lines it does not know — new message types, non-JSON noise, stderr — pass through as
 * `raw` events; nothing here is fatal.
 */
export function createClaudeParser(): AgentParser {
  return {
    parse(line, stream) {
      if (stream === "stderr") return [{ type: "raw", line, stream }];
      const message = parseJson(line);
      const events = message ? fromMessage(message) : undefined;
      return events ?? [{ type: "raw", line, stream }];
    },
  };
}

function parseJson(line: string): Json | undefined {
  if (line.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** The events one stream-json message stands for; undefined for a message this parser does not know. */
function fromMessage(message: Json): AgentEvent[] | undefined {
  switch (message.type) {
    case "system":
      if (message.subtype !== "init" || typeof message.session_id !== "string") return undefined;
      return [
        {
          type: "session",
          sessionId: message.session_id,
          ...(typeof message.model === "string" ? { model: message.model } : {}),
          ...(Array.isArray(message.tools) ? { tools: message.tools.filter((t: unknown): t is string => typeof t === "string") } : {}),
        },
      ];
    case "assistant":
      return fromAssistant(message);
    case "user":
      return fromUser(message);
    case "result":
      return fromResult(message);
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

function fromResult(message: Json): AgentEvent[] {
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
    {
      type: "usage",
      usage: {
        inputTokens: num(usage.input_tokens),
        outputTokens: num(usage.output_tokens),
        cacheReadTokens: num(usage.cache_read_input_tokens),
        cacheWriteTokens: num(usage.cache_creation_input_tokens),
        ...(cost !== undefined ? { costUsd: cost } : {}),
      },
    },
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
