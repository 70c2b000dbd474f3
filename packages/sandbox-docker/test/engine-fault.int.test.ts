import { commandAgent, run, type RunEvent } from "@corral/core";
import { CONTAINER_TEST_IMAGE, DOCKER_SOCKET, containerEngineReady, containersLabelled, gitIn, hasCommand, processesMatching, removeDir, requireTool, socketProxy, tempDir, tempRepo, waitFor, type SocketProxy } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { afterEach, describe, expect, it } from "vitest";
import { docker, reapOrphans } from "../src/index.js";

// Issue 21.3: the engine vanishes mid-run (a socat proxy stands for its socket; the test kills it).
const engine = await containerEngineReady("docker");
const socat = await hasCommand("socat");
const ready = requireTool(engine.ready, engine.reason) && requireTool(socat, "socat is not installed (scripts/setup.sh installs it)");

describe.skipIf(!ready)("docker: an engine that fails mid-run", () => {
  let proxy: SocketProxy | undefined;
  let dir: string | undefined;
  const previous = process.env.DOCKER_HOST;
  afterEach(async () => {
    proxy?.kill();
    if (previous === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = previous;
    if (dir) await removeDir(dir);
  });

  /** One run whose engine is the proxy; the agent says it is up, then sleeps under `marker` (findable in the process table). */
  async function runThroughProxy(marker: string, options: { fault?: "kill" | "hang" }) {
    dir = await tempDir("corral-docker-fault-");
    proxy = await socketProxy(DOCKER_SOCKET, dir);
    process.env.DOCKER_HOST = `unix://${proxy.socket}`; // read when the sandbox is made
    const repo = await tempRepo();
    const runId = `fault-${process.pid}-${Date.now()}`;
    const events: RunEvent[] = [];
    const script = options.fault ? `ln -s "$(command -v sleep)" "$HOME/${marker}"; echo agent-up; exec "$HOME/${marker}" 300` : "echo agent-up; echo '<promise>COMPLETE</promise>'";
    const running = run({
      cwd: repo,
      runId,
      prompt: "x",
      agent: commandAgent.configure({ argv: ["sh", "-c", script] }),
      // A hung engine answers nothing: the agent's silence ends the exec (idle timeout), and each engine call gives up after 5 s.
      sandbox: docker({ image: CONTAINER_TEST_IMAGE, ...(options.fault === "hang" ? { engineTimeoutSeconds: 5 } : {}) }),
      ...(options.fault === "hang" ? { idleTimeout: 5 } : {}),
      isolation: worktree(),
      env: { PATH: "/usr/bin:/bin" },
      network: "none",
      handleProcessSignals: false,
      onEvent: (event) => events.push(event),
    });
    const outcome = running.then(
      (result) => ({ result }),
      (error: unknown) => ({ error: error as { code?: string; message?: string; hint?: string } }),
    );
    if (options.fault) {
      await waitFor(() => events.some((e) => (e.type === "agent" || e.type === "agent.output") && JSON.stringify(e).includes("agent-up")), 60_000, "the agent to start");
      await waitFor(async () => (await processesMatching(marker)).length > 0, 10_000, "the agent to sleep");
      if (options.fault === "kill") proxy.kill();
      else proxy.hang();
    }
    const started = Date.now();
    const settled = await outcome;
    const seconds = (Date.now() - started) / 1000;
    proxy.kill();
    // From here on the test talks to the real engine again (what `corral clean` does once it is back).
    if (previous === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = previous;
    return { runId, repo, settled, seconds, finished: events.find((e): e is Extract<RunEvent, { type: "run.finished" }> => e.type === "run.finished") };
  }

  it("the proxy killed mid-iteration: a typed error that names the container, the teardown recorded as incomplete, the agent ended, nothing left for clean", async () => {
    const marker = `corral-docker-fault-${process.pid}-${Date.now()}`;
    const { runId, repo, settled, finished } = await runThroughProxy(marker, { fault: "kill" });
    const container = `corral-${runId}`;
    expect("error" in settled).toBe(true);
    const error = (settled as { error: { code?: string; message?: string; hint?: string } }).error;
    expect(error.code).toBe("E_SANDBOX_ENGINE_LOST");
    expect(error.message).toContain(container);
    expect(error.hint).toContain("corral clean");
    // The journal's source: run.finished says the teardown did not complete, and what it left.
    expect(finished).toMatchObject({ status: "failed", error: { code: "E_SANDBOX_ENGINE_LOST" }, teardownIncomplete: [expect.stringContaining(container)] });
    // The keeper saw its connection go: the agent no longer runs, the container is gone.
    await waitFor(async () => (await processesMatching(marker)).length === 0, 30_000, "the agent to end with its connection");
    await waitFor(async () => (await containersLabelled("docker", `corral.run=${runId}`)).length === 0, 30_000, "the container to end");
    // What clean asks of the plugin finds nothing more to remove; nothing was lost (no commit was made, the branch stays).
    expect((await reapOrphans({ runId })).containers).toEqual([]);
    expect(await gitIn(repo, "branch", "--list", "corral/*")).toContain("corral/");
    await removeDir(repo);
  });

  it("the engine hangs mid-iteration (its connections open and silent): the run still ends, typed, naming the container, within its idle and engine timeouts", async () => {
    const marker = `corral-docker-hang-${process.pid}-${Date.now()}`;
    const { runId, repo, settled, seconds, finished } = await runThroughProxy(marker, { fault: "hang" });
    const container = `corral-${runId}`;
    expect("error" in settled, JSON.stringify(settled)).toBe(true);
    const error = (settled as { error: { code?: string; message?: string; hint?: string } }).error;
    // Bounded by the idle timeout and a few engine timeouts (~40 s here), never the agent's 300 s sleep.
    expect(seconds).toBeLessThan(150);
    expect(error.code).toBe("E_SANDBOX_ENGINE_LOST");
    expect(error.message).toContain(container);
    expect(finished).toMatchObject({ status: "failed", teardownIncomplete: [expect.stringContaining(container)] });
    // Killed with the proxy, the container's connection closes: the keeper ends it.
    await waitFor(async () => (await processesMatching(marker)).length === 0, 30_000, "the agent to end with its connection");
    await waitFor(async () => (await containersLabelled("docker", `corral.run=${runId}`)).length === 0, 30_000, "the container to end");
    await removeDir(repo);
  }, 180_000);

  it("twin: a run through the same proxy, left alone, tears down fully", async () => {
    const { runId, repo, settled, finished } = await runThroughProxy("unused", {});
    expect(settled).toMatchObject({ result: { status: "succeeded" } });
    expect(finished?.teardownIncomplete).toBeUndefined();
    expect(await containersLabelled("docker", `corral.run=${runId}`)).toEqual([]);
    expect((await reapOrphans({ runId })).containers).toEqual([]);
    await removeDir(repo);
  });
});
