import { existsSync, readdirSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTAINER_TEST_IMAGE, DOCKER_SOCKET, containerEngineReady, containersLabelled, gitIn, hasCommand, processesMatching, requireTool, socketProxy, tempDir, tempRepo, waitFor } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
// The CLI's own node_modules holds the plugins, as when a user installs them next to corral.
const NODE_PATH = fileURLToPath(new URL("../node_modules", import.meta.url));
const corral = (args: string[], cwd: string, env: Record<string, string> = {}) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1", NODE_PATH, ...env } });

/** An agent that commits, says so, then sleeps under a unique name (a symlink in its HOME) so the process table can be searched. */
const committingSleeper = (marker: string) => [
  "--",
  "sh",
  "-c",
  `echo work > work.txt && git add work.txt && git -c user.name=Agent -c user.email=agent@example.com commit -qm "agent: add work" && ln -s "$(command -v sleep)" "$HOME/${marker}" && echo committed && exec "$HOME/${marker}" 300`,
];

async function killMidRun(repo: string, marker: string, extra: string[], env: Record<string, string> = {}): Promise<{ runId: string }> {
  const child = execa("node", [BIN, "run", "--isolation", "worktree", "--name", "crash", "--prompt", "x", ...extra, ...committingSleeper(marker)], { cwd: repo, reject: false, env: { NO_COLOR: "1", NODE_PATH, ...env } });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor(() => stderr.includes("committed"), 60_000, "the agent to commit");
  await waitFor(async () => (await processesMatching(marker)).length > 0, 10_000, "the agent to sleep");
  child.kill("SIGKILL");
  await child;
  const list = await corral(["runs", "list", "--json"], repo, env);
  const [run] = JSON.parse(list.stdout) as Array<{ id: string; state: string; recordedState: string }>;
  expect(run).toMatchObject({ state: "interrupted", recordedState: "running" });
  return { runId: run!.id };
}

async function expectCleanedUp(repo: string, runId: string, marker: string, { stray = true } = {}): Promise<void> {
  // Before: a stray agent (unless its container already ended it) and the worktree. A dry run changes nothing.
  if (stray) expect((await processesMatching(marker)).length).toBeGreaterThan(0);
  const dry = await corral(["clean", "--dry-run"], repo);
  expect(dry.exitCode).toBe(0);
  expect(dry.stderr).toContain(`${runId} (crash): would clean`);
  expect(dry.stderr).toMatch(/would remove worktree .*crash \(branch corral\/crash kept\)/);
  if (stray) expect((await processesMatching(marker)).length).toBeGreaterThan(0);
  expect(existsSync(join(repo, ".corral", "worktrees", "crash"))).toBe(true);

  const r = await corral(["clean"], repo);
  expect(r.stderr).toContain(`${runId} (crash): cleaned`);
  expect(r.exitCode).toBe(0);
  expect(await processesMatching(marker)).toEqual([]);
  expect(existsSync(join(repo, ".corral", "worktrees", "crash"))).toBe(false);
  expect((await gitIn(repo, "worktree", "list", "--porcelain")).match(/^worktree /gm)).toHaveLength(1);
  // No lost commit: the agent's commit is on its branch.
  expect(await gitIn(repo, "log", "--format=%s", "-1", "corral/crash")).toBe("agent: add work");
  expect(await gitIn(repo, "show", "corral/crash:work.txt")).toBe("work");

  const show = await corral(["runs", "show", runId, "--json"], repo);
  expect(JSON.parse(show.stdout)).toMatchObject({ state: "interrupted", cleaned: { actions: expect.arrayContaining([expect.stringMatching(/remove worktree/)]) } });
  const again = await corral(["clean"], repo);
  expect(again.stderr).toContain("Nothing to clean");
}

