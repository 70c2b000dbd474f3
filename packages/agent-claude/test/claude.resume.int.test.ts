import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { removeDir, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { BIN_DIR, runClaude } from "./harness.js";

const haveClaude = requireTool(existsSync(join(BIN_DIR, "claude")), `the Claude Code CLI is not installed in ${BIN_DIR} (run pnpm install)`);

/** What the model was sent in one request: its messages, as text. */
const sent = (api: MockModelApi, index: number) => JSON.stringify((api.conversation()[index]!.body as { messages?: unknown }).messages ?? []);

// Issue 18: `corral run --resume` continues the agent's session. The per-run HOME is new, so the
// session Claude Code wrote under ~/.claude/projects must come with it (keepSession, then resume).
describe.runIf(haveClaude)("claude agent, real CLI: a resumed run continues the session", () => {
  const cleanup: string[] = [];
  let api: MockModelApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
    for (const dir of cleanup.splice(0)) await removeDir(dir);
  });

  it("the second run passes --resume <session>, finds the session the first run kept, and the model sees the first exchange; without resume it does not", async () => {
    api = await startMockModelApi({ script: [{ text: "First answer MARKER-ONE." }, { text: "Second answer. <promise>COMPLETE</promise>" }, { text: "Fresh. <promise>COMPLETE</promise>" }] });
    const repo = await tempRepo();
    const kept = await tempDir();
    cleanup.push(repo, kept);
    const first = await runClaude(api, { cwd: repo, prompt: "Say MARKER-ONE.", keepSession: kept });
    expect(first.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    // The session's transcript was kept, and nothing else of the HOME.
    expect(await readdir(kept)).toEqual([".claude"]);
    const [project] = await readdir(join(kept, ".claude/projects"));
    expect(await readdir(join(kept, ".claude/projects", project!))).toContain(`${first.sessionId}.jsonl`);

    const second = await runClaude(api, { cwd: repo, prompt: "What did you say?", resume: { runId: first.runId, sessionId: first.sessionId!, sessionDir: kept } });
    expect(second.status).toBe("succeeded");
    expect(second.sessionId).toBe(first.sessionId);
    const resumed = sent(api, 1);
    expect(resumed).toContain("Say MARKER-ONE.");
    expect(resumed).toContain("First answer MARKER-ONE.");
    expect(resumed).toContain("What did you say?");

    // The twin: a run that does not resume starts a session of its own, without the first exchange.
    const fresh = await runClaude(api, { cwd: repo, prompt: "Anything." });
    expect(fresh.sessionId).not.toBe(first.sessionId);
    expect(sent(api, 2)).not.toContain("MARKER-ONE");
  });
});
