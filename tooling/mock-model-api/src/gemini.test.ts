import { afterEach, describe, expect, it } from "vitest";
import { startMockModelApi, type MockModelApi } from "./index.js";

const post = (url: string, body: unknown) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const chunks = async (response: Response) =>
  (await response.text())
    .split("\r\n\r\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => JSON.parse(block.slice(6)) as { candidates: Array<{ content: { parts: any[] }; finishReason?: string }>; usageMetadata?: Record<string, number> });

describe("mock model API: Gemini", () => {
  let api: MockModelApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it("streams a reply as SSE chunks: text in pieces, run_shell_command for a shell call, usage on the last", async () => {
    api = await startMockModelApi({ script: [{ text: "hello", toolCalls: [{ shell: "echo hi" }] }] });
    const response = await post(`${api.url}/v1beta/models/gemini-x:streamGenerateContent?alt=sse`, { contents: [{ role: "user", parts: [{ text: "hi" }] }], tools: [{ functionDeclarations: [] }] });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const all = await chunks(response);
    expect(all.flatMap((c) => c.candidates[0]!.content.parts.filter((p) => p.text).map((p) => p.text)).join("")).toBe("hello");
    expect(all.at(-1)!.candidates[0]).toMatchObject({ finishReason: "STOP", content: { parts: [{ functionCall: { name: "run_shell_command", args: { command: "echo hi" } } }] } });
    expect(all.at(-1)!.usageMetadata).toEqual({ promptTokenCount: 110, candidatesTokenCount: 20, cachedContentTokenCount: 10, totalTokenCount: 130 });
    expect(api.requests[0]).toMatchObject({ api: "gemini", scripted: true });
  });

  it("a request without tools is a side request (generateContent answers JSON); an error turn is the API's error body", async () => {
    api = await startMockModelApi({ script: [{ status: 429, message: "quota (mock)" }] });
    const side = await post(`${api.url}/v1beta/models/flash:generateContent`, { contents: [] });
    expect(await side.json()).toMatchObject({ candidates: [{ content: { parts: [{ text: "ok" }] } }] });
    expect(api.conversation()).toHaveLength(0);
    const failed = await post(`${api.url}/v1beta/models/gemini-x:streamGenerateContent?alt=sse`, { contents: [], tools: [{}] });
    expect(failed.status).toBe(429);
    expect(await failed.json()).toEqual({ error: { code: 429, message: "quota (mock)", status: "RESOURCE_EXHAUSTED" } });
  });
});
