import { commandAgent, run, type RunEvent } from "@corral/core";
import { CONTAINER_TEST_IMAGE, containerEngineReady, containersLabelled, gitIn, removeDir, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { execa } from "execa";
import { chmod, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { podman, reapOrphans } from "../src/index.js";

// Issue 21.3: podman fails at teardown. A fake engine (the sandbox's `podman` option) passes every
// command to the real podman except the ones named, which it refuses as podman would (exit 125).
const engine = await containerEngineReady("podman");
const ready = requireTool(engine.ready, engine.reason);

async function fakePodman(dir: string, refused: string[]): Promise<string> {
  const path = join(dir, "podman");
  const real = (await execa("sh", ["-c", "command -v podman"])).stdout.trim();
  // A pattern that matches no podman command when nothing is refused.
  await writeFile(path, `#!/bin/sh\ncase "$1" in ${[...refused, "--refuse-nothing--"].join("|")}) echo "Error: injected fault: podman $1 refused" >&2; exit 125;; esac\nexec ${real} "$@"\n`);
  await chmod(path, 0o755);
  return path;
}

async function runWith(refused: string[]) {
  const dir = await tempDir("corral-podman-fault-");
  const repo = await tempRepo();
  const runId = `fault-${process.pid}-${Date.now()}`;
  const events: RunEvent[] = [];
  const outcome = await run({
    cwd: repo,
    runId,
    prompt: "x",
    agent: commandAgent.configure({ argv: ["sh", "-c", "echo work > work.txt && git add work.txt && git -c user.name=Agent -c user.email=agent@example.com commit -qm 'agent: add work' && echo '<promise>COMPLETE</promise>'"] }),
    sandbox: podman({ image: CONTAINER_TEST_IMAGE, podman: await fakePodman(dir, refused) }),
    isolation: worktree(),
    env: { PATH: "/usr/bin:/bin" },
    network: "none",
    handleProcessSignals: false,
    onEvent: (event) => events.push(event),
  }).then(
    (result) => ({ result }),
    (error: unknown) => ({ error: error as { code?: string; message?: string; hint?: string } }),
  );
  const finished = events.find((e): e is Extract<RunEvent, { type: "run.finished" }> => e.type === "run.finished");
  const leftTemp = (await readdir(tmpdir())).filter((name) => name.includes(runId));
  return { runId, repo, dir, outcome, finished, leftTemp };
}

describe.skipIf(!ready)("podman: an engine that fails at teardown", () => {
  it("rm and every look at the container refused: a typed error naming it, the teardown recorded as incomplete, the keeper still ends it, the commit kept", async () => {
    const { runId, repo, dir, outcome, finished, leftTemp } = await runWith(["rm", "stop", "kill", "container"]);
    const container = `corral-${runId}`;
    expect(outcome).toMatchObject({ error: { code: "E_SANDBOX_CLOSE", message: expect.stringContaining(container), hint: expect.stringContaining("corral clean") } });
    expect(finished).toMatchObject({ status: "failed", teardownIncomplete: [expect.stringContaining(container)] });
    // The dead-man's switch: corral closed the keeper's stdin, so the container ended although rm failed.
    expect(await containersLabelled("podman", `corral.run=${runId}`)).toEqual([]);
    expect(leftTemp).toEqual([]);
    // What `corral clean` asks of the plugin (the real podman now): nothing more to remove, and nothing lost.
    expect((await reapOrphans({ runId })).containers).toEqual([]);
    expect(await gitIn(repo, "log", "--format=%s", "-1", finished!.branch!)).toBe("agent: add work");
    await removeDir(repo);
    await removeDir(dir);
  });

  it("twin: only rm refused, but podman shows the keeper took the container with it: the teardown is complete and the run succeeds", async () => {
    const { runId, repo, dir, outcome, finished } = await runWith(["rm"]);
    expect(outcome).toMatchObject({ result: { status: "succeeded", commits: [expect.objectContaining({ subject: "agent: add work" })] } });
    expect(finished?.teardownIncomplete).toBeUndefined();
    expect(await containersLabelled("podman", `corral.run=${runId}`)).toEqual([]);
    await removeDir(repo);
    await removeDir(dir);
  });

  it("twin: an engine that refuses nothing tears down fully", async () => {
    const { runId, repo, dir, outcome, finished, leftTemp } = await runWith([]);
    expect(outcome).toMatchObject({ result: { status: "succeeded" } });
    expect(finished?.teardownIncomplete).toBeUndefined();
    expect(await containersLabelled("podman", `corral.run=${runId}`)).toEqual([]);
    expect(leftTemp).toEqual([]);
    expect((await reapOrphans({ runId })).containers).toEqual([]);
    await removeDir(repo);
    await removeDir(dir);
  });
});
