import type { ServerResponse } from "node:http";
import { isShell, usageOf, type ReplyTurn, type ToolCall } from "./script.js";
import { startSse } from "./sse.js";

/**
 * The Gemini API (`POST /v1beta/models/<model>:streamGenerateContent?alt=sse` and `:generateContent`),
 * as Gemini CLI calls it with `GOOGLE_GEMINI_BASE_URL`: the model is in the path, not the body.
 */
const ROUTE = /\/models\/([^/:]+):(streamGenerateContent|generateContent)$/;

/** The model and whether the request streams, when `pathname` is a Gemini generate call. */
export function geminiRoute(pathname: string): { model: string; stream: boolean } | undefined {
  const match = ROUTE.exec(pathname);
  return match ? { model: decodeURIComponent(match[1]!), stream: match[2] === "streamGenerateContent" } : undefined;
}

/** A scripted call as a Gemini `functionCall` part: a shell call is Gemini CLI's `run_shell_command`. */
function functionCall(call: ToolCall): { functionCall: { name: string; args: Record<string, unknown> } } {
  return isShell(call) ? { functionCall: { name: "run_shell_command", args: { command: call.shell } } } : { functionCall: { name: call.name, args: call.input } };
}

function usageMetadata(turn: ReplyTurn) {
  const usage = usageOf(turn);
  // Gemini counts cached tokens inside promptTokenCount and reports no cache writes.
  const prompt = usage.inputTokens + usage.cacheReadTokens;
  return { promptTokenCount: prompt, candidatesTokenCount: usage.outputTokens, cachedContentTokenCount: usage.cacheReadTokens, totalTokenCount: prompt + usage.outputTokens };
}

/** Answers a reply: as SSE chunks (`data: <GenerateContentResponse>`) when streaming, else one JSON body. */
export function answerGemini(res: ServerResponse, turn: ReplyTurn, model: string, stream: boolean): void {
  const text = turn.text ?? "";
  const half = Math.ceil(text.length / 2);
  const calls = (turn.toolCalls ?? []).map(functionCall);
  const finish = { finishReason: "STOP", index: 0 };
  const chunk = (parts: unknown[], last: boolean) => ({
    candidates: [{ content: { role: "model", parts }, index: 0, ...(last ? finish : {}) }],
    ...(last ? { usageMetadata: usageMetadata(turn) } : {}),
    modelVersion: model,
    responseId: "mock-gemini",
  });
  if (!stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(chunk([...(text ? [{ text }] : []), ...calls], true)));
    return;
  }
  startSse(res);
  // Two text chunks, so the client really reassembles a stream; the calls and the usage come last.
  const chunks: unknown[][] = [text.slice(0, half), text.slice(half)].filter(Boolean).map((part) => [{ text: part }]);
  chunks.push(calls);
  chunks.forEach((parts, i) => res.write(`data: ${JSON.stringify(chunk(parts, i === chunks.length - 1))}\r\n\r\n`));
  res.end();
}

/** The first chunk of a streamed reply that then never comes. */
export function startGeminiStall(res: ServerResponse, model: string): void {
  startSse(res);
  res.write(`data: ${JSON.stringify({ candidates: [{ content: { role: "model", parts: [{ text: "" }] }, index: 0 }], modelVersion: model })}\r\n\r\n`);
}

/** The JSON body the Gemini API sends with an HTTP error. */
export function geminiError(status: number, message: string): string {
  const reason = status === 429 ? "RESOURCE_EXHAUSTED" : status >= 500 ? "INTERNAL" : status === 401 || status === 403 ? "PERMISSION_DENIED" : "INVALID_ARGUMENT";
  return JSON.stringify({ error: { code: status, message, status: reason } });
}
