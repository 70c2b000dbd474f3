import { commandAgent, run, type SandboxSpec } from "@corral/core";
import { removeRunTempDirs, runTempPrefix } from "@corral/core/plugin-kit";
import { describeSandboxConformance } from "@corral/core/testing";
import { CONTAINER_TEST_IMAGE, containerEngineReady, gitIn, removeDir, requireTool, tempDir, tempRepo, waitFor } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { execa } from "execa";
import { spawn } from "node:child_process";
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeContainerEscapes } from "@corral/container/testing";
import { buildImage, podman, podmanSandbox, reapOrphans } from "../src/index.js";

// The container's /tmp is its own tmpfs; keep the kit's temp dirs (and its "outside" targets)
// off /tmp so that "a write outside the mounts fails" is tested against the read-only root.
process.env.TMPDIR = resolve(process.env.CORRAL_IT_TMPDIR ?? "/var/tmp");

const engine = await containerEngineReady("podman");
const ready = requireTool(engine.ready, engine.reason);
const sandboxWith = (options: Record<string, unknown> = {}) => podmanSandbox.create(podman({ image: CONTAINER_TEST_IMAGE, ...options }).options);

/** `podman inspect` of one container, parsed. */
async function inspect(id: string): Promise<any> {
  const r = await execa("podman", ["container", "inspect", id], { reject: false });
  if (r.exitCode !== 0) return undefined;
  return (JSON.parse(r.stdout) as unknown[])[0];
}

describeSandboxConformance("podman", () => sandboxWith(), {
  security: { writeOutside: true, networkNone: true, hostLoopback: true, egress: true, wallClock: true, limits: { pids: true, memory: true } },
});

describeContainerEscapes({
  engine: "podman",
  ready,
  sandbox: sandboxWith,
  reapOrphans,
  core: { run, commandAgent },
  entry: { url: new URL("../dist/index.js", import.meta.url).href, sandbox: "podmanSandbox", configure: "podman", image: CONTAINER_TEST_IMAGE },
  exists: async (id) => (await inspect(id)) !== undefined,
  createLabelled: async (labels) => (await execa("podman", ["create", ...Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]), CONTAINER_TEST_IMAGE, "true"])).stdout.trim(),
  remove: async (id) => void (await execa("podman", ["rm", "--force", "--time", "0", id])),
});

