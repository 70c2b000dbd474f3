import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentExecutionError, IdleTimeoutError, MissingCredentialsError, Output, isEvent, type RunEvent } from "@corral/core";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { removeDir, requireTool, tempRepo } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { API_KEY, BIN_DIR, COMMIT_SCRIPT, havePi, runPi, uniqueModel } from "./harness.js";

const ready = requireTool(havePi(), `the pi CLI is not installed in ${BIN_DIR} (run pnpm install)`);

describe.runIf(ready)("pi agent, real CLI, host sandbox", () => {
  let api: MockModelApi | undefined;
  let repo: string | undefined;
  afterEach(async () => {
    await api?.close();
    if (repo) await removeDir(repo);
    api = repo = undefined;
  });

  it("the model's bash call writes and commits in the workspace; the commit, completion and usage are reported, the key nowhere", async () => {
    api = await startMockModelApi({
      script: [{ text: "Writing the file.", toolCalls: [{ shell: COMMIT_SCRIPT }] }, { text: "Done. <promise>COMPLETE</promise>" }],
    });
    repo = await tempRepo();
    const events: RunEvent[] = [];
    const result = await runPi(api, { cwd: repo, maxIterations: 3 }, events);

    expect(readFileSync(join(repo, "hello.txt"), "utf8")).toBe("hello from the agent\n");
    expect(result.commits.map((c) => [c.subject, c.files])).toEqual([["agent: add hello.txt", ["hello.txt"]]]);
    expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
    expect(result.iterations).toBe(1);
    // Two model steps of the mock's default usage (110 prompt tokens of which 10 cached, 20 out).
    expect(result.usage).toMatchObject({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 20 });
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);

    const agentEvents = events.filter((e) => isEvent(e, "agent")).map((e) => e.event);
    expect(agentEvents).toContainEqual(expect.objectContaining({ type: "tool-call", name: "bash" }));
    expect(agentEvents).toContainEqual({ type: "tool-result", id: expect.any(String), output: "committed\n" });
    expect(api.requests.map((r) => r.api)).toEqual(["openai-chat", "openai-chat"]);
    const [first] = api.conversation();
    expect(first!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(JSON.stringify(first!.body.messages)).toContain("Write hello.txt and commit it.");
    expect(JSON.stringify(events)).not.toContain(API_KEY);
  });

  it("resumes the same session to retry structured output", async () => {
    api = await startMockModelApi({ script: [{ text: "The answer is 42." }, { text: '<answer>{"value": 42}</answer>', usage: { inputTokens: 7, outputTokens: 3, cacheReadTokens: 0 } }] });
    repo = await tempRepo();
    const events: RunEvent[] = [];
    const result = await runPi(api, { cwd: repo, prompt: 'Answer inside <answer>{"value": number}</answer>.', output: Output.object("answer", z.object({ value: z.number() }), { maxRetries: 1 }) }, events);
    expect(result.output).toEqual({ value: 42 });
    const history = JSON.stringify(api.conversation()[1]!.body.messages);
    expect(history).toContain("The answer is 42.");
    const perExec = events.filter((e) => isEvent(e, "iteration.finished")).map((e) => e.usage);
    expect(perExec).toEqual([
      { inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, cacheWriteTokens: 0 },
      { inputTokens: 7, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 },
    ]);
  });

  it("an HTTP error from the API (pi exits 0) is an AgentExecutionError carrying the status and the API's message, the key redacted", async () => {
    api = await startMockModelApi({ script: [{ status: 401, message: `invalid key ${API_KEY}` }] });
    repo = await tempRepo();
    const events: RunEvent[] = [];
    const error = await runPi(api, { cwd: repo }, events).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentExecutionError);
    expect((error as AgentExecutionError).message).toContain("401 invalid key");
    expect((error as AgentExecutionError).message).not.toContain(API_KEY);
    expect(JSON.stringify(events)).not.toContain(API_KEY);
  });

  // No process check here: pi sets process.title, so its model is not on its /proc command line (bwrap's is).
  it("a stalled model ends in an idle timeout", async () => {
    api = await startMockModelApi({ script: [{ stall: true }] });
    repo = await tempRepo();
    const model = uniqueModel();
    await expect(runPi(api, { cwd: repo, idleTimeout: 20, pi: { model } })).rejects.toBeInstanceOf(IdleTimeoutError);
    expect(api.conversation()).toHaveLength(1);
  });

  it("missing credentials fail with the clear error before anything is spawned", async () => {
    api = await startMockModelApi({ script: [{ text: "never" }] });
    repo = await tempRepo();
    const error = await runPi(api, { cwd: repo, hostEnv: { PATH: `${BIN_DIR}:${process.env.PATH}` } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingCredentialsError);
    expect((error as MissingCredentialsError).message).toContain("OPENAI_API_KEY");
    expect(api.requests).toHaveLength(0);
  });
});
