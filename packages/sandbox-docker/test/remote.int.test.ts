/**
 * The docker sandbox against a second, real engine on its own test host (tooling/ci/remote-engine.sh:
 * a dockerd in a network namespace at 10.231.0.2 with its own mount namespace and data root, TLS
 * certificates made for the test, and an sshd). Nothing here mocks the engine or the network.
 */
import { describeCopiedWorkspace } from "@corral/core/testing";
import { worktree } from "@corral/worktree-git";
import { CONTAINER_TEST_IMAGE, remoteTestEngine, removeDir, requireTool, tempRepo } from "@corral/test-support";
import Docker from "dockerode";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
// Not dependencies (agent-claude's tests depend on this package): the built plugin and the mock, by path.
const claudeModule = new URL("../../agent-claude/dist/index.js", import.meta.url).href;
const mockModule = new URL("../../../tooling/mock-model-api/src/index.ts", import.meta.url).href;
const claudeBinary = fileURLToPath(new URL("../../agent-claude/node_modules/@anthropic-ai/claude-code/bin/claude.exe", import.meta.url));
import { LABELS } from "@corral/container";
import { expectBackgroundSwept, expectClaudeRunComesBack, expectEgressRelayed, nativeBinary, remoteSpecs } from "@corral/container/testing";
import { docker, dockerSandbox, reapOrphans, resolveDockerEndpoint } from "../src/index.js";

const repo = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