describe("SIGKILL the orchestrator mid-run, then corral clean", () => {
  it("host sandbox: no stray process, no worktree, the commit on its branch", async () => {
    const repo = await tempRepo();
    const marker = `corral-clean-host-${process.pid}-${Date.now()}`;
    const { runId } = await killMidRun(repo, marker, []);
    await expectCleanedUp(repo, runId, marker);
  });

  it("docker sandbox: no container left either", async (ctx) => {
    const engine = await containerEngineReady("docker");
    if (!requireTool(engine.ready, engine.reason)) ctx.skip();
    const repo = await tempRepo();
    const config = join(await tempDir(), "corral.config.json");
    await writeFile(config, JSON.stringify({ sandbox: { name: "docker", options: { image: CONTAINER_TEST_IMAGE } } }));
    const marker = `corral-clean-docker-${process.pid}-${Date.now()}`;
    const { runId } = await killMidRun(repo, marker, ["--config", config]);
    const containers = async () => (await execa("docker", ["ps", "-aq", "--filter", `label=corral.run=${runId}`])).stdout.trim();
    // The container's keeper saw the orchestrator go and ended it: no agent is left running the worktree.
    await waitFor(async () => (await containers()) === "" && (await processesMatching(marker)).length === 0, 30_000, "the container to end with its orchestrator");
    // What is left for clean: the run's commit (still only in its own git dir) and the worktree.
    await expectCleanedUp(repo, runId, marker, { stray: false });
    expect(await containers()).toBe("");
  });
});

describe("corral clean keeps what it must", () => {
  it("keeps a dirty worktree unless --force, and stops the stray either way", async () => {
    const repo = await tempRepo();
    const marker = `corral-clean-dirty-${process.pid}-${Date.now()}`;
    const { runId } = await killMidRun(repo, marker, []);
    const worktree = join(repo, ".corral", "worktrees", "crash");
    await writeFile(join(worktree, "unsaved.txt"), "not committed");
    const kept = await corral(["clean", "--json"], repo);
    const report = JSON.parse(kept.stdout) as { runs: Array<{ id: string; kept: string[]; cleaned: boolean }> };
    expect(report.runs).toEqual([expect.objectContaining({ id: runId, cleaned: false, kept: [expect.stringMatching(/1 uncommitted change/)] })]);
    expect(existsSync(join(worktree, "unsaved.txt"))).toBe(true);
    expect(await processesMatching(marker)).toEqual([]); // the stray is stopped regardless

    const forced = await corral(["clean", "--force"], repo);
    expect(forced.exitCode).toBe(0);
    expect(forced.stderr).toMatch(/discarding 1 uncommitted change/);
    expect(existsSync(worktree)).toBe(false);
    expect(await gitIn(repo, "log", "--format=%s", "-1", "corral/crash")).toBe("agent: add work");
  });
});

describe("corral clean removes the temporary folders a killed run left", () => {
  it("finds them by the run's id in the temp dir (its HOME, with the agent's files), and touches nothing else there", async () => {
    const repo = await tempRepo();
    const tmp = await tempDir(); // the temp dir (TMPDIR) of the run and of clean, private to this test
    const env = { TMPDIR: tmp };
    const marker = `corral-clean-tmp-${process.pid}-${Date.now()}`;
    const { runId } = await killMidRun(repo, marker, [], env);
    const left = readdirSync(tmp).filter((name) => name.includes(runId));
    expect(left).toEqual([expect.stringMatching(new RegExp(`^corral-home-${runId}-[A-Za-z0-9]{6}$`))]); // what SIGKILL left: the run's HOME

    // Twins: another run's folder, a longer run id that starts with this one, and look-alikes stay.
    const others = ["corral-home-20200101-000000-abcdef-Q1w2E3", `corral-home-${runId}0-Q1w2E3`, `corral-home-${runId}`, `corral-cache-${runId}.keep`, `mine-${runId}-Q1w2E3`];
    for (const name of others) await mkdir(join(tmp, name));

    const dry = await corral(["clean", "--dry-run"], repo, env);
    expect(dry.stderr).toContain(`would remove temporary folder ${join(tmp, left[0]!)}`);
    expect(readdirSync(tmp)).toContain(left[0]);

    const r = await corral(["clean"], repo, env);
    expect(r.stderr).toContain(`${runId} (crash): cleaned`);
    expect(r.stderr).toContain(`remove temporary folder ${join(tmp, left[0]!)}`);
    expect(r.exitCode).toBe(0);
    expect(await processesMatching(marker)).toEqual([]);
    expect(readdirSync(tmp).sort()).toEqual([...others].sort());
    const show = await corral(["runs", "show", runId, "--json"], repo, env);
    expect(JSON.parse(show.stdout)).toMatchObject({ cleaned: { actions: expect.arrayContaining([expect.stringMatching(/^remove temporary folder /)]) } });
  });
});

