import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AbortError, AgentExecutionError, IdleTimeoutError, MissingCredentialsError, Output, isEvent, type RunEvent } from "@corral/core";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { processesMatching, removeDir, requireTool, tempRepo, waitFor } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { API_KEY, BIN_DIR, COMMIT_SCRIPT, runCodex, uniqueModel } from "./harness.js";

const haveCodex = requireTool(existsSync(join(BIN_DIR, "codex")), `the Codex CLI is not installed in ${BIN_DIR} (run pnpm install)`);

describe.runIf(haveCodex)("codex agent, real CLI, host sandbox", () => {
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
    const result = await runCodex(api, { cwd: repo, maxIterations: 3 }, events);

    expect(readFileSync(join(repo, "hello.txt"), "utf8")).toBe("hello from the agent\n");
    expect(result.commits.map((c) => [c.subject, c.files])).toEqual([["agent: add hello.txt", ["hello.txt"]]]);
    expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
    expect(result.iterations).toBe(1);
    // Two model turns of the mock's default usage (100 in, 20 out, 10 cached).
    expect(result.usage).toMatchObject({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 20 });
    expect(result.sessionId).toBeTruthy();

    const agentEvents = events.filter((e) => isEvent(e, "agent")).map((e) => e.event);
    expect(agentEvents).toContainEqual(expect.objectContaining({ type: "tool-call", name: "shell" }));
    expect(agentEvents).toContainEqual(expect.objectContaining({ type: "tool-result", output: "committed\n", exitCode: 0 }));
    const [first] = api.conversation();
    expect(first!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(JSON.stringify(first!.body.input)).toContain("Write hello.txt and commit it.");
    expect(JSON.stringify(events)).not.toContain(API_KEY);
  });

  it("hands a prompt over 128 KiB to the model whole", async () => {
    api = await startMockModelApi({ script: [{ text: "Read it. <promise>COMPLETE</promise>" }] });
    repo = await tempRepo();
    const prompt = `${"lorem ipsum ".repeat(16 * 1024)}END-OF-PROMPT-MARKER`;
    expect(prompt.length).toBeGreaterThan(190 * 1024);
    await runCodex(api, { cwd: repo, prompt });
    expect(JSON.stringify(api.conversation()[0]!.body.input)).toContain("END-OF-PROMPT-MARKER");
  });

  it("resumes the same thread to retry structured output, and counts the retry's usage once", async () => {
    api = await startMockModelApi({
      script: [{ text: "The answer is 42." }, { text: '<answer>{"value": 42}</answer>', usage: { inputTokens: 7, outputTokens: 3, cacheReadTokens: 0 } }],
    });
    repo = await tempRepo();
    const events: RunEvent[] = [];
    const result = await runCodex(
      api,
      { cwd: repo, prompt: "Answer inside <answer>{\"value\": number}</answer>.", output: Output.object("answer", z.object({ value: z.number() }), { maxRetries: 1 }) },
      events,
    );
    expect(result.output).toEqual({ value: 42 });
    const history = JSON.stringify(api.conversation()[1]!.body.input);
    expect(history).toContain("The answer is 42.");
    expect(history).toContain("did not write a <answer>");
    // codex reports the thread's running total after a resume; corral reports each exec's own.
    const perExec = events.filter((e) => isEvent(e, "iteration.finished")).map((e) => e.usage);
    expect(perExec).toEqual([
      { inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, cacheWriteTokens: 0 },
      { inputTokens: 7, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 },
    ]);
    expect(result.usage).toMatchObject({ inputTokens: 107, outputTokens: 23, cacheReadTokens: 10 });
  });

  it("a stalled model ends in an idle timeout and leaves no codex process", async () => {
    api = await startMockModelApi({ script: [{ stall: true }] });
    repo = await tempRepo();
    const model = uniqueModel();
    await expect(runCodex(api, { cwd: repo, idleTimeout: 3, codex: { model } })).rejects.toBeInstanceOf(IdleTimeoutError);
    await waitFor(async () => (await processesMatching(model)).length === 0, 10_000, "codex processes to exit");
  });

  it("an HTTP error from the API is an AgentExecutionError carrying the message codex reports", async () => {
    api = await startMockModelApi({ script: [{ status: 400, message: "Invalid model (mock 400)" }] });
    repo = await tempRepo();
    const error = await runCodex(api, { cwd: repo }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentExecutionError);
    expect((error as AgentExecutionError).message).toContain("Invalid model (mock 400)");

    // For 5xx codex shows its own text instead of the body; the run still fails with it.
    await api.close();
    api = await startMockModelApi({ script: [{ status: 500, message: "overloaded (mock)" }] });
    const error500 = await runCodex(api, { cwd: repo }).catch((e: unknown) => e);
    expect(error500).toBeInstanceOf(AgentExecutionError);
    expect((error500 as AgentExecutionError).message).toContain("high demand");
  });

  it("missing credentials fail with the clear error before anything is spawned", async () => {
    api = await startMockModelApi({ script: [{ text: "never" }] });
    repo = await tempRepo();
    const error = await runCodex(api, { cwd: repo, hostEnv: { PATH: `${BIN_DIR}:${process.env.PATH}` } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingCredentialsError);
    expect((error as MissingCredentialsError).message).toContain("OPENAI_API_KEY");
    expect(api.requests).toHaveLength(0);
  });

  it("an aborted run leaves no codex process behind (the Node wrapper and the native binary)", async () => {
    api = await startMockModelApi({ script: [{ stall: true }] });
    repo = await tempRepo();
    const model = uniqueModel();
    const controller = new AbortController();
    const running = runCodex(api, { cwd: repo, signal: controller.signal, codex: { model } });
    await api.waitForConversation(1);
    expect((await processesMatching(model)).length).toBeGreaterThanOrEqual(2);
    controller.abort("test abort");
    await expect(running).rejects.toBeInstanceOf(AbortError);
    await waitFor(async () => (await processesMatching(model)).length === 0, 10_000, "codex processes to exit");
  });
});
