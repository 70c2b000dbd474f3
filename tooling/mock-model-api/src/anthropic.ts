import type { ServerResponse } from "node:http";
import { isShell, usageOf, type ReplyTurn } from "./script.js";
import { sendEvent, startSse } from "./sse.js";

/** Streams a reply in the Anthropic Messages wire format (`POST /v1/messages`, `stream: true`). */
export function streamAnthropic(res: ServerResponse, turn: ReplyTurn, model: string, n: number): void {
  const usage = usageOf(turn);
  startSse(res);
  sendEvent(res, {
    type: "message_start",
    message: {
      id: `msg_mock_${n}`,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: usage.inputTokens,
        output_tokens: 1,
        cache_creation_input_tokens: usage.cacheWriteTokens,
        cache_read_input_tokens: usage.cacheReadTokens,
      },
    },
  });
  let index = 0;
  if (turn.text !== undefined) {
    sendEvent(res, { type: "content_block_start", index, content_block: { type: "text", text: "" } });
    // Two deltas, so clients really reassemble a stream.
    const half = Math.ceil(turn.text.length / 2);
    for (const part of [turn.text.slice(0, half), turn.text.slice(half)]) {
      if (part) sendEvent(res, { type: "content_block_delta", index, delta: { type: "text_delta", text: part } });
    }
    sendEvent(res, { type: "content_block_stop", index });
    index++;
  }
  for (const [i, call] of (turn.toolCalls ?? []).entries()) {
    const name = isShell(call) ? "Bash" : call.name;
    const input = isShell(call) ? { command: call.shell, description: "Run a shell command" } : call.input;
    sendEvent(res, { type: "content_block_start", index, content_block: { type: "tool_use", id: `toolu_mock_${n}_${i}`, name, input: {} } });
    sendEvent(res, { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: JSON.stringify(input) } });
    sendEvent(res, { type: "content_block_stop", index });
    index++;
  }
  sendEvent(res, {
    type: "message_delta",
    delta: { stop_reason: turn.toolCalls?.length ? "tool_use" : "end_turn", stop_sequence: null },
    usage: { output_tokens: usage.outputTokens },
  });
  sendEvent(res, { type: "message_stop" });
  res.end();
}

/** The first SSE event of a reply that then never comes. */
export function startAnthropicStall(res: ServerResponse, model: string): void {
  startSse(res);
  sendEvent(res, {
    type: "message_start",
    message: { id: "msg_mock_stall", type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } },
  });
}

/** The JSON body the Anthropic API sends with an HTTP error. */
export function anthropicError(status: number, message: string): string {
  const type = status === 401 ? "authentication_error" : status === 429 ? "rate_limit_error" : status >= 500 ? "api_error" : "invalid_request_error";
  return JSON.stringify({ type: "error", error: { type, message } });
}
