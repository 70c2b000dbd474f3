import { commandAgent, run, type SandboxSpec } from "@corral/core";
import { describeSandboxConformance } from "@corral/core/testing";
import { CONTAINER_TEST_IMAGE, containerEngineReady, gitIn, removeDir, requireTool, tempDir, tempRepo, waitFor } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import Docker from "dockerode";
import { chmod, mkdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeContainerEscapes } from "@corral/container/testing";
import { buildImage, docker, dockerSandbox, reapOrphans } from "../src/index.js";

// The container's /tmp is its own tmpfs; keep the kit's temp dirs (and its "outside" targets)
// off /tmp so that "a write outside the mounts fails" is tested against the read-only root.
process.env.TMPDIR = resolve(process.env.CORRAL_IT_TMPDIR ?? "/var/tmp");

const engine = await containerEngineReady("docker");
const ready = requireTool(engine.ready, engine.reason);
const sandboxWith = (options: Record<string, unknown> = {}) => dockerSandbox.create(docker({ image: CONTAINER_TEST_IMAGE, ...options }).options);

describeSandboxConformance("docker", () => sandboxWith(), {
  security: { writeOutside: true, networkNone: true, hostLoopback: true, egress: true, wallClock: true, limits: { pids: true, memory: true } },
});

const engineApi = new Docker();
describeContainerEscapes({
  engine: "docker",
  ready,
  sandbox: sandboxWith,
  reapOrphans,
  core: { run, commandAgent },
  entry: { url: new URL("../dist/index.js", import.meta.url).href, sandbox: "dockerSandbox", configure: "docker", image: CONTAINER_TEST_IMAGE },
  exists: (id) => engineApi.getContainer(id).inspect().then(() => true, (error: { statusCode?: number }) => (error.statusCode === 404 ? false : Promise.reject(error))),
  createLabelled: async (labels) => (await engineApi.createContainer({ Image: CONTAINER_TEST_IMAGE, Labels: labels, Cmd: ["true"] })).id,
  remove: (id) => engineApi.getContainer(id).remove({ force: true }),
});