// Issue 21.3: an engine that fails mid-run. The run must say which container it could not finish
// with, the journal must record that its teardown did not complete, and `corral clean` must then
// find what it left by its labels and run id, whatever the journal says.
describe("an engine that fails mid-run, then corral clean", () => {
  const dockerConfig = async () => {
    const config = join(await tempDir(), "corral.config.json");
    await writeFile(config, JSON.stringify({ sandbox: { name: "docker", options: { image: CONTAINER_TEST_IMAGE } } }));
    return config;
  };
  const runsList = async (repo: string) => JSON.parse((await corral(["runs", "list", "--json"], repo)).stdout) as Array<{ id: string; state: string; teardownIncomplete?: string[]; error?: { code: string }; cleaned?: unknown }>;

  it("docker: the engine's socket (a socat proxy) killed mid-iteration: a typed error naming the container, the run recorded as needing cleanup, clean finishes it", async (ctx) => {
    const engine = await containerEngineReady("docker");
    if (!requireTool(engine.ready, engine.reason) || !requireTool(await hasCommand("socat"), "socat is not installed (scripts/setup.sh)")) ctx.skip();
    const repo = await tempRepo();
    const proxy = await socketProxy(DOCKER_SOCKET, await tempDir());
    const marker = `corral-clean-engine-${process.pid}-${Date.now()}`;
    try {
      const child = execa("node", [BIN, "run", "--config", await dockerConfig(), "--isolation", "worktree", "--name", "lost", "--prompt", "x", "--", "sh", "-c", `ln -s "$(command -v sleep)" "$HOME/${marker}" && echo agent-up && exec "$HOME/${marker}" 300`], {
        cwd: repo,
        reject: false,
        env: { NO_COLOR: "1", NODE_PATH, DOCKER_HOST: `unix://${proxy.socket}` },
      });
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      await waitFor(() => stderr.includes("agent-up"), 60_000, "the agent to start");
      await waitFor(async () => (await processesMatching(marker)).length > 0, 10_000, "the agent to sleep");
      proxy.kill();
      const r = await child;
      expect(r.exitCode).toBe(1);
      const [run] = await runsList(repo);
      const container = `corral-${run!.id}`;
      expect(stderr).toContain(`could not finish with the container ${container}`);
      expect(stderr).toContain("run corral clean");
      expect(stderr).not.toContain("did not report the exit code");
      expect(run).toMatchObject({ state: "failed", error: { code: "E_SANDBOX_ENGINE_LOST" }, teardownIncomplete: [expect.stringContaining(container)] });
      // The keeper ended the agent with its connection: nothing works the worktree any more.
      await waitFor(async () => (await processesMatching(marker)).length === 0, 30_000, "the agent to end");

      const dry = await corral(["clean", "--dry-run"], repo);
      expect(dry.stderr).toContain(`${run!.id} (lost): would clean`);
      const cleaned = await corral(["clean"], repo); // the engine is back: the real socket
      expect(cleaned.stderr).toContain(`${run!.id} (lost): cleaned`);
      expect(cleaned.exitCode).toBe(0);
      expect(await containersLabelled("docker", `corral.run=${run!.id}`)).toEqual([]);
      expect((await runsList(repo))[0]).toMatchObject({ state: "failed", cleaned: expect.anything() });
      expect((await corral(["clean"], repo)).stderr).toContain("Nothing to clean");
    } finally {
      proxy.kill();
    }
  });

  it("twin: a healthy docker run tears down fully, and clean finds nothing", async (ctx) => {
    const engine = await containerEngineReady("docker");
    if (!requireTool(engine.ready, engine.reason)) ctx.skip();
    const repo = await tempRepo();
    const r = await corral(["run", "--config", await dockerConfig(), "--isolation", "worktree", "--name", "fine", "--prompt", "x", "--", "sh", "-c", "echo '<promise>COMPLETE</promise>'"], repo);
    expect(r.exitCode).toBe(0);
    const [run] = await runsList(repo);
    expect(run).toMatchObject({ state: "succeeded" });
    expect(run!.teardownIncomplete).toBeUndefined();
    const cleaned = await corral(["clean"], repo);
    expect(cleaned.stderr).toContain("Nothing to clean");
    expect(cleaned.exitCode).toBe(0);
  });

  it("podman: a fake engine that refuses rm at teardown: the hint's `corral clean` is true, and clean finishes the run", async (ctx) => {
    const engine = await containerEngineReady("podman");
    if (!requireTool(engine.ready, engine.reason)) ctx.skip();
    const repo = await tempRepo();
    const dir = await tempDir();
    const fake = join(dir, "podman");
    const real = (await execa("sh", ["-c", "command -v podman"])).stdout.trim();
    await writeFile(fake, `#!/bin/sh\ncase "$1" in rm|stop|kill|container) echo "Error: injected fault: podman $1 refused" >&2; exit 125;; esac\nexec ${real} "$@"\n`);
    await chmod(fake, 0o755);
    const config = join(dir, "corral.config.json");
    await writeFile(config, JSON.stringify({ sandbox: { name: "podman", options: { image: CONTAINER_TEST_IMAGE, podman: fake } } }));
    const r = await corral(["run", "--config", config, "--isolation", "worktree", "--name", "stuck", "--prompt", "x", ...committingSleeper("unused").slice(0, 3), "echo work > work.txt && git add work.txt && git -c user.name=Agent -c user.email=agent@example.com commit -qm 'agent: add work'"], repo);
    expect(r.exitCode).toBe(1);
    const [run] = await runsList(repo);
    const container = `corral-${run!.id}`;
    expect(r.stderr).toContain(`Could not remove the podman container ${container}`);
    expect(r.stderr).toContain("Run corral clean");
    expect(run).toMatchObject({ state: "failed", teardownIncomplete: [expect.stringContaining(container)] });
    // Nothing lost: the commit is on the run's branch.
    expect(await gitIn(repo, "log", "--format=%s", "-1", "corral/stuck")).toBe("agent: add work");

    const cleaned = await corral(["clean"], repo); // clean uses the config's podman too: the keeper already took the container, so reap finds none
    expect(cleaned.stderr).toContain(`${run!.id} (stuck): cleaned`);
    expect(cleaned.exitCode).toBe(0);
    expect(await containersLabelled("podman", `corral.run=${run!.id}`)).toEqual([]);
    expect((await corral(["clean"], repo)).stderr).toContain("Nothing to clean");
  });

  it("whatever the journal says: a container left by a run recorded `failed`, and one by a run whose run.json is empty, are removed with their temp folders by labels and run id", async (ctx) => {
    const engine = await containerEngineReady("docker");
    if (!requireTool(engine.ready, engine.reason)) ctx.skip();
    const repo = await tempRepo();
    const tmp = await tempDir();
    const dead = execa("true"); // a pid whose process is gone: the orchestrator of the left containers
    await dead;
    const stamp = Date.now().toString(36);
    const ids = { failed: `20240101-000000-f${stamp}`, empty: `20240101-000001-e${stamp}`, live: `20240101-000002-l${stamp}`, foreign: `20240101-000003-x${stamp}` };
    const labelled = async (runId: string, pid: number) =>
      (await execa("docker", ["create", "--label", `corral.run=${runId}`, "--label", `corral.pid=${pid}`, "--label", `corral.host=${hostname()}`, "--label", "corral.version=test", CONTAINER_TEST_IMAGE, "true"])).stdout.trim();
    const record = async (id: string, state: string) => {
      const dir = join(repo, ".corral", "runs", id);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "run.json"), state ? JSON.stringify({ version: 1, id, state, pid: dead.pid, host: hostname(), started: new Date().toISOString(), ended: new Date().toISOString(), cwd: repo, sandbox: { name: "docker" }, options: {} }) : "");
    };
    const made = [await labelled(ids.failed, dead.pid!), await labelled(ids.empty, dead.pid!), await labelled(ids.live, process.pid), await labelled(ids.foreign, dead.pid!)];
    try {
      await record(ids.failed, "failed"); // the journal says failed, and nothing about the container
      await record(ids.empty, ""); // a 0-byte run.json: the journal lost the run
      await record(ids.live, "failed"); // twin: its orchestrator (this process) is alive, so its container stays
      // twin: ids.foreign has no run in this journal at all: another repository's run, left to its own clean.
      const home = join(tmp, `corral-home-${ids.failed}-Q1w2E3`);
      await mkdir(home);
      const env = { TMPDIR: tmp };

      const dry = await corral(["clean", "--dry-run"], repo, env);
      expect(dry.stderr).toContain(`${ids.failed}: would clean`);
      expect(dry.stderr).toContain(`${ids.empty}: would clean`);
      expect(await containersLabelled("docker", `corral.run=${ids.failed}`)).toHaveLength(1);

      const r = await corral(["clean", "--json"], repo, env);
      const report = JSON.parse(r.stdout) as { runs: Array<{ id: string; actions: string[]; cleaned: boolean }> };
      expect(report.runs.map((run) => run.id).sort()).toEqual([ids.failed, ids.empty].sort());
      expect(report.runs.find((run) => run.id === ids.failed)).toMatchObject({ cleaned: true, actions: expect.arrayContaining([expect.stringMatching(/^remove container /), `remove temporary folder ${home}`]) });
      expect(report.runs.find((run) => run.id === ids.empty)).toMatchObject({ cleaned: true, actions: [expect.stringMatching(/^remove container .*orchestrator .* is gone/)] });
      expect(r.exitCode).toBe(0);
      expect(await containersLabelled("docker", `corral.run=${ids.failed}`)).toEqual([]);
      expect(await containersLabelled("docker", `corral.run=${ids.empty}`)).toEqual([]);
      expect(existsSync(home)).toBe(false);
      expect(await containersLabelled("docker", `corral.run=${ids.live}`)).toHaveLength(1);
      expect(await containersLabelled("docker", `corral.run=${ids.foreign}`)).toHaveLength(1);
      expect((await corral(["clean"], repo, env)).stderr).toContain("Nothing to clean");
    } finally {
      for (const id of made) await execa("docker", ["rm", "-f", id], { reject: false });
    }
  });
});

