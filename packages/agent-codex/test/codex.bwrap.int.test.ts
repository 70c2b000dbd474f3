import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AbortError, isEvent, type RunEvent } from "@corral/core";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { bwrap, bwrapSandbox } from "@corral/sandbox-bwrap";
import { gitIn, processesMatching, removeDir, requireTool, tempRepo, waitFor } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { afterEach, describe, expect, it } from "vitest";
import { BIN_DIR, COMMIT_SCRIPT, runCodex, uniqueModel } from "./harness.js";

// The CLI lives under the repo's node_modules, which the bwrap sandbox does not show by default.
const NODE_MODULES = [fileURLToPath(new URL("../node_modules", import.meta.url)), fileURLToPath(new URL("../../../node_modules", import.meta.url))];
const mounts = NODE_MODULES.map((host) => ({ host, readonly: true }));

const bwrapCheck = await bwrapSandbox.create(bwrapSandbox.configure({}).options).check();
const ready =
  requireTool(existsSync(join(BIN_DIR, "codex")), `the Codex CLI is not installed in ${BIN_DIR} (run pnpm install)`) &&
  requireTool(bwrapCheck.available, `bwrap is not usable here: ${bwrapCheck.available ? "" : bwrapCheck.reason}`);

describe.runIf(ready)("codex agent, real CLI, bwrap sandbox, git worktree", () => {
  let api: MockModelApi | undefined;
  let repo: string | undefined;
  afterEach(async () => {
    await api?.close();
    if (repo) await removeDir(repo);
    api = repo = undefined;
  });

  it("the tool call commits on the run's branch inside the sandbox; the commit, completion and usage are reported", async () => {
    api = await startMockModelApi({
      script: [{ text: "Writing the file.", toolCalls: [{ shell: COMMIT_SCRIPT }] }, { text: "Done. <promise>COMPLETE</promise>" }],
    });
    repo = await tempRepo();
    const events: RunEvent[] = [];
    const result = await runCodex(api, { cwd: repo, name: "codex-bwrap", sandbox: bwrap(), isolation: worktree(), mounts, maxIterations: 2 }, events);

    expect(events.find((e) => isEvent(e, "sandbox.ready"))).toMatchObject({ sandbox: "bwrap" });
    expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
    expect(result.commits.map((c) => [c.subject, c.files])).toEqual([["agent: add hello.txt", ["hello.txt"]]]);
    expect(result.branch).toBeTruthy();
    // The commit is on the run's branch in the real repository, and the main checkout is untouched.
    expect(await gitIn(repo, "log", "-1", "--format=%s", result.branch!)).toBe("agent: add hello.txt");
    expect(await gitIn(repo, "show", `${result.branch!}:hello.txt`)).toBe("hello from the agent");
    expect(existsSync(join(repo, "hello.txt"))).toBe(false);
    expect(result.usage).toMatchObject({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 20 });
  });

  it("an aborted run leaves no codex process behind", async () => {
    api = await startMockModelApi({ script: [{ stall: true }] });
    repo = await tempRepo();
    const model = uniqueModel();
    const controller = new AbortController();
    const running = runCodex(api, { cwd: repo, sandbox: bwrap(), isolation: worktree(), mounts, signal: controller.signal, codex: { model } });
    await api.waitForConversation(1);
    expect((await processesMatching(model)).length).toBeGreaterThan(0);
    controller.abort("test abort");
    await expect(running).rejects.toBeInstanceOf(AbortError);
    await waitFor(async () => (await processesMatching(model)).length === 0, 10_000, "codex processes to exit");
  });
});
