/**
 * The podman sandbox against a second, real engine on its own test host (tooling/ci/remote-engine.sh:
 * a podman service in a network namespace at 10.231.0.2, with its own mount namespace and storage,
 * reached through that host's sshd). corral carries the connection itself (its ssh, the host key
 * checked against known_hosts) and hands the podman CLI a forwarded local socket. Nothing here mocks
 * the engine or the network.
 */
import { describeCopiedWorkspace, describeSandboxConformance } from "@corral/core/testing";
import { LABELS } from "@corral/container";
import { expectBackgroundSwept, expectClaudeRunComesBack, expectEgressRelayed, nativeBinary, remoteSpecs } from "@corral/container/testing";
import { CONTAINER_TEST_IMAGE, remoteTestEngine, removeDir, requireTool, tempRepo, waitFor } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { buildImage, podman, podmanSandbox, reapOrphans } from "../src/index.js";
import { podmanCall } from "../src/cli.js";
import { PodmanEngine, resolvePodmanEndpoint } from "../src/endpoint.js";
// Not dependencies (agent-claude's tests depend on this package): the built plugin and the mock, by path.
const claudeModule = new URL("../../agent-claude/dist/index.js", import.meta.url).href;
const mockModule = new URL("../../../tooling/mock-model-api/src/index.ts", import.meta.url).href;
const claudeBinary = fileURLToPath(new URL("../../agent-claude/node_modules/@anthropic-ai/claude-code/bin/claude.exe", import.meta.url));