describe("a second Ctrl-C during cleanup, then corral clean", () => {
  it("says to run corral clean; clean then leaves the dirty worktree unlocked, its deleted .git repaired, no stray", async () => {
    const repo = await tempRepo();
    const marker = `corral-second-sigint-${process.pid}-${Date.now()}`;
    // The agent ignores SIGINT and SIGTERM, so the run's cleanup waits for its grace period; it deletes its .git and leaves work uncommitted.
    const script = `trap "" INT TERM; echo work > work.txt && git add work.txt && git -c user.name=Agent -c user.email=agent@example.com commit -qm "agent: add work" && rm -f .git && echo unsaved > unsaved.txt && ln -s "$(command -v sleep)" "$HOME/${marker}" && echo committed && exec "$HOME/${marker}" 300`;
    const child = execa("node", [BIN, "run", "--isolation", "worktree", "--name", "crash", "--prompt", "x", "--", "sh", "-c", script], { cwd: repo, reject: false, env: { NO_COLOR: "1", NODE_PATH } });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes("committed"), 60_000, "the agent to commit");
    child.kill("SIGINT");
    await waitFor(() => stderr.includes("SIGINT received"), 10_000, "the first interrupt to be seen");
    child.kill("SIGINT");
    const r = await child;
    expect(r.exitCode, stderr).toBe(130);
    expect(stderr).toContain("interrupted again, exiting without waiting for cleanup; run `corral clean` to finish it");
    const worktree = join(repo, ".corral", "worktrees", "crash");
    expect(existsSync(join(worktree, ".git"))).toBe(false);
    expect(await gitIn(repo, "worktree", "list", "--porcelain")).toMatch(/\nlocked corral/);

    const cleaned = await corral(["clean"], repo);
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    expect(cleaned.stderr).toMatch(/1 uncommitted change/);
    expect(await processesMatching(marker)).toEqual([]);
    // Kept, tracked, no longer locked by a dead run, and plain git works in it again.
    const listed = await gitIn(repo, "worktree", "list", "--porcelain");
    expect(listed).toContain(`worktree ${worktree}`);
    expect(listed).not.toMatch(/^locked/m);
    expect(await gitIn(worktree, "status", "--porcelain")).toBe("?? unsaved.txt");
    expect(await gitIn(repo, "log", "--format=%s", "-1", "corral/crash")).toBe("agent: add work");
  });
});
