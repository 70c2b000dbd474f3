import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { inPlaceIsolation, run, type RunOptions } from "@corral/core";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { removeDir, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { copilot } from "../src/index.js";
import { API_KEY, BIN_DIR } from "./harness.js";

const haveCopilot = requireTool(existsSync(join(BIN_DIR, "copilot")), `the Copilot CLI is not installed in ${BIN_DIR} (run pnpm install)`);

/** What the model was sent in one request, as text. */
const sent = (api: MockModelApi, index: number) => JSON.stringify((api.conversation()[index]!.body as { messages?: unknown }).messages ?? []);

// A resumed run continues Copilot's session (`--resume=<id>`), its session-state kept from the first run's HOME.
describe.runIf(haveCopilot)("copilot agent, real CLI: a resumed run continues the session", () => {
  const cleanup: string[] = [];
  let api: MockModelApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
    for (const dir of cleanup.splice(0)) await removeDir(dir);
  });

  it("the second run resumes the session the first run kept, the model sees the first exchange, and each run counts only its own tokens", async () => {
    api = await startMockModelApi({
      script: [
        { text: "First answer MARKER-P.", usage: { inputTokens: 100, outputTokens: 20, cacheReadTokens: 10 } },
        { text: "Second. <promise>COMPLETE</promise>", usage: { inputTokens: 7, outputTokens: 3, cacheReadTokens: 0 } },
      ],
    });
    const repo = await tempRepo();
    const kept = await tempDir();
    cleanup.push(repo, kept);
    const options = (extra: Partial<RunOptions>): RunOptions => ({
      agent: copilot({ model: "cp-e2e-resume", baseUrl: `${api!.url}/v1` }),
      cwd: repo,
      isolation: inPlaceIsolation.configure({}),
      handleProcessSignals: false,
      idleTimeout: 60,
      hostEnv: { PATH: `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, COPILOT_PROVIDER_API_KEY: API_KEY },
      ...extra,
    });
    const first = await run(options({ prompt: "Say MARKER-P.", keepSession: kept }));
    expect(first.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await readdir(join(kept, ".copilot/session-state"))).not.toEqual([]);
    const second = await run(options({ prompt: "And now?", resume: { runId: first.runId, sessionId: first.sessionId!, sessionDir: kept } }));
    expect(second.status).toBe("succeeded");
    expect(second.sessionId).toBe(first.sessionId);
    const history = sent(api, 1);
    expect(history).toContain("Say MARKER-P.");
    expect(history).toContain("First answer MARKER-P.");
    // Copilot's usage file holds the session's totals; the report the first run left travels with the session.
    expect(first.usage).toMatchObject({ inputTokens: 100, outputTokens: 20, cacheReadTokens: 10 });
    expect(second.usage).toMatchObject({ inputTokens: 7, outputTokens: 3, cacheReadTokens: 0 });
  });
});
