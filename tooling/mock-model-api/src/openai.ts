import type { ServerResponse } from "node:http";
import { isShell, usageOf, type ReplyTurn, type ToolCall } from "./script.js";
import { sendEvent, startSse } from "./sse.js";

/** Maps a scripted call to the shell tool the client offered (`exec_command` in codex ≥ 0.1xx, else `shell`). */
function functionCall(call: ToolCall, offered: readonly string[]): { name: string; arguments: string } {
  if (!isShell(call)) return { name: call.name, arguments: JSON.stringify(call.input) };
  if (offered.includes("exec_command") || !offered.includes("shell")) {
    return { name: "exec_command", arguments: JSON.stringify({ cmd: call.shell }) };
  }
  return { name: "shell", arguments: JSON.stringify({ command: ["bash", "-lc", call.shell] }) };
}

/** Streams a reply in the OpenAI Responses wire format (`POST /responses`, SSE). */
export function streamOpenAi(res: ServerResponse, turn: ReplyTurn, model: string, n: number, offeredTools: readonly string[]): void {
  const usage = usageOf(turn);
  const id = `resp_mock_${n}`;
  const base = { id, object: "response", created_at: Math.floor(Date.now() / 1000), model };
  startSse(res);
  sendEvent(res, { type: "response.created", response: { ...base, status: "in_progress", output: [] } });
  const output: Array<Record<string, unknown>> = [];
  let index = 0;
  if (turn.text !== undefined) {
    const itemId = `msg_mock_${n}`;
    sendEvent(res, { type: "response.output_item.added", output_index: index, item: { type: "message", id: itemId, status: "in_progress", role: "assistant", content: [] } });
    sendEvent(res, { type: "response.content_part.added", item_id: itemId, output_index: index, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
    const half = Math.ceil(turn.text.length / 2);
    for (const part of [turn.text.slice(0, half), turn.text.slice(half)]) {
      if (part) sendEvent(res, { type: "response.output_text.delta", item_id: itemId, output_index: index, content_index: 0, delta: part });
    }
    sendEvent(res, { type: "response.output_text.done", item_id: itemId, output_index: index, content_index: 0, text: turn.text });
    const item = { type: "message", id: itemId, status: "completed", role: "assistant", content: [{ type: "output_text", text: turn.text, annotations: [] }] };
    sendEvent(res, { type: "response.content_part.done", item_id: itemId, output_index: index, content_index: 0, part: item.content[0] });
    sendEvent(res, { type: "response.output_item.done", output_index: index, item });
    output.push(item);
    index++;
  }
  for (const [i, call] of (turn.toolCalls ?? []).entries()) {
    const { name, arguments: args } = functionCall(call, offeredTools);
    const itemId = `fc_mock_${n}_${i}`;
    const callId = `call_mock_${n}_${i}`;
    sendEvent(res, { type: "response.output_item.added", output_index: index, item: { type: "function_call", id: itemId, call_id: callId, name, arguments: "", status: "in_progress" } });
    sendEvent(res, { type: "response.function_call_arguments.delta", item_id: itemId, output_index: index, delta: args });
    sendEvent(res, { type: "response.function_call_arguments.done", item_id: itemId, output_index: index, arguments: args });
    const item = { type: "function_call", id: itemId, call_id: callId, name, arguments: args, status: "completed" };
    sendEvent(res, { type: "response.output_item.done", output_index: index, item });
    output.push(item);
    index++;
  }
  sendEvent(res, {
    type: "response.completed",
    response: {
      ...base,
      status: "completed",
      output,
      usage: {
        input_tokens: usage.inputTokens + usage.cacheReadTokens,
        input_tokens_details: { cached_tokens: usage.cacheReadTokens },
        output_tokens: usage.outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: usage.inputTokens + usage.cacheReadTokens + usage.outputTokens,
      },
    },
  });
  res.end();
}

/** The first SSE event of a reply that then never comes. */
export function startOpenAiStall(res: ServerResponse, model: string): void {
  startSse(res);
  sendEvent(res, { type: "response.created", response: { id: "resp_mock_stall", object: "response", created_at: Math.floor(Date.now() / 1000), model, status: "in_progress", output: [] } });
}

/** The JSON body the OpenAI API sends with an HTTP error. */
export function openAiError(status: number, message: string): string {
  return JSON.stringify({ error: { message, type: status >= 500 ? "server_error" : "invalid_request_error", param: null, code: null } });
}
