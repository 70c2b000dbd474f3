import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { AbortError, isEvent, type RunEvent } from "@corral/core";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { docker } from "@corral/sandbox-docker";
import { podman } from "@corral/sandbox-podman";
import {
  CONTAINER_TEST_IMAGE,
  containerEngineReady,
  containersLabelled,
  gitIn,
  inOtherPidNamespace,
  processesMatching,
  removeDir,
  requireTool,
  tempRepo,
  waitFor,
} from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { afterEach, describe, expect, it } from "vitest";
import { COMMIT_SCRIPT, nativeOpencode, runOpencode, uniqueModel } from "./harness.js";

// A container's /tmp is its own tmpfs: keep the repo, its worktree and the run's HOME off it.
process.env.TMPDIR = resolve(process.env.CORRAL_IT_TMPDIR ?? "/var/tmp");

// The test image has no agent CLI: OpenCode's native binary (Bun-compiled, glibc; no Node needed) is mounted
// read-only where a global install puts `opencode`, on the container's PATH.
const CLI = nativeOpencode();
const mounts = CLI ? [{ host: CLI, sandbox: "/usr/local/bin/opencode" }] : [];
const PATH = "/usr/local/bin:/usr/bin:/bin";

const hasCli = requireTool(CLI !== undefined, "the OpenCode native binary is not installed (pnpm install, with optional dependencies)");
const engines = [
  { name: "docker", sandbox: () => docker({ image: CONTAINER_TEST_IMAGE }), engine: await containerEngineReady("docker") },
  { name: "podman", sandbox: () => podman({ image: CONTAINER_TEST_IMAGE }), engine: await containerEngineReady("podman") },
] as const;

for (const { name, sandbox, engine } of engines) {
  const ready = hasCli && requireTool(engine.ready, engine.reason);

  describe.runIf(ready)(`opencode agent, real CLI, ${name} sandbox, git worktree`, () => {
    let api: MockModelApi | undefined;
    let repo: string | undefined;
    afterEach(async () => {
      await api?.close();
      if (repo) await removeDir(repo);
      api = repo = undefined;
    });

    it("the bash call commits on the run's branch inside the container; the commit, completion and usage are reported", async () => {
      api = await startMockModelApi({
        script: [{ text: "Writing the file.", toolCalls: [{ shell: COMMIT_SCRIPT }] }, { text: "Done. <promise>COMPLETE</promise>" }],
      });
      repo = await tempRepo();
      const events: RunEvent[] = [];
      const result = await runOpencode(api, { cwd: repo, name: `opencode-${name}`, sandbox: sandbox(), isolation: worktree(), mounts, path: PATH, maxIterations: 2 }, events);

      expect(events.find((e) => isEvent(e, "sandbox.ready"))).toMatchObject({ sandbox: name });
      expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
      expect(result.iterations).toBe(1);
      expect(result.commits.map((c) => [c.subject, c.files])).toEqual([["agent: add hello.txt", ["hello.txt"]]]);
      expect(await gitIn(repo, "log", "-1", "--format=%s", result.branch!)).toBe("agent: add hello.txt");
      expect(await gitIn(repo, "show", `${result.branch!}:hello.txt`)).toBe("hello from the agent");
      expect(existsSync(join(repo, "hello.txt"))).toBe(false);
      expect(result.usage).toMatchObject({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 20 });
      expect(await containersLabelled(name, `corral.run=${events[0]!.runId}`)).toEqual([]);
    });

    it("an aborted run leaves no opencode process, inside the container or out, and no container", async () => {
      api = await startMockModelApi({ script: [{ stall: true }] });
      repo = await tempRepo();
      const model = uniqueModel();
      const events: RunEvent[] = [];
      const controller = new AbortController();
      const running = runOpencode(api, { cwd: repo, sandbox: sandbox(), isolation: worktree(), mounts, path: PATH, signal: controller.signal, opencode: { model } }, events);
      await api.waitForConversation(1, 120_000);
      const label = `corral.run=${events[0]!.runId}`;
      expect(await containersLabelled(name, label)).toHaveLength(1);
      // The CLI runs in the container's pid namespace, not ours.
      const pids = await processesMatching(model);
      expect((await Promise.all(pids.map(inOtherPidNamespace))).filter(Boolean).length).toBeGreaterThan(0);

      controller.abort("test abort");
      await expect(running).rejects.toBeInstanceOf(AbortError);
      await waitFor(async () => (await processesMatching(model)).length === 0, 20_000, "opencode processes to exit");
      expect(await containersLabelled(name, label)).toEqual([]);
    });
  });
}