describe.skipIf(!ready)("docker sandbox: container behaviour", () => {
  const api = new Docker();
  let root: string;
  let spec: (overrides?: Partial<SandboxSpec>) => SandboxSpec;

  beforeAll(async () => {
    root = await tempDir("corral-docker-it-");
    await mkdir(join(root, "ws"));
    await mkdir(join(root, "home"), { mode: 0o700 });
    let n = 0;
    spec = (overrides = {}) => ({
      runId: `it-${process.pid}-${++n}`,
      workspace: { path: join(root, "ws"), cwd: join(root, "ws") },
      gitMounts: [],
      home: join(root, "home"),
      mounts: [],
      env: { PATH: "/usr/bin:/bin", HOME: join(root, "home"), API_TOKEN: "sk-test-secret-value-123" },
      network: "none",
      limits: {},
      ...overrides,
    });
  });
  afterAll(async () => {
    if (root) await removeDir(root);
  });

  it("hardens the container, labels it, and keeps credentials out of its config", async () => {
    await using handle = await sandboxWith().create(spec({ limits: { memoryMb: 256, pids: 64, cpuPercent: 50 } }));
    const info = await api.getContainer(handle.id).inspect();
    expect(info.Config.Labels).toMatchObject({ "corral.run": expect.stringMatching(/^it-/), "corral.pid": String(process.pid), "corral.version": expect.any(String) });
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.PidsLimit).toBe(64);
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.MemorySwap).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.NetworkMode).toBe("none");
    expect(JSON.stringify(info)).not.toContain("sk-test-secret-value-123");
    // The secret still reaches the command that needs it.
    const lines: string[] = [];
    await handle.exec(["sh", "-c", 'echo "$API_TOKEN"'], { onLine: (line) => lines.push(line) });
    expect(lines).toEqual(["sk-test-secret-value-123"]);
  });

  it("files the agent writes are owned by the configured user on the host", async () => {
    {
      await using handle = await sandboxWith().create(spec());
      expect((await handle.exec(["touch", join(root, "ws", "as-host")])).exitCode).toBe(0);
    }
    expect((await stat(join(root, "ws", "as-host"))).uid).toBe(process.getuid!());
    await chmod(join(root, "ws"), 0o777);
    {
      await using handle = await sandboxWith({ user: "4321:4321" }).create(spec());
      expect((await handle.exec(["touch", join(root, "ws", "as-4321")])).exitCode).toBe(0);
    }
    const owned = await stat(join(root, "ws", "as-4321"));
    expect([owned.uid, owned.gid]).toEqual([4321, 4321]);
  });

  it("a write to the container's /tmp stays in the container", async () => {
    await using handle = await sandboxWith().create(spec());
    const name = `/tmp/corral-private-${process.pid}`;
    expect((await handle.exec(["sh", "-c", `echo inside > ${name} && cat ${name}`])).exitCode).toBe(0);
    await expect(stat(name)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a missing image is an error that names the build command", async () => {
    const error = await sandboxWith({ image: "corral-no-such-image:nope" }).create(spec()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "E_SANDBOX_IMAGE_MISSING" });
    expect((error as { hint: string }).hint).toContain("corral image build --sandbox docker");
    const availability = await sandboxWith({ image: "corral-no-such-image:nope" }).check();
    expect(availability).toMatchObject({ available: false, reason: expect.stringContaining("corral-no-such-image:nope"), code: "E_SANDBOX_IMAGE_MISSING" });
    // A run fails with the same code, before any workspace exists.
    const repo = await tempRepo();
    const running = run({ cwd: repo, agent: commandAgent.configure({ argv: ["true"] }), sandbox: sandboxWith({ image: "corral-no-such-image:nope" }), prompt: "x", handleProcessSignals: false });
    await expect(running).rejects.toMatchObject({ code: "E_SANDBOX_IMAGE_MISSING", hint: expect.stringContaining("corral image build --sandbox docker") });
  });

  it("an engine that does not answer is reported by check() and create()", async () => {
    const previous = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${join(root, "no-docker.sock")}`;
    try {
      const sandbox = sandboxWith();
      const availability = await sandbox.check();
      expect(availability).toMatchObject({ available: false, reason: expect.stringContaining("does not answer"), hint: expect.stringContaining("DOCKER_HOST") });
      await expect(sandbox.create(spec())).rejects.toMatchObject({ code: "E_SANDBOX_UNAVAILABLE" });
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = previous;
    }
  });

  it("network bridge: used when the engine has it, refused (fail closed) when it has not", async () => {
    const hasBridge = await api.getNetwork("bridge").inspect().then(() => true, () => false);
    const attempt = sandboxWith().create(spec({ network: "bridge" }));
    if (hasBridge) {
      await using handle = await attempt;
      expect((await api.getContainer(handle.id).inspect()).HostConfig.NetworkMode).toBe("bridge");
    } else {
      await expect(attempt).rejects.toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", message: expect.stringContaining("bridge") });
    }
  });

  it("close() removes the container; the wall-clock limit ends it on its own", async () => {
    const handle = await sandboxWith().create(spec());
    await handle.close();
    await expect(api.getContainer(handle.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const short = await sandboxWith().create(spec({ limits: { wallSeconds: 2 } }));
    await waitFor(() => api.getContainer(short.id).inspect().then(() => false, () => true), 20_000, "the container to end at its wall-clock limit");
    await short.close();
  });

  it("buildImage streams the build and fails on a failed step", async () => {
    const context = join(root, "build");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nARG AGENT_UID\nRUN echo "built for $AGENT_UID" > /built\n`);
    const lines: string[] = [];
    const tag = `corral-it-build:${process.pid}`;
    await buildImage({ contextDir: context, tag, onLine: (line) => lines.push(line) });
    expect(lines.join("\n")).toContain("RUN echo");
    expect((await api.getImage(tag).inspect()).RepoTags).toContain(tag);
    await api.getImage(tag).remove({ force: true });

    await writeFile(join(context, "Dockerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nRUN exit 3\n`);
    await expect(buildImage({ contextDir: context, tag: `corral-it-bad:${process.pid}` })).rejects.toMatchObject({ code: "E_IMAGE_BUILD", message: expect.stringContaining("non-zero code: 3") });
  });

  it("an image with its own ENTRYPOINT still idles and runs our execs", async () => {
    const context = join(root, "entrypoint");
    await mkdir(context);
    // An ENTRYPOINT that would fail if it wrapped the sandbox's idle command.
    await writeFile(join(context, "Dockerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nENTRYPOINT ["/bin/false"]\n`);
    const tag = `corral-it-entrypoint:${process.pid}`;
    await buildImage({ contextDir: context, tag });
    try {
      const workspace = join(root, "ep-ws");
      await mkdir(workspace);
      const home = join(root, "ep-home");
      await mkdir(home);
      const sandbox = dockerSandbox.create(dockerSandbox.configure({ image: tag }).options);
      await using handle = await sandbox.create({ runId: `ep-${process.pid}`, workspace: { path: workspace, cwd: workspace }, gitMounts: [], home, mounts: [], env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: home }, network: "none", limits: {} });
      const lines: string[] = [];
      const result = await handle.exec(["sh", "-c", "echo alive"], { onLine: (line) => lines.push(line) });
      expect(result.exitCode).toBe(0);
      expect(lines).toEqual(["alive"]);
    } finally {
      await api.getImage(tag).remove({ force: true });
    }
  });

  it("end to end: corral run with the command agent commits on a worktree inside the container", async () => {
    const repo = await tempRepo();
    try {
      const result = await run({
        cwd: repo,
        name: "docker-e2e",
        prompt: "add a file",
        agent: commandAgent.configure({ argv: ["sh", "-c", "echo from-container > agent.txt && git add agent.txt && git commit -q -m 'agent: add agent.txt' && echo '<promise>COMPLETE</promise>'"] }),
        sandbox: docker({ image: CONTAINER_TEST_IMAGE }),
        isolation: worktree(),
        env: { PATH: "/usr/bin:/bin", GIT_AUTHOR_NAME: "Agent", GIT_AUTHOR_EMAIL: "agent@example.com", GIT_COMMITTER_NAME: "Agent", GIT_COMMITTER_EMAIL: "agent@example.com" },
        network: "none",
        handleProcessSignals: false,
      });
      expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
      expect(result.commits.map((c) => c.subject)).toEqual(["agent: add agent.txt"]);
      expect(result.branch).toBeTruthy();
      expect(await gitIn(repo, "show", `${result.branch}:agent.txt`)).toBe("from-container");
      const left = await api.listContainers({ all: true, filters: { label: [`corral.run=${result.runId}`] } });
      expect(left).toEqual([]);
    } finally {
      await removeDir(repo);
    }
  });
});
