import { existsSync } from "node:fs";
import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnStreaming } from "@corral/core/plugin-kit";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { gitIn, removeDir, requireTool, tempRepo } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { API_KEY, BIN_DIR, COMMIT_SCRIPT } from "./harness.js";

const CLI = fileURLToPath(new URL("../../../apps/cli/dist/bin.js", import.meta.url));
const PACKAGE = fileURLToPath(new URL("..", import.meta.url));
const ready =
  requireTool(existsSync(join(BIN_DIR, "claude")), `the Claude Code CLI is not installed in ${BIN_DIR} (run pnpm install)`) &&
  requireTool(existsSync(CLI) && existsSync(join(PACKAGE, "dist/index.js")), "the corral CLI or this package is not built (run pnpm build)");

describe.runIf(ready)("corral run --agent claude (the CLI)", () => {
  let api: MockModelApi | undefined;
  let repo: string | undefined;
  afterEach(async () => {
    await api?.close();
    if (repo) await removeDir(repo);
    api = repo = undefined;
  });

  it("runs the real claude through the CLI: commit on the run's branch, NDJSON with usage, exit 0", async () => {
    api = await startMockModelApi({ script: [{ text: "Writing.", toolCalls: [{ shell: COMMIT_SCRIPT }] }, { text: "Done. <promise>COMPLETE</promise>" }] });
    repo = await tempRepo();
    // As a user would: the plugin installed in the project, which is where the CLI resolves it.
    await mkdir(join(repo, "node_modules/@corral"), { recursive: true });
    await symlink(PACKAGE, join(repo, "node_modules/@corral/agent-claude"));
    const stdout: string[] = [];
    const stderr: string[] = [];
    const result = await spawnStreaming(["node", CLI, "run", "--agent", "claude", "--isolation", "worktree", "--prompt", "Write hello.txt and commit it.", "--json"], {
      cwd: repo,
      env: { PATH: `${BIN_DIR}:${process.env.PATH}`, ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: api.url, CLAUDE_CODE_MAX_RETRIES: "0" },
      timeoutMs: 60_000,
      onLine: (line, stream) => (stream === "stdout" ? stdout : stderr).push(line),
    });
    expect(result.exitCode, stderr.join("\n")).toBe(0);
    const events = stdout.map((line) => JSON.parse(line) as { type: string; [key: string]: any });
    const finished = events.find((e) => e.type === "run.finished");
    expect(finished).toMatchObject({ status: "succeeded", usage: { inputTokens: 200, outputTokens: 40 } });
    expect(events.find((e) => e.type === "commits")?.commits.map((c: { subject: string }) => c.subject)).toEqual(["agent: add hello.txt"]);
    expect(stdout.join("\n")).not.toContain(API_KEY);
    const branch = events.find((e) => e.type === "workspace.ready")?.branch as string;
    expect(await gitIn(repo, "log", "-1", "--format=%s", branch)).toBe("agent: add hello.txt");
  });
});