const repo = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const remote = remoteTestEngine();
const ready = requireTool(remote.ready, remote.reason);
const E = remote.env;
const ssh = () => ({ host: E.CORRAL_REMOTE_PODMAN!, sshIdentity: E.CORRAL_REMOTE_SSH_KEY!, sshKnownHosts: E.CORRAL_REMOTE_SSH_KNOWN_HOSTS! });
const sandboxWith = (options: Record<string, unknown> = {}) => podmanSandbox.create(podman({ image: CONTAINER_TEST_IMAGE, ...ssh(), ...options }).options);
/** The remote engine through corral's own connection, for what the test itself looks at there. */
const remoteEngine = () => new PodmanEngine("podman", resolvePodmanEndpoint(ssh(), {}));
/** A command on the remote host itself (the system ssh, with the test host's known_hosts: the test's view, not corral's). */
const onRemoteHost = (command: string) =>
  execFileSync("ssh", ["-F", "/dev/null", "-i", E.CORRAL_REMOTE_SSH_KEY!, "-o", `UserKnownHostsFile=${E.CORRAL_REMOTE_SSH_KNOWN_HOSTS}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "root@10.231.0.2", command], { encoding: "utf8" });

// The copied-workspace kit (round trip, the patch, planted hooks/config/links/other refs) on the
// remote podman over ssh: the only way a workspace reaches it.
if (ready) {
  describeCopiedWorkspace("podman on a remote engine (ssh)", () => podman({ image: CONTAINER_TEST_IMAGE, ...ssh() }), { worktree: (options) => worktree(options), env: { PATH: "/usr/local/bin:/usr/bin:/bin" } });
  // The contract (streaming, stdin, exit codes, env, abort/timeout/close killing everything,
  // concurrency, the wall clock, network none) on a copied workspace (the kit gives a remote sandbox
  // one, and skips its cases about the host's workspace folder); its claims about this machine's
  // folders and loopback are not made for another machine's engine.
  describeSandboxConformance("podman on a remote engine (ssh)", () => sandboxWith(), { security: { networkNone: true, wallClock: true } });
}

describe.skipIf(!ready)("podman sandbox on a remote engine", () => {
  const specs = remoteSpecs("corral-podman-remote-it");
  const spec = specs.spec;
  let root: string;
  let home: string;
  beforeAll(() => {
    root = specs.root();
    home = specs.home();
  });

  it("ssh://: check() answers, names the remote engine and checks the image there; the engine is not local", async () => {
    const sandbox = sandboxWith();
    expect(await sandbox.check()).toMatchObject({ available: true, detail: expect.stringContaining("ssh://root@10.231.0.2:22, a remote engine") });
    expect(sandbox.capabilities).toMatchObject({ workspaceLocality: "remote", network: expect.arrayContaining(["proxy"]) });
    expect(await sandboxWith({ image: "corral-not-built:remote" }).check()).toMatchObject({ available: false, code: "E_SANDBOX_IMAGE_MISSING" });
  });

  it("CONTAINER_HOST names the same engine, and the CLI's own CONTAINER_* variables never reach it", async () => {
    const endpoint = resolvePodmanEndpoint({ sshIdentity: E.CORRAL_REMOTE_SSH_KEY!, sshKnownHosts: E.CORRAL_REMOTE_SSH_KNOWN_HOSTS! }, { CONTAINER_HOST: E.CORRAL_REMOTE_PODMAN });
    expect(endpoint).toMatchObject({ locality: "remote", source: "CONTAINER_HOST", display: "ssh://root@10.231.0.2:22" });
    const engine = new PodmanEngine("podman", endpoint);
    const previous = process.env.CONTAINER_HOST;
    process.env.CONTAINER_HOST = "ssh://root@10.231.0.2:22/run/podman/podman.sock"; // would send the CLI over its own (trust-on-first-use) ssh
    try {
      const info = await podmanCall(engine, ["info", "--format", "{{.Store.GraphRoot}}"], { timeoutMs: 30_000 });
      expect(info.exitCode).toBe(0);
      expect(Object.keys(engine.env()).filter((key) => /^CONTAINER_(HOST|CONNECTION|SSHKEY|PASSPHRASE)$/.test(key))).toEqual([]);
      // The forwarded socket is private: a folder only corral's user may enter, a socket only it may open.
      const [, url] = await engine.flags();
      const socket = url!.slice("unix://".length);
      expect((statSync(join(socket, "..")).mode & 0o777).toString(8)).toBe("700");
      expect((statSync(socket).mode & 0o777).toString(8)).toBe("600");
    } finally {
      if (previous === undefined) delete process.env.CONTAINER_HOST;
      else process.env.CONTAINER_HOST = previous;
      await engine.close();
    }
  });

  it("a container on the remote engine streams an exec's lines and exit code; the run's HOME is shipped in", async () => {
    const handle = await sandboxWith().create(spec());
    try {
      const lines: string[] = [];
      const result = await handle.exec(["sh", "-c", 'echo one; echo two >&2; cat "$HOME/.gitconfig"; exit 3'], { cwd: "/tmp", onLine: (line) => lines.push(line) });
      expect(result.exitCode).toBe(3);
      expect(lines).toEqual(expect.arrayContaining(["one", "two", "\tname = remote test"]));
      // The container is on the remote engine, not this machine's.
      const local = execFileSync("podman", ["ps", "--all", "--quiet", "--filter", `id=${handle.id}`], { encoding: "utf8" }).trim();
      expect(local).toBe("");
      expect(onRemoteHost(`podman ps --quiet --no-trunc --filter id=${handle.id}`).trim()).toBe(handle.id);
    } finally {
      await handle.close();
    }
    expect(onRemoteHost(`podman ps --all --quiet --filter id=${handle.id}`).trim()).toBe("");
  });

  it("the tightened seccomp profile is on the remote host only while the container is made: none is left there; twin: the container keeps it (unshare -U refused)", async () => {
    const profiles = () => onRemoteHost("ls -d /tmp/corral-seccomp-* 2>/dev/null || true").split("\n").filter(Boolean).sort();
    const before = profiles();
    const handle = await sandboxWith().create(spec());
    try {
      expect(profiles()).toEqual(before); // gone once the container exists, while it runs
      const lines: string[] = [];
      const userns = await handle.exec(["sh", "-c", "unshare -U true 2>&1; echo exit=$?; unshare --version >/dev/null && echo runs"], { cwd: "/tmp", onLine: (line) => lines.push(line) });
      expect(userns.exitCode).toBe(0);
      expect(lines).toContain("runs");
      expect(lines.join("\n")).toContain("unshare failed: Operation not permitted");
      expect(lines).not.toContain("exit=0");
    } finally {
      await handle.close();
    }
    expect(profiles()).toEqual(before);
  });

  it("attack: what an exec leaves in the background (setsid'd, immune to SIGTERM) is gone when it returns, found through the remote cgroup; twin: keepBackgroundProcesses keeps it", async () => {
    await expectBackgroundSwept((keep) => sandboxWith(keep ? { keepBackgroundProcesses: true } : {}).create(spec()));
  });

  it("the connection's long-lived shell answers one question at a time, exactly: output, exit code, no stdin, one shell for all", async () => {
    const engine = remoteEngine();
    try {
      const ssh = engine.endpoint.ssh!.connection;
      const answers = await Promise.all([ssh.ask("echo $$"), ssh.ask("printf 'no newline'"), ssh.ask("cat; echo read-nothing"), ssh.ask("echo out; echo err >&2; exit 3"), ssh.ask("echo $$")]);
      expect(answers.map((a) => a.code)).toEqual([0, 0, 0, 3, 0]);
      expect(answers[1]!.stdout).toBe("no newline");
      expect(answers[2]!.stdout).toBe("read-nothing\n");
      expect(answers[3]!.stdout).toBe("out\n");
      expect(answers[4]!.stdout).toBe(answers[0]!.stdout); // the same shell, not a session per question
      await expect(ssh.ask("echo a\necho b")).rejects.toThrow(/one line/);
    } finally {
      await engine.close();
    }
  });

  it("the remote container ends with corral: a SIGKILLed orchestrator's ssh connection goes, and the keeper takes the container with it", async () => {
    // A child orchestrator (the built plugin) opens a sandbox on the remote engine, says its id, and is killed.
    const entry = new URL("../dist/index.js", import.meta.url).href;
    const script = `const { podman, podmanSandbox } = await import(${JSON.stringify(entry)});
const sandbox = podmanSandbox.create(podman(${JSON.stringify({ image: CONTAINER_TEST_IMAGE, ...ssh() })}).options);
const handle = await sandbox.create(${JSON.stringify(spec())});
console.log("id=" + handle.id);
setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const id = await new Promise<string>((done, fail) => {
      child.stdout.on("data", (chunk: Buffer) => {
        const match = /id=(\w+)/.exec(chunk.toString());
        if (match) done(match[1]!);
      });
      child.once("exit", (code) => fail(new Error(`the child orchestrator exited (${code}) before its sandbox was up`)));
    });
    const running = () => onRemoteHost(`podman ps --all --quiet --no-trunc --filter id=${id}`).trim();
    expect(running()).toBe(id); // twin: alive while its orchestrator is
    child.kill("SIGKILL");
    await waitFor(() => running() === "", 30_000, "the remote container to end after its orchestrator was killed");
  });

  it("attack: an ssh host whose key is not in known_hosts is refused, where podman's own ssh would trust it on first use; twin: the listed key is accepted", async () => {
    const empty = join(root, "known_hosts");
    writeFileSync(empty, "");
    // Before (what CONTAINER_HOST did when the CLI carried the connection): podman's own ssh, with no
    // known_hosts at all, only warns and reaches the engine.
    const bare = join(root, "bare-home");
    mkdirSync(bare);
    const own = spawnSync("podman", ["--url", E.CORRAL_REMOTE_PODMAN!, "--identity", E.CORRAL_REMOTE_SSH_KEY!, "info", "--format", "{{.Host.Hostname}}"], { env: { PATH: process.env.PATH, HOME: bare }, encoding: "utf8", timeout: 30_000 });
    expect({ status: own.status, warned: /known_hosts/.test(own.stderr) }).toEqual({ status: 0, warned: true });
    const refused = sandboxWith({ sshKnownHosts: empty });
    expect(await refused.check()).toMatchObject({ available: false, code: "E_SANDBOX_ENGINE_TRUST", hint: expect.stringContaining("known_hosts") });
    await expect(refused.create(spec())).rejects.toMatchObject({ code: "E_SANDBOX_ENGINE_TRUST" });
    expect(readdirSync(root)).not.toContain(".ssh");
    expect(await sandboxWith().check()).toMatchObject({ available: true });
  });

  it("attack: a mounted workspace, a host mount or an agent-program mount is refused before anything is made; twin: the copy works", async () => {
    const sandbox = sandboxWith();
    const before = onRemoteHost(`podman ps --all --quiet --filter label=${LABELS.run}`);
    await expect(sandbox.create(spec({ workspace: { path: root, cwd: root } }))).rejects.toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", hint: expect.stringContaining("--workspace copy") });
    await expect(sandbox.create(spec({ mounts: [{ host: root, sandbox: "/data" }] }))).rejects.toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", message: expect.stringContaining(root) });
    await expect(sandboxWith({ mounts: [{ host: root, sandbox: "/opt/agent", readonly: true }] }).create(spec())).rejects.toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", message: expect.stringContaining(root) });
    expect(onRemoteHost(`podman ps --all --quiet --filter label=${LABELS.run}`)).toBe(before);
    // twin: the copied workspace is unpacked and read back.
    const handle = await sandbox.create(spec());
    try {
      const { packTar } = await import("@corral/core/plugin-kit");
      await handle.exec(["mkdir", "-p", "/tmp/corral/workspace"]);
      await handle.putArchive!(packTar([{ path: "note.txt", type: "file", mode: 0o644, body: Buffer.from("copied\n") }]), "/tmp/corral/workspace");
      const lines: string[] = [];
      await handle.exec(["cat", "/tmp/corral/workspace/note.txt"], { onLine: (line) => lines.push(line) });
      expect(lines).toEqual(["copied"]);
    } finally {
      await handle.close();
    }
  });

  it("nothing of the repository exists from the remote engine's view (its whole filesystem bound in)", async () => {
    const engine = remoteEngine();
    try {
      const ran = await podmanCall(engine, ["run", "--rm", "--network", "none", "--volume", "/:/host:ro", CONTAINER_TEST_IMAGE, "sh", "-c", `test -e /host${repo}/package.json && echo repo-visible; test -e /host${root} && echo temp-visible; test -e /host/var/lib && echo root-bound`], { timeoutMs: 60_000 });
      expect(ran.stdout).toContain("root-bound"); // twin: the bind shows the remote host's files
      expect(ran.stdout).not.toContain("repo-visible");
      expect(ran.stdout).not.toContain("temp-visible");
    } finally {
      await engine.close();
    }
  });

  it("corral clean reaps on the remote engine: a dead run's container goes, a live one stays", async () => {
    const make = (runId: string, pid: number) => onRemoteHost(`podman create --label ${LABELS.run}=${runId} --label ${LABELS.pid}=${pid} --label ${LABELS.host}=${hostname()} ${CONTAINER_TEST_IMAGE} true`).trim();
    const dead = make(`remote-dead-${process.pid}`, 2 ** 22 - 7);
    const live = make(`remote-live-${process.pid}`, process.pid);
    const exists = (id: string) => onRemoteHost(`podman container exists ${id} && echo yes || echo no`).trim() === "yes";
    try {
      const reaped = await sandboxWith().reap!({});
      expect(reaped).toBeTruthy();
      expect(exists(dead)).toBe(false);
      expect(exists(live)).toBe(true);
      expect((await reapOrphans({ endpoint: ssh(), runId: `remote-live-${process.pid}` })).containers[0]).toMatchObject({ action: "kept" });
    } finally {
      onRemoteHost(`podman rm --force --ignore ${live} ${dead} >/dev/null 2>&1 || true`);
    }
  });

  it("builds the image on the remote engine (not this machine's)", async () => {
    const context = join(root, "build");
    mkdirSync(context);
    writeFileSync(join(context, "Containerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nRUN echo built-remotely > /built\n`);
    const tag = `corral-remote-built:${process.pid}`;
    const sandbox = sandboxWith({ image: tag });
    await sandbox.buildImage!({ contextDir: context, tag });
    try {
      expect(await sandbox.check()).toMatchObject({ available: true });
      expect(spawnSync("podman", ["image", "exists", tag]).status).toBe(1); // not on the local engine
    } finally {
      await sandbox.removeImage!(tag);
    }
    await expect(buildImage({ contextDir: join(root, "absent"), tag, endpoint: ssh() })).rejects.toMatchObject({ code: "E_IMAGE_BUILD" });
  });

  it("the egress proxy is relayed through the ssh connection: an allowed host is reached (HTTP and SOCKS5), a denied one refused, nothing else goes out", async () => {
    expect(sandboxWith().capabilities?.network).toContain("proxy");
    await expectEgressRelayed((s) => sandboxWith().create(s), specs, E.CORRAL_REMOTE_HOST_IP!);
  });
});

