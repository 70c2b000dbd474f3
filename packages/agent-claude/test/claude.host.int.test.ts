import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AbortError, AgentExecutionError, IdleTimeoutError, MissingCredentialsError, Output, isEvent, type RunEvent } from "@corral/core";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { processesMatching, removeDir, requireTool, tempRepo, waitFor } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { API_KEY, BIN_DIR, COMMIT_SCRIPT, runClaude, uniqueModel } from "./harness.js";

const haveClaude = requireTool(existsSync(join(BIN_DIR, "claude")), `the Claude Code CLI is not installed in ${BIN_DIR} (run pnpm install)`);

describe.runIf(haveClaude)("claude agent, real CLI, host sandbox", () => {
  let api: MockModelApi | undefined;
  let repo: string | undefined;
  afterEach(async () => {
    await api?.close();
    if (repo) await removeDir(repo);
    api = repo = undefined;
  });

  it("the model's tool call writes and commits in the workspace; the commit, completion and usage are reported", async () => {
    api = await startMockModelApi({
      script: [{ text: "Writing the file.", toolCalls: [{ shell: COMMIT_SCRIPT }] }, { text: "Done. <promise>COMPLETE</promise>" }],
    });
    repo = await tempRepo();
    const events: RunEvent[] = [];
    const result = await runClaude(api, { cwd: repo, maxIterations: 3 }, events);

    expect(readFileSync(join(repo, "hello.txt"), "utf8")).toBe("hello from the agent\n");
    expect(result.commits.map((c) => [c.subject, c.files])).toEqual([["agent: add hello.txt", ["hello.txt"]]]);
    expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
    expect(result.iterations).toBe(1);
    // Two model turns of the mock's default usage (100 in, 20 out, 10 cache read, 5 cache write).
    expect(result.usage).toMatchObject({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 20, cacheWriteTokens: 10 });
    expect(result.usage.costUsd).toBeGreaterThan(0);
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);

    const agentEvents = events.filter((e) => isEvent(e, "agent")).map((e) => e.event);
    expect(agentEvents).toContainEqual(expect.objectContaining({ type: "tool-call", name: "Bash" }));
    expect(agentEvents).toContainEqual(expect.objectContaining({ type: "tool-result", output: "committed" }));
    // The key reached the API and nowhere in the events.
    const [first] = api.conversation();
    expect(first!.headers["x-api-key"]).toBe(API_KEY);
    expect(JSON.stringify(first!.body.messages)).toContain("Write hello.txt and commit it.");
    expect(JSON.stringify(events)).not.toContain(API_KEY);
  });

  it("hands a prompt over 128 KiB to the model whole", async () => {
    api = await startMockModelApi({ script: [{ text: "Read it. <promise>COMPLETE</promise>" }] });
    repo = await tempRepo();
    const prompt = `${"lorem ipsum ".repeat(16 * 1024)}END-OF-PROMPT-MARKER`;
    expect(prompt.length).toBeGreaterThan(190 * 1024);
    await runClaude(api, { cwd: repo, prompt });
    expect(JSON.stringify(api.conversation()[0]!.body.messages)).toContain("END-OF-PROMPT-MARKER");
  });

  it("resumes the same session to retry structured output", async () => {
    api = await startMockModelApi({
      script: [{ text: "The answer is 42." }, { text: '<answer>{"value": 42}</answer>' }],
    });
    repo = await tempRepo();
    const result = await runClaude(api, {
      cwd: repo,
      prompt: "Answer inside <answer>{\"value\": number}</answer>.",
      output: Output.object("answer", z.object({ value: z.number() }), { maxRetries: 1 }),
    });
    expect(result.output).toEqual({ value: 42 });
    const [, retry] = api.conversation();
    // The retry carries the first exchange: it is the same session, resumed.
    const history = JSON.stringify(retry!.body.messages);
    expect(history).toContain("The answer is 42.");
    expect(history).toContain("did not write a <answer>");
    expect(result.usage.inputTokens).toBe(200);
  });

  it("a stalled model ends in an idle timeout and leaves no claude process", async () => {
    api = await startMockModelApi({ script: [{ stall: true }] });
    repo = await tempRepo();
    const model = uniqueModel();
    await expect(runClaude(api, { cwd: repo, idleTimeout: 3, claude: { model } })).rejects.toBeInstanceOf(IdleTimeoutError);
    expect(api.conversation()).toHaveLength(1);
    await waitFor(async () => (await processesMatching(model)).length === 0, 10_000, "claude processes to exit");
  });

  it("an HTTP 500 from the API is an AgentExecutionError carrying the API's message", async () => {
    api = await startMockModelApi({ script: [{ status: 500, message: "Internal server error: overloaded (mock)" }] });
    repo = await tempRepo();
    const error = await runClaude(api, { cwd: repo }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentExecutionError);
    expect((error as AgentExecutionError).message).toContain("Internal server error: overloaded (mock)");
  });

  it("missing credentials fail with the clear error before anything is spawned", async () => {
    api = await startMockModelApi({ script: [{ text: "never" }] });
    repo = await tempRepo();
    const error = await runClaude(api, { cwd: repo, hostEnv: { PATH: `${BIN_DIR}:${process.env.PATH}`, ANTHROPIC_BASE_URL: api.url } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingCredentialsError);
    expect((error as MissingCredentialsError).code).toBe("E_MISSING_CREDENTIALS");
    expect((error as MissingCredentialsError).message).toContain("ANTHROPIC_API_KEY");
    expect(api.requests).toHaveLength(0);
  });

  it("an aborted run leaves no claude process behind", async () => {
    api = await startMockModelApi({ script: [{ stall: true }] });
    repo = await tempRepo();
    const model = uniqueModel();
    const controller = new AbortController();
    const running = runClaude(api, { cwd: repo, signal: controller.signal, claude: { model } });
    await api.waitForConversation(1);
    expect((await processesMatching(model)).length).toBeGreaterThan(0);
    controller.abort("test abort");
    await expect(running).rejects.toBeInstanceOf(AbortError);
    await waitFor(async () => (await processesMatching(model)).length === 0, 10_000, "claude processes to exit");
  });
});