const remote = remoteTestEngine();
const ready = requireTool(remote.ready, remote.reason);
const E = remote.env;
const tls = () => ({ host: E.CORRAL_REMOTE_DOCKER_TCP!, tlsVerify: true, certPath: E.CORRAL_REMOTE_DOCKER_CERT_PATH! });
const ssh = () => ({ host: E.CORRAL_REMOTE_SSH!, sshIdentity: E.CORRAL_REMOTE_SSH_KEY!, sshKnownHosts: E.CORRAL_REMOTE_SSH_KNOWN_HOSTS! });
const sandboxWith = (options: Record<string, unknown>) => dockerSandbox.create(docker({ image: CONTAINER_TEST_IMAGE, ...options }).options);
/** This test process's children (what a relay on this machine would be), without the ps that lists them. */
const childPids = () => execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" }).split("\n").filter((line) => line.trim() && !/\sps$/.test(line));
/** This file's run containers left on the remote engine (by their run label), once a removal in progress (AutoRemove) has had 5 s. */
const runContainers = async () => {
  const api = new Docker(resolveDockerEndpoint(tls()).connection);
  for (let i = 0; ; i++) {
    const left = (await api.listContainers({ all: true, filters: { label: [LABELS.run] } })).filter((c) => c.Labels[LABELS.run]?.startsWith(`corral-remote-it-${process.pid}-`)).map((c) => c.Names[0]);
    if (left.length === 0 || i >= 50) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
};

// The copied-workspace kit (round trip, the patch, planted hooks/config/links/other refs) on the
// remote engine over tcp+TLS: the only way a workspace reaches it.
if (ready) {
  describeCopiedWorkspace("docker on a remote engine (tcp+TLS)", () => docker({ image: CONTAINER_TEST_IMAGE, ...tls() }), { worktree: (options) => worktree(options), env: { PATH: "/usr/local/bin:/usr/bin:/bin" } });
}

describe.skipIf(!ready)("docker sandbox on a remote engine", () => {
  const specs = remoteSpecs("corral-remote-it");
  const spec = specs.spec;
  let root: string;
  beforeAll(() => {
    root = specs.root();
  });

  it("tcp+TLS: check() answers, names the remote engine and checks the image there; the engine is not local", async () => {
    const sandbox = sandboxWith(tls());
    const availability = await sandbox.check();
    expect(availability).toMatchObject({ available: true, detail: expect.stringContaining("tcp://10.231.0.2:2376 (TLS), a remote engine") });
    expect(sandbox.capabilities?.workspaceLocality).toBe("remote");
    const missing = await sandboxWith({ ...tls(), image: "corral-not-built:remote" }).check();
    expect(missing).toMatchObject({ available: false, code: "E_SANDBOX_IMAGE_MISSING" });
  });

  it("tcp+TLS: a container on the remote engine streams an exec's lines and exit code", async () => {
    const handle = await sandboxWith(tls()).create(spec());
    try {
      const lines: string[] = [];
      const result = await handle.exec(["sh", "-c", 'echo one; echo two >&2; cat "$HOME/.gitconfig"; exit 3'], { cwd: "/tmp", onLine: (line) => lines.push(line) });
      expect({ code: result.exitCode, lines }).toMatchObject({ code: 3 });
      // stdout and stderr are two streams: their order against each other is not kept.
      expect(lines).toEqual(expect.arrayContaining(["one", "two", "\tname = remote test"])); // the last: the run's HOME, shipped in
    } finally {
      await handle.close();
    }
  });

  it("attack: what an exec leaves in the background is gone when it returns, over ssh (found through the remote cgroup) and tcp+TLS (found through the engine's top); twin: keepBackgroundProcesses keeps it", async () => {
    for (const endpoint of [ssh(), tls()]) await expectBackgroundSwept((keep) => sandboxWith({ ...endpoint, ...(keep ? { keepBackgroundProcesses: true } : {}) }).create(spec()));
  });

  it("ssh://: check() and an exec over ssh (the host key checked against known_hosts)", async () => {
    const sandbox = sandboxWith(ssh());
    expect(await sandbox.check()).toMatchObject({ available: true, detail: expect.stringContaining("ssh://root@10.231.0.2") });
    expect(sandbox.capabilities?.workspaceLocality).toBe("remote");
    const handle = await sandbox.create(spec());
    try {
      const lines: string[] = [];
      expect((await handle.exec(["sh", "-c", "echo over-ssh"], { cwd: "/tmp", onLine: (line) => lines.push(line) })).exitCode).toBe(0);
      expect(lines).toEqual(["over-ssh"]);
    } finally {
      await handle.close();
    }
  });

  it("a docker context (DOCKER_CONTEXT and its TLS files) reaches the same engine", async () => {
    const home = join(root, "ctx-home");
    const { createHash } = await import("node:crypto");
    const id = createHash("sha256").update("remote-test").digest("hex");
    mkdirSync(join(home, ".docker", "contexts", "meta", id), { recursive: true });
    mkdirSync(join(home, ".docker", "contexts", "tls", id, "docker"), { recursive: true });
    writeFileSync(join(home, ".docker", "contexts", "meta", id, "meta.json"), JSON.stringify({ Name: "remote-test", Metadata: {}, Endpoints: { docker: { Host: E.CORRAL_REMOTE_DOCKER_TCP, SkipTLSVerify: false } } }));
    for (const file of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(home, ".docker", "contexts", "tls", id, "docker", file), readFileSync(join(E.CORRAL_REMOTE_DOCKER_CERT_PATH!, file)));
    const endpoint = resolveDockerEndpoint({}, { DOCKER_CONTEXT: "remote-test" }, home);
    expect(endpoint).toMatchObject({ locality: "remote", display: "tcp://10.231.0.2:2376 (TLS)" });
    expect((await new Docker(endpoint.connection).version()).Version).toBeTruthy();
  });

  it("attack: an engine whose certificate the CA does not vouch for is refused (typed, with the fix)", async () => {
    const availability = await sandboxWith({ ...tls(), certPath: E.CORRAL_REMOTE_WRONG_CA_CERT_PATH! }).check();
    expect(availability).toMatchObject({ available: false, code: "E_SANDBOX_ENGINE_TRUST", hint: expect.stringContaining("DOCKER_CERT_PATH") });
    await expect(sandboxWith({ ...tls(), certPath: E.CORRAL_REMOTE_WRONG_CA_CERT_PATH! }).create(spec())).rejects.toMatchObject({ code: "E_SANDBOX_ENGINE_TRUST" });
  });

  it("attack: the engine refuses a client certificate its CA did not sign, and a missing one", async () => {
    const dir = join(root, "self-signed-client");
    mkdirSync(dir);
    writeFileSync(join(dir, "ca.pem"), readFileSync(join(E.CORRAL_REMOTE_DOCKER_CERT_PATH!, "ca.pem")));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=intruder", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    expect(await sandboxWith({ ...tls(), certPath: dir }).check()).toMatchObject({ available: false, code: "E_SANDBOX_ENGINE_TRUST", reason: expect.stringContaining("refused corral's client certificate") });
    // No client certificate at all: the engine itself refuses the connection (corral refuses earlier, endpoint.test.ts).
    const bare = new Docker({ protocol: "https", host: "10.231.0.2", port: 2376, ca: readFileSync(join(dir, "ca.pem")) });
    await expect(bare.version()).rejects.toThrow();
  });

  it("attack: an ssh host whose key is not in known_hosts is refused", async () => {
    const empty = join(root, "known_hosts");
    writeFileSync(empty, "");
    expect(await sandboxWith({ ...ssh(), sshKnownHosts: empty }).check()).toMatchObject({ available: false, code: "E_SANDBOX_ENGINE_TRUST", hint: expect.stringContaining("known_hosts") });
  });

  it("nothing of the repository exists from the remote engine's view (its whole filesystem bound in)", async () => {
    const api = new Docker(resolveDockerEndpoint(tls()).connection);
    const container = await api.createContainer({ Image: CONTAINER_TEST_IMAGE, Cmd: ["sh", "-c", `test -e /host${repo}/package.json && echo repo-visible; test -e /host/var/lib && echo root-bound`], HostConfig: { Binds: ["/:/host:ro"], NetworkMode: "none" } });
    try {
      await container.start();
      await container.wait();
      const logs = (await container.logs({ stdout: true, stderr: true })).toString();
      expect(logs).toContain("root-bound"); // twin: the bind shows the remote host's files
      expect(logs).not.toContain("repo-visible");
    } finally {
      await container.remove({ force: true });
    }
  });

  it("corral clean reaps on the remote engine: a dead run's container goes, a live one stays", async () => {
    const api = new Docker(resolveDockerEndpoint(tls()).connection);
    const { hostname } = await import("node:os");
    const make = async (runId: string, pid: number) => (await api.createContainer({ Image: CONTAINER_TEST_IMAGE, Cmd: ["true"], Labels: { [LABELS.run]: runId, [LABELS.pid]: String(pid), [LABELS.host]: hostname() } })).id;
    const dead = await make(`remote-dead-${process.pid}`, 2 ** 22 - 7);
    const live = await make(`remote-live-${process.pid}`, process.pid);
    try {
      const sandbox = sandboxWith(tls());
      const reaped = await sandbox.reap!({});
      expect(reaped).toBeTruthy();
      const exists = (id: string) => api.getContainer(id).inspect().then(() => true, () => false);
      expect(await exists(dead)).toBe(false);
      expect(await exists(live)).toBe(true);
      expect((await reapOrphans({ endpoint: tls(), runId: `remote-live-${process.pid}` })).containers[0]).toMatchObject({ action: "kept" });
    } finally {
      await api.getContainer(live).remove({ force: true }).catch(() => {});
      await api.getContainer(dead).remove({ force: true }).catch(() => {});
    }
  });

  it("builds the image on the remote engine", async () => {
    const context = join(root, "build");
    mkdirSync(context);
    writeFileSync(join(context, "Dockerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nRUN echo built-remotely > /built\n`);
    const tag = `corral-remote-built:${process.pid}`;
    const sandbox = sandboxWith({ ...tls(), image: tag });
    await sandbox.buildImage!({ contextDir: context, tag });
    try {
      expect(await sandbox.check()).toMatchObject({ available: true });
      await expect(new Docker().getImage(tag).inspect()).rejects.toMatchObject({ statusCode: 404 }); // not on the local engine
    } finally {
      await sandbox.removeImage!(tag);
    }
  });

  it("attack: a mounted workspace or a host mount is refused on a remote engine (it would show the remote host's folder of that name)", async () => {
    const sandbox = sandboxWith(tls());
    await expect(sandbox.create(spec({ workspace: { path: root, cwd: root } }))).rejects.toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", hint: expect.stringContaining("--workspace copy") });
    await expect(sandbox.create(spec({ mounts: [{ host: root, sandbox: "/data" }] }))).rejects.toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", message: expect.stringContaining(root) });
  });

  it("ssh://: the egress proxy is relayed through the ssh connection: an allowed host is reached (HTTP and SOCKS5), a denied one refused, nothing else goes out; concurrent connections; 8 MiB both ways intact; release cuts them", async () => {
    expect(sandboxWith(ssh()).capabilities?.network).toContain("proxy");
    await expectEgressRelayed((s) => sandboxWith(ssh()).create(s), specs, E.CORRAL_REMOTE_HOST_IP!, { concurrent: 8 });
  });

  it("tcp+TLS: the egress proxy is relayed through exec streams into the container: an allowed host is reached (HTTP and SOCKS5), a denied one refused, nothing else goes out; concurrent connections; 8 MiB both ways intact; release cuts them", async () => {
    expect(sandboxWith(tls()).capabilities?.network).toContain("proxy");
    const before = childPids();
    await expectEgressRelayed((s) => sandboxWith(tls()).create(s), specs, E.CORRAL_REMOTE_HOST_IP!, { concurrent: 8 });
    // Nothing ran on this machine for the relay, and the container (with every exec in it) is gone.
    expect(childPids()).toEqual(before);
    expect(await runContainers()).toEqual([]);
  });

  it("attack: the agent can neither reach the relay's private sockets nor write its announcements (another user); twin: the relay's own user can do both", async () => {
    const handle = await sandboxWith(tls()).create(spec({ network: { mode: "proxy", socket: join(root, "absent.sock"), ports: { http: 3128, socks: 1080 } } }));
    try {
      const lines: string[] = [];
      const script = [
        'for d in /tmp/.corral-relay-*; do [ -d "$d" ] && echo folder; ls "$d" >/dev/null 2>&1 && echo listed; done',
        'for p in /proc/[0-9]*; do [ "$p" = "/proc/$$" ] && continue; [ -n "$(ls "$p/fd" 2>/dev/null)" ] && echo "fds $p"; (echo "corral-relay 1" >"$p/fd/2") 2>/dev/null && echo "wrote $p"; done; echo done',
      ].join("\n");
      await handle.exec(["sh", "-c", script], { cwd: "/tmp", onLine: (line, stream) => void (stream === "stdout" && lines.push(line)) });
      expect(lines).toEqual(["folder", "done"]);
      // twin: the same script as the relay's own user (the keeper's) lists the folder and writes to the relay's stderr.
      const api = new Docker(resolveDockerEndpoint(tls()).connection);
      const keeperUser = (await api.getContainer(handle.id).inspect()).Config.User;
      expect(keeperUser).not.toBe("");
      const exec = await api.getContainer(handle.id).exec({ Cmd: ["sh", "-c", script], User: keeperUser, AttachStdout: true, AttachStderr: true });
      const stream = (await exec.start({ hijack: false, stdin: false })) as NodeJS.ReadableStream;
      let output = "";
      for await (const chunk of stream) output += chunk.toString();
      expect(output).toContain("listed");
      expect(output).toMatch(/wrote \/proc\/\d+/);
    } finally {
      await handle.close();
    }
  });

  it("attack (fail closed): an allowlist over tcp+TLS with an image that has no socat is refused before the agent runs, typed, with the fix; its twin with socat is the test above", async () => {
    const image = "corral-test-nosocat:1";
    const sandbox = sandboxWith({ ...tls(), image });
    const context = join(root, "nosocat");
    mkdirSync(context, { recursive: true });
    // The test image without socat (every path it is reachable by).
    writeFileSync(join(context, "Dockerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nRUN rm -f $(command -v socat) /bin/socat /usr/bin/socat\n`);
    await sandbox.buildImage!({ contextDir: context, tag: image });
    try {
      const proxyNetwork = { mode: "proxy", socket: join(root, "p.sock"), ports: { http: 3128, socks: 1080 } } as const;
      await expect(sandbox.create(spec({ network: proxyNetwork }))).rejects.toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", message: expect.stringContaining("no socat"), hint: expect.stringContaining("install socat in the image") });
      expect(await runContainers()).toEqual([]);
      // twin: the same image runs without an allowlist (the refusal is the relay's, not the image's).
      const handle = await sandbox.create(spec({ network: "none" }));
      await handle.close();
    } finally {
      // The engine may still be removing the twin's container (AutoRemove) for a moment.
      for (let i = 0; ; i++) {
        const removed = await sandbox.removeImage!(image).then(() => true, (error: unknown) => (i < 50 ? false : Promise.reject(error)));
        if (removed) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
});

// A real agent run on the remote engine: the Claude Code CLI (in an image built on that engine) against
// the mock model API on this machine's loopback, reached only through the run's network policy (the
// proxy relayed over ssh, or over tcp+TLS through exec streams into the container); the workspace copied in because the engine is remote, and the agent's
// commit brought back on the run's branch.
describe.skipIf(!ready)("claude on a remote docker engine", () => {
  const claudeRun = async (ctx: { skip(): void }, over: () => Record<string, unknown>) => {
    const binary = nativeBinary(claudeBinary);
    const built = await import(claudeModule).catch(() => undefined);
    if (!requireTool(Boolean(binary && built), "the claude native binary or the built @corral/agent-claude is missing (pnpm install; pnpm build)")) return ctx.skip();
    const { claude } = built as typeof import("../../agent-claude/src/index.js");
    const { startMockModelApi } = (await import(mockModule)) as typeof import("../../../tooling/mock-model-api/src/index.js");
    const repo = await tempRepo();
    try {
      // The image is checked on the engine the run uses and built over tcp+TLS.
      await expectClaudeRunComesBack({
        binary: binary!,
        claude: claude as never,
        startMockModelApi: startMockModelApi as never,
        sandbox: (image) => docker({ image, ...over() }),
        hasImage: async (image) => (await sandboxWith({ ...over(), image }).check()).available,
        buildImage: (contextDir, image) => sandboxWith({ ...tls(), image }).buildImage!({ contextDir, tag: image }),
        baseImage: CONTAINER_TEST_IMAGE,
        buildFile: "Dockerfile",
        isolation: worktree(),
        repo,
      });
    } finally {
      await removeDir(repo);
    }
  };
  it("claude commits on the remote engine; the commit comes back on the run's branch; auto chose a copy and said so", (ctx) => claudeRun(ctx, ssh));
  it("tcp+TLS: the same claude run, the mock model API reached through the exec-stream relay", (ctx) => claudeRun(ctx, tls));
});