// A real agent run on the remote podman: the Claude Code CLI (in an image built on that engine) against
// the mock model API on this machine's loopback, reached only through the run's network policy (the
// proxy relayed over ssh); the workspace copied in because the engine is remote, and the agent's
// commit brought back on the run's branch.
describe.skipIf(!ready)("claude on a remote podman engine", () => {
  it("claude commits on the remote engine; the commit comes back on the run's branch; auto chose a copy and said so", async (ctx) => {
    const binary = nativeBinary(claudeBinary);
    const built = await import(claudeModule).catch(() => undefined);
    if (!requireTool(Boolean(binary && built), "the claude native binary or the built @corral/agent-claude is missing (pnpm install; pnpm build)")) return ctx.skip();
    const { claude } = built as typeof import("../../agent-claude/src/index.js");
    const { startMockModelApi } = (await import(mockModule)) as typeof import("../../../tooling/mock-model-api/src/index.js");
    const repo = await tempRepo();
    try {
      await expectClaudeRunComesBack({
        binary: binary!,
        claude: claude as never,
        startMockModelApi: startMockModelApi as never,
        sandbox: (image) => podman({ image, ...ssh() }),
        hasImage: async (image) => (await sandboxWith({ image }).check()).available,
        buildImage: (contextDir, image) => sandboxWith({ image }).buildImage!({ contextDir, tag: image }),
        baseImage: CONTAINER_TEST_IMAGE,
        buildFile: "Containerfile",
        isolation: worktree(),
        repo,
      });
    } finally {
      await removeDir(repo);
    }
  }, 300_000);
});
