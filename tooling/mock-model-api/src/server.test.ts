import { afterEach, describe, expect, it } from "vitest";
import { startMockModelApi, type MockModelApi } from "./index.js";

/** Reads an SSE body into its events (real HTTP, real parsing). */
async function sseEvents(response: Response): Promise<Array<{ type: string; [key: string]: any }>> {
  const text = await response.text();
  return text
    .split("\n\n")
    .map((block) => block.split("\n").find((line) => line.startsWith("data: ")))
    .filter((line): line is string => line !== undefined)
    .map((line) => JSON.parse(line.slice(6)));
}

const post = (url: string, body: unknown, signal?: AbortSignal) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });

describe("mock model API", () => {
  let api: MockModelApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it("streams an Anthropic reply with text and a Bash tool call, and records the request", async () => {
    api = await startMockModelApi({ script: [{ text: "hello", toolCalls: [{ shell: "echo hi" }] }] });
    const response = await post(`${api.url}/v1/messages?beta=true`, { model: "m", stream: true, tools: [{ name: "Bash" }], messages: [{ role: "user", content: "hi" }] });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const events = await sseEvents(response);
    expect(events.map((e) => e.type)).toEqual([
      "message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
      "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
    ]);
    const text = events.filter((e) => e.delta?.type === "text_delta").map((e) => e.delta.text).join("");
    expect(text).toBe("hello");
    expect(events[5]!.content_block).toMatchObject({ type: "tool_use", name: "Bash" });
    expect(JSON.parse(events[6]!.delta.partial_json)).toMatchObject({ command: "echo hi" });
    expect(events[8]).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { output_tokens: 20 } });
    expect(api.conversation()).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({ api: "anthropic", scripted: true, body: { model: "m" } });
  });

  it("answers Anthropic side requests (no tools) without using the script", async () => {
    api = await startMockModelApi({ script: [{ text: "scripted" }] });
    const side = await sseEvents(await post(`${api.url}/v1/messages`, { model: "m", messages: [] }));
    expect(side.filter((e) => e.delta?.type === "text_delta").map((e) => e.delta.text).join("")).toBe("ok");
    expect(api.conversation()).toHaveLength(0);
    expect(api.requests[0]!.scripted).toBe(false);
  });

  it("streams an OpenAI Responses reply, mapping a shell call to the exec_command tool offered", async () => {
    api = await startMockModelApi({ script: [{ text: "hi", toolCalls: [{ shell: "ls" }], usage: { inputTokens: 5, cacheReadTokens: 2 } }] });
    const events = await sseEvents(await post(`${api.url}/v1/responses`, { model: "m", tools: [{ type: "function", name: "exec_command" }] }));
    expect(events[0]!.type).toBe("response.created");
    const call = events.find((e) => e.type === "response.output_item.done" && e.item.type === "function_call");
    expect(call!.item).toMatchObject({ name: "exec_command", arguments: JSON.stringify({ cmd: "ls" }) });
    const done = events.at(-1)!;
    expect(done).toMatchObject({ type: "response.completed", response: { usage: { input_tokens: 7, input_tokens_details: { cached_tokens: 2 }, output_tokens: 20 } } });
  });

  it("streams an OpenAI chat completions reply, mapping a shell call to the bash tool offered, with a usage chunk and [DONE]", async () => {
    api = await startMockModelApi({ script: [{ text: "hi there", toolCalls: [{ shell: "ls" }], usage: { inputTokens: 5, cacheReadTokens: 2 } }] });
    const tools = [{ type: "function", function: { name: "read" } }, { type: "function", function: { name: "bash" } }];
    const response = await post(`${api.url}/v1/chat/completions`, { model: "m", stream: true, tools, messages: [] });
    const body = await response.text();
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const chunks = body.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe("hi there");
    const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, type: "function", function: { name: "bash" } });
    expect(JSON.parse(calls.map((c: any) => c.function.arguments).join(""))).toMatchObject({ command: "ls" });
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe("tool_calls");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 2 } } });
    expect(api.requests[0]).toMatchObject({ api: "openai-chat", scripted: true });
  });

  it("answers chat completions side requests (no tools, e.g. OpenCode's title) without using the script", async () => {
    api = await startMockModelApi({ script: [{ text: "scripted" }] });
    const body = await (await post(`${api.url}/v1/chat/completions`, { model: "m", stream: true, messages: [] })).text();
    const text = body.split("\n\n").filter((b) => b.startsWith("data: {")).map((b) => JSON.parse(b.slice(6)).choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe("ok");
    expect(api.conversation()).toHaveLength(0);
  });

  it("sends scripted HTTP errors in each provider's error format", async () => {
    api = await startMockModelApi({ script: [{ status: 500, message: "boom" }, { status: 429, message: "slow down" }] });
    const anthropic = await post(`${api.url}/v1/messages`, { tools: [{ name: "x" }] });
    expect(anthropic.status).toBe(500);
    expect(await anthropic.json()).toEqual({ type: "error", error: { type: "api_error", message: "boom" } });
    const openai = await post(`${api.url}/v1/responses`, {});
    expect(openai.status).toBe(429);
    expect(await openai.json()).toMatchObject({ error: { message: "slow down" } });
    const chat = await post(`${api.url}/v1/chat/completions`, { tools: [{ type: "function", function: { name: "bash" } }] });
    expect(chat.status).toBe(500);
    expect(await chat.json()).toMatchObject({ error: { message: expect.stringContaining("script has only 2 turns"), type: "server_error" } });
  });

  it("fails loudly when the script runs out", async () => {
    api = await startMockModelApi({ script: [] });
    const response = await post(`${api.url}/v1/responses`, {});
    expect(response.status).toBe(500);
    expect(JSON.stringify(await response.json())).toContain("script has only 0 turns");
  });

  it("a stall sends the first event and then nothing, until the server closes", async () => {
    api = await startMockModelApi({ script: [{ stall: true }] });
    const response = await post(`${api.url}/v1/responses`, {});
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("response.created");
    const next = reader.read();
    const pending = await Promise.race([next.then(() => "data"), new Promise((r) => setTimeout(() => r("silent"), 300))]);
    expect(pending).toBe("silent");
    await api.close();
    api = undefined;
    // Closing ends the stream (cleanly or by reset), never with more data.
    const ended = await next.then((r) => (r.done ? "done" : "data"), () => "reset");
    expect(ended).not.toBe("data");
  });

  it("waits for conversation requests and lets a function choose each turn", async () => {
    api = await startMockModelApi({ script: (request, index) => ({ text: `turn ${index} for ${request.body?.model}` }) });
    const waiting = api.waitForConversation(2, 5_000);
    await post(`${api.url}/v1/responses`, { model: "a" }).then((r) => r.text());
    const second = await sseEvents(await post(`${api.url}/v1/responses`, { model: "b" }));
    await waiting;
    expect(second.find((e) => e.type === "response.output_text.done")?.text).toBe("turn 1 for b");
  });
});
