// A fleet that mixes agents: each task of the list names its own agent and model; the real claude and
// codex CLIs run against the mock model API (one mock speaks both wire formats), and the summary,
// fleet.finished and `corral runs` say which agent did what, with tokens and cost per agent.
import { existsSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startMockModelApi, type MockModelApi, type Turn } from "@corral/mock-model-api";
import { gitIn, removeDir, requireTool, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const PACKAGES = fileURLToPath(new URL("../../../packages/", import.meta.url));
const BIN_DIRS = ["agent-claude", "agent-codex"].map((p) => join(PACKAGES, p, "node_modules/.bin"));
const ANTHROPIC_KEY = "sk-ant-test-mixed-0123456789";
const OPENAI_KEY = "sk-test-mixed-codex-0123456789";
const COMMIT = "printf 'hello\\n' > hello.txt && git add hello.txt && git commit -q -m 'agent: add hello.txt' && echo committed";

const ready =
  requireTool(existsSync(join(BIN_DIRS[0]!, "claude")) && existsSync(join(BIN_DIRS[1]!, "codex")), "the claude and codex CLIs are not installed (pnpm install)") &&
  requireTool(existsSync(BIN), "the corral CLI is not built (pnpm build)");

describe.runIf(ready)("corral run --tasks with a different agent and model per task", () => {
  let api: MockModelApi | undefined;
  let repo: string | undefined;
  afterEach(async () => {
    await api?.close();
    if (repo) await removeDir(repo);
    api = repo = undefined;
  });

  it("runs each task with its own agent; the table, fleet.finished and corral runs show agent, model, tokens and cost per task and per agent", async () => {
    // Each API's conversation gets its own script: the tool call that commits, then the completion.
    const seen = { anthropic: 0, openai: 0 };
    const turns: Turn[] = [{ text: "Writing.", toolCalls: [{ shell: COMMIT }] }, { text: "Done. <promise>COMPLETE</promise>" }];
    api = await startMockModelApi({ script: (request) => turns[seen[request.api as "anthropic" | "openai"]++] ?? { status: 500, message: "no more turns" } });
    repo = await tempRepo();
    for (const pkg of ["agent-claude", "agent-codex"]) {
      await mkdir(join(repo, "node_modules/@corral"), { recursive: true });
      await symlink(join(PACKAGES, pkg), join(repo, "node_modules/@corral", pkg));
    }
    await writeFile(
      join(repo, "tasks.yaml"),
      "- name: by-claude\n  prompt: Write hello.txt and commit it.\n  agent: claude\n  model: claude-mixed-1\n" +
        "- name: by-codex\n  prompt: Write hello.txt and commit it.\n  agent: codex\n  model: gpt-mixed-1\n",
    );
    const env = {
      PATH: `${BIN_DIRS.join(":")}:${process.env.PATH}`,
      NO_COLOR: "1",
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      ANTHROPIC_BASE_URL: api.url,
      CLAUDE_CODE_MAX_RETRIES: "0",
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: `${api.url}/v1`,
    };
    const r = await execa("node", [BIN, "run", "--tasks", "tasks.yaml", "--parallel", "2", "--isolation", "worktree", "--json"], { cwd: repo, env, reject: false, stdin: "ignore", timeout: 240_000 });
    expect(r.exitCode, r.stderr).toBe(0);

    // Each task went to its own agent's API, with its own model.
    const models = (wire: string) => [...new Set(api!.conversation().filter((q) => q.api === wire).map((q) => q.body?.model))];
    expect(models("anthropic")).toEqual(["claude-mixed-1"]);
    expect(models("openai")).toEqual(["gpt-mixed-1"]);
    for (const name of ["by-claude", "by-codex"]) expect(await gitIn(repo, "log", "-1", "--format=%s", `corral/${name}`)).toBe("agent: add hello.txt");

    // Two model turns each of the mock's default usage: claude counts cache writes, codex reports none (and no cost).
    expect(r.stderr).toMatch(/TASK\s+STATUS\s+AGENT\s+ITER\s+COMMITS\s+BRANCH\s+TOKENS\s+COST\s+DURATION/);
    expect(r.stderr).toMatch(/by-claude\s+succeeded\s+claude \(claude-mixed-1\)\s+1\s+1\s+corral\/by-claude\s+270\s+\$\d+\.\d{4}\s/);
    expect(r.stderr).toMatch(/by-codex\s+succeeded\s+codex \(gpt-mixed-1\)\s+1\s+1\s+corral\/by-codex\s+260\s+-\s/);
    expect(r.stderr).toMatch(/by agent:\n\s+claude: 1\/1 succeeded, 270 tokens, cost \$\d+\.\d{4}\n\s+codex: 1\/1 succeeded, 260 tokens, cost -$/m);

    const events = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; [key: string]: any });
    const fleet = events.at(-1)!;
    expect(fleet.type).toBe("fleet.finished");
    const byName: Record<string, { costUsd?: number }> = Object.fromEntries((fleet.tasks as Array<{ name: string; costUsd?: number }>).map((t) => [t.name, t]));
    expect(byName["by-claude"]).toMatchObject({ agent: "claude", model: "claude-mixed-1", tokens: 270, costUsd: expect.any(Number) });
    expect(byName["by-claude"]?.costUsd).toBeGreaterThan(0);
    expect(byName["by-codex"]).toMatchObject({ agent: "codex", model: "gpt-mixed-1", tokens: 260 });
    expect(byName["by-codex"]).not.toHaveProperty("costUsd");
    expect(r.stdout + r.stderr).not.toContain(ANTHROPIC_KEY);
    expect(r.stdout + r.stderr).not.toContain(OPENAI_KEY);

    // The journal keeps it: `corral runs` lists each run with its agent, model, tokens and cost.
    const list = await execa("node", [BIN, "runs"], { cwd: repo, env: { PATH: process.env.PATH, NO_COLOR: "1" }, reject: false, stdin: "ignore" });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/ID\s+NAME\s+STATE\s+STARTED\s+DURATION\s+AGENT\s+SANDBOX\s+TOKENS\s+COST\s+BRANCH/);
    expect(list.stdout).toMatch(/by-claude\s+succeeded\s+.*claude \(claude-mixed-1\)\s+host\s+270\s+\$\d+\.\d{4}\s+corral\/by-claude/);
    expect(list.stdout).toMatch(/by-codex\s+succeeded\s+.*codex \(gpt-mixed-1\)\s+host\s+260\s+-\s+corral\/by-codex/);
  });
});
