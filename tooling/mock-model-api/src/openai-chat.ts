import type { ServerResponse } from "node:http";
import { isShell, usageOf, type ReplyTurn, type ToolCall } from "./script.js";
import { startSse } from "./sse.js";

/**
 * Maps a scripted call to the shell tool the client offered: `bash` (OpenCode: `{command, description}`),
 * else `shell`/`exec` with `{command}`, else the first tool whose name says shell.
 */
function functionCall(call: ToolCall, offered: readonly string[]): { name: string; arguments: string } {
  if (!isShell(call)) return { name: call.name, arguments: JSON.stringify(call.input) };
  const name = offered.find((t) => t === "bash") ?? offered.find((t) => /bash|shell|exec/i.test(t)) ?? "bash";
  return { name, arguments: JSON.stringify({ command: call.shell, description: "Run a shell command" }) };
}

/** Chat completions stream as `data: <chunk>` lines without an `event:` name, ended by `data: [DONE]`. */
function sendChunk(res: ServerResponse, chunk: Record<string, unknown>): void {
  res.write(`data: ${JSON.stringify(chunk)}\n\n`);
}

/** Streams a reply in the OpenAI Chat Completions wire format (`POST …/chat/completions`, `stream: true`). */
export function streamOpenAiChat(res: ServerResponse, turn: ReplyTurn, model: string, n: number, offeredTools: readonly string[]): void {
  const usage = usageOf(turn);
  const base = { id: `chatcmpl-mock-${n}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model };
  const delta = (d: Record<string, unknown>, finish: string | null = null) => sendChunk(res, { ...base, choices: [{ index: 0, delta: d, finish_reason: finish }] });
  startSse(res);
  delta({ role: "assistant", content: "" });
  if (turn.text !== undefined) {
    // Two deltas, so clients really reassemble a stream.
    const half = Math.ceil(turn.text.length / 2);
    for (const part of [turn.text.slice(0, half), turn.text.slice(half)]) if (part) delta({ content: part });
  }
  for (const [i, call] of (turn.toolCalls ?? []).entries()) {
    const { name, arguments: args } = functionCall(call, offeredTools);
    const half = Math.ceil(args.length / 2);
    delta({ tool_calls: [{ index: i, id: `call_mock_${n}_${i}`, type: "function", function: { name, arguments: args.slice(0, half) } }] });
    delta({ tool_calls: [{ index: i, function: { arguments: args.slice(half) } }] });
  }
  delta({}, turn.toolCalls?.length ? "tool_calls" : "stop");
  // The usage chunk a client gets with `stream_options.include_usage`: prompt tokens include the cached ones.
  sendChunk(res, {
    ...base,
    choices: [],
    usage: {
      prompt_tokens: usage.inputTokens + usage.cacheReadTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.inputTokens + usage.cacheReadTokens + usage.outputTokens,
      prompt_tokens_details: { cached_tokens: usage.cacheReadTokens },
    },
  });
  res.write("data: [DONE]\n\n");
  res.end();
}

/** The first chunk of a reply that then never comes. */
export function startOpenAiChatStall(res: ServerResponse, model: string): void {
  startSse(res);
  sendChunk(res, { id: "chatcmpl-mock-stall", object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
}
