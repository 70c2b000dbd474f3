import { existsSync } from "node:fs";
import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { CORRAL_BIN } from "@corral/agent-e2e";
import { spawnStreaming } from "@corral/core/plugin-kit";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { removeDir, requireTool, tempRepo } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { API_KEY, BIN_DIR, PACKAGE_DIR } from "./harness.js";

const haveClaude = requireTool(existsSync(join(BIN_DIR, "claude")), `the Claude Code CLI is not installed in ${BIN_DIR} (run pnpm install)`);

/** What the model was sent in one request: its messages, as text. */
const sent = (api: MockModelApi, index: number) => JSON.stringify((api.conversation()[index]!.body as { messages?: unknown }).messages ?? []);

// Issue 18: `corral run --resume` continues the agent's session through the CLI's journal (the library's
// keepSession-then-resume is the end-to-end kit's "resume across runs" case, for every agent).
describe.runIf(haveClaude)("claude agent, real CLI: corral run --resume continues the session", () => {
  const cleanup: string[] = [];
  let api: MockModelApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
    for (const dir of cleanup.splice(0)) await removeDir(dir);
  });

  it("corral run --resume: the journal keeps the session, the resumed run continues it on the same branch and worktree path", async () => {
    api = await startMockModelApi({ script: [{ text: "Halfway, MARKER-TWO." }, { text: "Done. <promise>COMPLETE</promise>" }] });
    const repo = await tempRepo();
    cleanup.push(repo);
    // As a user installs it: the plugin in the project's node_modules.
    await mkdir(join(repo, "node_modules/@corral"), { recursive: true });
    await symlink(PACKAGE_DIR, join(repo, "node_modules/@corral/agent-claude"));
    const env = { PATH: `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: api.url, CLAUDE_CODE_MAX_RETRIES: "0", NO_COLOR: "1" };
    const corral = async (args: string[]) => {
      const out = { stdout: [] as string[], stderr: [] as string[] };
      const result = await spawnStreaming(["node", CORRAL_BIN, ...args], { cwd: repo, env, timeoutMs: 180_000, onLine: (line, stream) => out[stream].push(line) });
      return { exitCode: result.exitCode, stdout: out.stdout.join("\n"), stderr: out.stderr.join("\n") };
    };
    const first = await corral(["run", "--agent", "claude", "--name", "half", "--prompt", "Start MARKER-TWO.", "--json"]);
    expect(first.exitCode, first.stderr).toBe(3); // no completion signal: incomplete
    const started = first.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string; runId: string; event?: { type: string; sessionId?: string } });
    const firstId = started.find((e) => e.type === "run.started")!.runId;
    const session = started.find((e) => e.type === "agent" && e.event?.type === "session")!.event!.sessionId!;
    expect(existsSync(join(repo, ".corral/runs", firstId, "session/.claude/projects"))).toBe(true);

    const resumed = await corral(["run", "--resume", "half", "--agent", "claude"]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming run ${firstId} (incomplete) on corral/half, in its agent session ${session}`);
    const history = sent(api, 1);
    expect(history).toContain("Start MARKER-TWO.");
    expect(history).toContain("Halfway, MARKER-TWO.");
  });
});
