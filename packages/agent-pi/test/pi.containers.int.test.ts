import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { AbortError, isEvent, type RunEvent } from "@corral/core";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
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
import { COMMIT_SCRIPT, PI_SHIM, havePi, piContainerMounts, runPi, uniqueModel } from "./harness.js";

// A container's /tmp is its own tmpfs: keep the repo, its worktree and the run's HOME off it.
process.env.TMPDIR = resolve(process.env.CORRAL_IT_TMPDIR ?? "/var/tmp");

// pi is a Node program: the host's node, its C++ runtime and node_modules are shown inside (harness.ts).
const containerMounts = piContainerMounts();
const mounts = containerMounts ?? [];
const PATH = "/usr/local/bin:/usr/bin:/bin";

const hasCli = requireTool(havePi() && containerMounts !== undefined, "pi (pnpm install) and a glibc /usr/bin/node with libstdc++ and libgcc_s are needed on the host");
// Podman only: pi sets process.title, so its argv (and the model that finds it) is gone from /proc; `podman exec`
// keeps it on its own command line, a docker exec (an API call) leaves no such host process for the abort check.
const engines = [
  { name: "podman", sandbox: () => podman({ image: CONTAINER_TEST_IMAGE }), engine: await containerEngineReady("podman") },
] as const;

for (const { name, sandbox, engine } of engines) {
  const ready = hasCli && requireTool(engine.ready, engine.reason);

  describe.runIf(ready)(`pi agent, real CLI, ${name} sandbox, git worktree`, () => {
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
      const result = await runPi(api, { cwd: repo, name: `pi-${name}`, sandbox: sandbox(), isolation: worktree(), mounts, path: PATH, maxIterations: 2, pi: { executable: PI_SHIM } }, events);

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

    it("an aborted run leaves no pi process, inside the container or out, and no container", async () => {
      api = await startMockModelApi({ script: [{ stall: true }] });
      repo = await tempRepo();
      const model = uniqueModel();
      const events: RunEvent[] = [];
      const controller = new AbortController();
      const running = runPi(api, { cwd: repo, sandbox: sandbox(), isolation: worktree(), mounts, path: PATH, signal: controller.signal, pi: { model, executable: PI_SHIM } }, events);
      await api.waitForConversation(1, 120_000);
      const label = `corral.run=${events[0]!.runId}`;
      expect(await containersLabelled(name, label)).toHaveLength(1);
      // The CLI runs in the container's pid namespace, not ours.
      const pids = await processesMatching(model);
      expect((await Promise.all(pids.map(inOtherPidNamespace))).filter(Boolean).length).toBeGreaterThan(0);

      controller.abort("test abort");
      await expect(running).rejects.toBeInstanceOf(AbortError);
      await waitFor(async () => (await processesMatching(model)).length === 0, 20_000, "pi processes to exit");
      expect(await containersLabelled(name, label)).toEqual([]);
    });
  });
}
