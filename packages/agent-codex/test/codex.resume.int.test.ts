import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { inPlaceIsolation, run, type RunOptions } from "@corral/core";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { removeDir, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { codex } from "../src/index.js";
import { API_KEY, BIN_DIR } from "./harness.js";

const haveCodex = requireTool(existsSync(join(BIN_DIR, "codex")), `the Codex CLI is not installed in ${BIN_DIR} (run pnpm install)`);

/** What the model was sent in one request, as text. */
const sent = (api: MockModelApi, index: number) => JSON.stringify((api.conversation()[index]!.body as { input?: unknown }).input ?? []);

// Issue 18: a resumed run continues codex's thread (`exec resume <id>`), its rollout kept from the first run's CODEX_HOME.
describe.runIf(haveCodex)("codex agent, real CLI: a resumed run continues the thread", () => {
  const cleanup: string[] = [];
  let api: MockModelApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
    for (const dir of cleanup.splice(0)) await removeDir(dir);
  });

  it("the second run resumes the thread the first run kept, and the model sees the first exchange", async () => {
    api = await startMockModelApi({ script: [{ text: "First answer MARKER-C." }, { text: "Second. <promise>COMPLETE</promise>" }] });
    const repo = await tempRepo();
    const kept = await tempDir();
    cleanup.push(repo, kept);
    const options = (extra: Partial<RunOptions>): RunOptions => ({
      agent: codex({ model: "gpt-e2e-resume", baseUrl: `${api!.url}/v1`, maxRetries: 0 }),
      cwd: repo,
      isolation: inPlaceIsolation.configure({}),
      handleProcessSignals: false,
      idleTimeout: 60,
      hostEnv: { PATH: `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, OPENAI_API_KEY: API_KEY },
      ...extra,
    });
    const first = await run(options({ prompt: "Say MARKER-C.", keepSession: kept }));
    expect(first.sessionId).toMatch(/^\S+$/);
    expect(await readdir(join(kept, ".codex/sessions"))).not.toEqual([]);
    const second = await run(options({ prompt: "And now?", resume: { runId: first.runId, sessionId: first.sessionId!, sessionDir: kept } }));
    expect(second.status).toBe("succeeded");
    expect(second.sessionId).toBe(first.sessionId);
    const history = sent(api, 1);
    expect(history).toContain("Say MARKER-C.");
    expect(history).toContain("First answer MARKER-C.");
  });
});
