import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { anthropicError, startAnthropicStall, streamAnthropic } from "./anthropic.js";
import { answerGemini, geminiError, geminiRoute, startGeminiStall } from "./gemini.js";
import { openAiError, startOpenAiStall, streamOpenAi } from "./openai.js";
import { startOpenAiChatStall, streamOpenAiChat } from "./openai-chat.js";
import { isError, isStall, type Turn } from "./script.js";

/** The wire format of a request: Anthropic Messages, OpenAI Responses, OpenAI Chat Completions, or Gemini's generateContent. */
export type WireApi = "anthropic" | "openai" | "openai-chat" | "gemini";

/** One request the mock received, as the client sent it. */
export interface RecordedRequest {
  api: WireApi | "other";
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body (undefined when empty or not JSON). */
  body: any;
  /** True when the request took a turn from the script (a conversation turn, not a side request). */
  scripted: boolean;
  /** The turn it was answered with, when scripted. */
  turn?: Turn;
}

export interface MockModelApiOptions {
  /** The turns, answered in order to conversation requests. A function decides per request instead. */
  script: Turn[] | ((request: RecordedRequest, index: number) => Turn);
  /**
   * Which requests are conversation turns (take a turn from the script). Default: every OpenAI
   * `/responses` request, and Anthropic and chat completions requests that offer tools (the side
   * requests of Claude Code and OpenCode, e.g. title generation, offer none). Others get a short text answer.
   */
  isConversation?: (request: RecordedRequest) => boolean;
  /** Answer for side requests. Default `{ text: "ok" }`. */
  sideTurn?: Turn;
}

export interface MockModelApi {
  /** `http://127.0.0.1:<port>`: ANTHROPIC_BASE_URL for claude; codex's and opencode's base URL is `${url}/v1`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Conversation requests only. */
  conversation(): RecordedRequest[];
  /** Resolves once `count` conversation requests have arrived. */
  waitForConversation(count: number, timeoutMs?: number): Promise<void>;
  /** Stops the server and drops every open connection (stalled streams included). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const offersTools = (r: RecordedRequest) => Array.isArray(r.body?.tools) && r.body.tools.length > 0;
const defaultIsConversation = (r: RecordedRequest) => r.api === "openai" || ((r.api === "anthropic" || r.api === "openai-chat" || r.api === "gemini") && offersTools(r));

/**
 * Starts a local mock of the Anthropic Messages and OpenAI Responses APIs on 127.0.0.1, on a free
 * port, answering from a script. A test fixture only: nothing a user runs ever points at it.
 */
export async function startMockModelApi(options: MockModelApiOptions): Promise<MockModelApi> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const waiters: Array<() => void> = [];
  const isConversation = options.isConversation ?? defaultIsConversation;
  let turns = 0;

  const nextTurn = (request: RecordedRequest): Turn => {
    const index = turns++;
    if (typeof options.script === "function") return options.script(request, index);
    return options.script[index] ?? { status: 500, message: `mock-model-api: the script has only ${options.script.length} turns, request ${index + 1} has none` };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const path = req.url ?? "/";
    const pathname = path.split("?")[0] ?? "/";
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const gemini = req.method === "POST" ? geminiRoute(pathname) : undefined;
    const api: RecordedRequest["api"] =
      req.method !== "POST"
        ? "other"
        : pathname.endsWith("/v1/messages")
          ? "anthropic"
          : pathname.endsWith("/responses")
            ? "openai"
            : pathname.endsWith("/chat/completions")
              ? "openai-chat"
              : gemini
                ? "gemini"
                : "other";
    const request: RecordedRequest = { api, method: req.method ?? "GET", path, headers: req.headers, body, scripted: false };
    requests.push(request);

    if (api === "other") {
      if (pathname.endsWith("/count_tokens")) return json(res, 200, { input_tokens: 10 });
      if (pathname.endsWith(":countTokens")) return json(res, 200, { totalTokens: 10 });
      return json(res, 404, { error: { message: `mock-model-api: no route for ${req.method} ${pathname}` } });
    }
    request.scripted = isConversation(request);
    const turn = request.scripted ? nextTurn(request) : (options.sideTurn ?? { text: "ok" });
    request.turn = turn;
    if (request.scripted) for (const wake of waiters.splice(0)) wake();
    const model = gemini?.model ?? (typeof body?.model === "string" ? body.model : "mock-model");
    if (gemini) {
      if (isError(turn)) return void res.writeHead(turn.status, { "content-type": "application/json" }).end(geminiError(turn.status, turn.message));
      return isStall(turn) ? startGeminiStall(res, model) : answerGemini(res, turn, model, gemini.stream);
    }

    if (isError(turn)) {
      res.writeHead(turn.status, { "content-type": "application/json" });
      return res.end(api === "anthropic" ? anthropicError(turn.status, turn.message) : openAiError(turn.status, turn.message));
    }
    if (isStall(turn)) return api === "anthropic" ? startAnthropicStall(res, model) : api === "openai-chat" ? startOpenAiChatStall(res, model) : startOpenAiStall(res, model);
    if (api === "anthropic") return streamAnthropic(res, turn, model, turns);
    // Responses tools are `{type, name}`; chat completions tools are `{type: "function", function: {name}}`.
    const offered = Array.isArray(body?.tools)
      ? body.tools.map((t: { name?: string; type?: string; function?: { name?: string } }) => t.function?.name ?? t.name ?? t.type ?? "")
      : [];
    if (api === "openai-chat") return streamOpenAiChat(res, turn, model, turns, offered);
    return streamOpenAi(res, turn, model, turns, offered);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: { message: `mock-model-api: ${String(error)}` } });
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const conversation = () => requests.filter((r) => r.scripted);
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    conversation,
    waitForConversation: (count, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`mock-model-api: ${conversation().length} of ${count} conversation requests after ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          if (conversation().length >= count) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      }),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}
