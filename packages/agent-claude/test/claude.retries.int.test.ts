import { existsSync } from "node:fs";
import { join } from "node:path";
import { AgentExecutionError, type RunEvent } from "@corral/core";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { removeDir, requireTool, tempRepo } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { BIN_DIR, runClaude } from "./harness.js";

const haveClaude = requireTool(existsSync(join(BIN_DIR, "claude")), `the Claude Code CLI is not installed in ${BIN_DIR} (run pnpm install)`);

// Issue 17: an API error reads as the agent's message, its retries as "retrying (n/max)", and maxRetries bounds them.
describe.runIf(haveClaude)("claude agent, real CLI: API errors and retries", () => {
  let api: MockModelApi | undefined;
  let repo: string | undefined;
  afterEach(async () => {
    await api?.close();
    if (repo) await removeDir(repo);
    api = repo = undefined;
  });

  it("maxRetries: 1 — one retry event (1/1), then the run fails with the API's message; the last output is readable, not stream-json", async () => {
    api = await startMockModelApi({ script: [{ status: 500, message: "overloaded (mock)" }, { status: 500, message: "overloaded (mock)" }] });
    repo = await tempRepo();
    const events: RunEvent[] = [];
    const error = await runClaude(api, { cwd: repo, claude: { maxRetries: 1 } }, events).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentExecutionError);
    const retries = events.flatMap((e) => (e.type === "agent" && e.event.type === "retry" ? [e.event] : []));
    expect(retries).toEqual([expect.objectContaining({ attempt: 1, maxRetries: 1, message: "API error 500 (server_error)" })]);
    expect(api.conversation()).toHaveLength(2); // the first try and one retry: bounded
    const tail = (error as AgentExecutionError).outputTail;
    expect(tail.some((line) => line.startsWith("agent error: API Error: 500 overloaded (mock)"))).toBe(true);
    expect(tail.some((line) => line.startsWith("{"))).toBe(false);
  });
});