describe.skipIf(!ready)("podman sandbox: container behaviour", () => {
  let root: string;
  let spec: (overrides?: Partial<SandboxSpec>) => SandboxSpec;

  beforeAll(async () => {
    root = await tempDir("corral-podman-it-");
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

  it("hardens the container, labels it, and keeps credentials off its config and off command lines", async () => {
    await using handle = await sandboxWith().create(spec({ limits: { memoryMb: 256, pids: 64, cpuPercent: 50 } }));
    const info = await inspect(handle.id);
    expect(info.Config.Labels).toMatchObject({ "corral.run": expect.stringMatching(/^it-/), "corral.pid": String(process.pid), "corral.version": expect.any(String) });
    expect(info.HostConfig.CapDrop.length).toBeGreaterThan(10); // podman lists every dropped capability
    expect(info.EffectiveCaps ?? []).toEqual([]);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.PidsLimit).toBe(64);
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.MemorySwap).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(JSON.stringify(info)).not.toContain("sk-test-secret-value-123");
    // The secret reaches the command, and no host process shows it on its command line meanwhile.
    const lines: string[] = [];
    let psDuring = "";
    await handle.exec(["sh", "-c", 'echo "$API_TOKEN"; sleep 1'], {
      onLine: (line) => {
        lines.push(line);
        void execa("ps", ["-eo", "args="]).then((r) => (psDuring = r.stdout));
      },
    });
    expect(lines).toEqual(["sk-test-secret-value-123"]);
    expect(psDuring).toContain("podman exec");
    expect(psDuring).not.toContain("sk-test-secret-value-123");
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
    const error = await sandboxWith({ image: "localhost/corral-no-such-image:nope" }).create(spec()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "E_SANDBOX_IMAGE_MISSING" });
    expect((error as { hint: string }).hint).toContain("corral image build --sandbox podman");
    expect(await sandboxWith({ image: "localhost/corral-no-such-image:nope" }).check()).toMatchObject({ available: false, reason: expect.stringContaining("corral-no-such-image"), code: "E_SANDBOX_IMAGE_MISSING" });
    // A run fails with the same code, before any workspace exists.
    const repo = await tempRepo();
    const running = run({ cwd: repo, agent: commandAgent.configure({ argv: ["true"] }), sandbox: sandboxWith({ image: "localhost/corral-no-such-image:nope" }), prompt: "x", handleProcessSignals: false });
    await expect(running).rejects.toMatchObject({ code: "E_SANDBOX_IMAGE_MISSING", hint: expect.stringContaining("corral image build --sandbox podman") });
  });

  it("podman missing or broken is reported by check() and create()", async () => {
    const missing = sandboxWith({ podman: join(root, "no-podman-here") });
    expect(await missing.check()).toMatchObject({ available: false, reason: expect.stringMatching(/not installed.*podman option is .*no-podman-here/) });
    await expect(missing.create(spec())).rejects.toMatchObject({ code: "E_SANDBOX_UNAVAILABLE" });
    const broken = join(root, "broken-podman");
    await writeFile(broken, "#!/bin/sh\necho 'Error: cannot connect to the engine' >&2\nexit 125\n", { mode: 0o755 });
    expect(await sandboxWith({ podman: broken }).check()).toMatchObject({ available: false, reason: expect.stringContaining("cannot connect to the engine") });
  });

  it("network bridge gives the container its own network namespace", async () => {
    await using handle = await sandboxWith().create(spec({ network: "bridge" }));
    const lines: string[] = [];
    await handle.exec(["cat", "/proc/net/route"], { onLine: (line) => lines.push(line) });
    expect(lines.length).toBeGreaterThan(1);
    expect((await inspect(handle.id)).HostConfig.NetworkMode).toBe("bridge");
  });

  it("close() removes the container; the wall-clock limit ends it on its own", async () => {
    const handle = await sandboxWith().create(spec());
    await handle.close();
    expect(await inspect(handle.id)).toBeUndefined();
    const short = await sandboxWith().create(spec({ limits: { wallSeconds: 2 } }));
    await waitFor(async () => (await inspect(short.id)) === undefined, 20_000, "the container to end at its wall-clock limit");
    await short.close();
  });

  it("attack: the env (credentials) never rests on disk — not while an exec runs, not after the orchestrator is SIGKILLed; twin: the command gets it", async () => {
    const secret = `sk-at-rest-${process.pid}`;
    const runId = `at-rest-${process.pid}`;
    const script = join(root, "at-rest.mjs");
    const dist = new URL("../dist/index.js", import.meta.url).href;
    await writeFile(
      script,
      `import { podman, podmanSandbox } from ${JSON.stringify(dist)};
const h = await podmanSandbox.create(podman({ image: ${JSON.stringify(CONTAINER_TEST_IMAGE)} }).options).create(${JSON.stringify(spec({ runId, env: { PATH: "/usr/bin:/bin", API_TOKEN: secret } }))});
await h.exec(["sh", "-c", 'echo "token=$API_TOKEN"; sleep 600'], { onLine: (line) => console.log(line) });`,
    );
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((done) => child.once("exit", done));
    const seen = await new Promise<string>((resolveLine, fail) => {
      child.stdout.on("data", (chunk: Buffer) => String(chunk).split("\n").some((line) => line.startsWith("token=") && (resolveLine(line), true)));
      child.once("exit", (code) => fail(new Error(`the orchestrator exited early (${code})`)));
    });
    expect(seen).toBe(`token=${secret}`); // the twin: the command got it
    const runDirs = async () => (await readdir(tmpdir())).filter((name) => name.startsWith(runTempPrefix("podman", runId))).map((name) => join(tmpdir(), name));
    const holdsSecret = async () => {
      for (const dir of await runDirs()) for (const name of await readdir(dir)) if ((await readFile(join(dir, name)).catch(() => Buffer.alloc(0))).includes(secret)) return join(dir, name);
      return undefined;
    };
    const [dir] = await runDirs();
    expect(dir, "the run's private folder, named by its run id").toBeDefined();
    expect((await stat(dir!)).mode & 0o777).toBe(0o700);
    expect(await holdsSecret(), "a file holding the secret while the exec runs").toBeUndefined();
    child.kill("SIGKILL");
    await exited;
    expect(await holdsSecret(), "a file holding the secret after SIGKILL").toBeUndefined();
    // What the killed run left on the host, corral clean removes by run id.
    expect(await removeRunTempDirs(runId)).toEqual([dir]);
  });

  it("attack: a user namespace asked for and impossible here stops the run with the fix (fail closed); twin: userns host runs", async () => {
    const info = JSON.parse((await execa("podman", ["info", "--format", "json"])).stdout);
    const rootless = info.host.security.rootless === true;
    const impossible = rootless ? "auto" : (await readFile("/etc/subuid", "utf8").catch(() => "")).includes("containers:") && /crun|runc version (1\.[2-9]|[2-9])/.test(JSON.stringify(info.host.ociRuntime)) ? undefined : "auto";
    if (impossible) {
      const sandbox = sandboxWith({ userns: impossible });
      expect(await sandbox.check()).toMatchObject({ available: false, reason: expect.stringContaining("user namespace") });
      await expect(sandbox.create(spec())).rejects.toMatchObject({ code: "E_SANDBOX_USERNS" });
    }
    if (!rootless) await expect(sandboxWith({ userns: "keep-id" }).create(spec())).rejects.toMatchObject({ code: "E_SANDBOX_USERNS", hint: expect.stringContaining("auto") });
    await using handle = await sandboxWith({ userns: "host" }).create(spec());
    const lines: string[] = [];
    await handle.exec(["cat", "/proc/self/uid_map"], { onLine: (line) => lines.push(line.trim().replace(/\s+/g, " ")) });
    expect(lines).toEqual(["0 0 4294967295"]);
  });

  it("buildImage streams the build and fails on a failed step", async () => {
    const context = join(root, "build");
    await mkdir(context);
    await writeFile(join(context, "Containerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nARG AGENT_UID\nRUN echo "built for $AGENT_UID" > /built\n`);
    const lines: string[] = [];
    const tag = `localhost/corral-it-build:${process.pid}`;
    await buildImage({ contextDir: context, tag, onLine: (line) => lines.push(line) });
    expect(lines.join("\n")).toContain("RUN echo");
    expect((await execa("podman", ["image", "exists", tag], { reject: false })).exitCode).toBe(0);
    await execa("podman", ["rmi", "-f", tag]);

    await writeFile(join(context, "Containerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nRUN exit 3\n`);
    await expect(buildImage({ contextDir: context, tag: `localhost/corral-it-bad:${process.pid}` })).rejects.toMatchObject({ code: "E_IMAGE_BUILD" });
  });

  it("an image with its own ENTRYPOINT still idles and runs our execs", async () => {
    const context = join(root, "entrypoint");
    await mkdir(context);
    // An ENTRYPOINT that would fail if it wrapped the sandbox's idle command.
    await writeFile(join(context, "Containerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nENTRYPOINT ["/bin/false"]\n`);
    const tag = `localhost/corral-it-entrypoint:${process.pid}`;
    await buildImage({ contextDir: context, tag });
    try {
      await using handle = await podmanSandbox.create(podman({ image: tag }).options).create(spec());
      const lines: string[] = [];
      const result = await handle.exec(["sh", "-c", "echo alive"], { onLine: (line) => lines.push(line) });
      expect(result.exitCode).toBe(0);
      expect(lines).toEqual(["alive"]);
    } finally {
      await execa("podman", ["rmi", "-f", tag], { reject: false });
    }
  });

  it("leaves no conmon droppings (`oom` after the memory case) in the orchestrator's cwd", async () => {
    await expect(stat(join(process.cwd(), "oom"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("end to end: corral run with the command agent commits on a worktree inside the container", async () => {
    const repo = await tempRepo();
    try {
      const result = await run({
        cwd: repo,
        name: "podman-e2e",
        prompt: "add a file",
        agent: commandAgent.configure({ argv: ["sh", "-c", "echo from-container > agent.txt && git add agent.txt && git commit -q -m 'agent: add agent.txt' && echo '<promise>COMPLETE</promise>'"] }),
        sandbox: podman({ image: CONTAINER_TEST_IMAGE }),
        isolation: worktree(),
        env: { PATH: "/usr/bin:/bin", GIT_AUTHOR_NAME: "Agent", GIT_AUTHOR_EMAIL: "agent@example.com", GIT_COMMITTER_NAME: "Agent", GIT_COMMITTER_EMAIL: "agent@example.com" },
        network: "none",
        handleProcessSignals: false,
      });
      expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
      expect(result.commits.map((c) => c.subject)).toEqual(["agent: add agent.txt"]);
      expect(await gitIn(repo, "show", `${result.branch}:agent.txt`)).toBe("from-container");
      const left = await execa("podman", ["ps", "-aq", "--filter", `label=corral.run=${result.runId}`]);
      expect(left.stdout.trim()).toBe("");
    } finally {
      await removeDir(repo);
    }
  });
});
