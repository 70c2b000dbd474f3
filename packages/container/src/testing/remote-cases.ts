import { parsePolicy, run as runLoop, type Configured, type RunEvent, type SandboxHandle, type SandboxSpec } from "@corral/core";
import { EgressProxy, END_TO_END_COMMIT_SCRIPT } from "@corral/core/testing";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";

/**
 * What the remote-engine tests of the container plugins share (docker's and podman's
 * test/remote.int.test.ts, against tooling/ci/remote-engine.sh): the spec of a run there (a copied
 * workspace, the run's HOME with a git identity to ship in), the egress relay's checks and a real
 * claude run. Call `remoteSpecs` inside a describe.
 */
export function remoteSpecs(prefix: string): { spec(overrides?: Partial<SandboxSpec>): SandboxSpec; root(): string; home(): string } {
  let root: string | undefined;
  let home = "";
  let n = 0;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), `${prefix}-`));
    home = join(root, "home");
    mkdirSync(home, { mode: 0o700 });
    writeFileSync(join(home, ".gitconfig"), "[user]\n\tname = remote test\n");
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });
  return {
    // A copied workspace (the container's own /tmp/corral), and the run's HOME shipped in.
    spec: (overrides = {}) => ({
      runId: `${prefix}-${process.pid}-${++n}`,
      workspace: { path: "/tmp/corral/workspace", cwd: "/tmp/corral/workspace", copy: true },
      gitMounts: [],
      home,
      mounts: [],
      env: { PATH: "/usr/bin:/bin", HOME: home },
      network: "none",
      limits: {},
      ...overrides,
    }),
    root: () => root!,
    home: () => home,
  };
}

/**
 * The egress proxy relayed to a remote container: an allowed host is reached (HTTP and SOCKS5), a
 * denied one refused (403), and the host's own address over the veth is not reached without the proxy.
 * With `more`: `concurrent` connections at once all come through, 8 MiB go down and back up intact, and a
 * connection still open when the sandbox is released is cut (nothing of the relay outlives it).
 */
export async function expectEgressRelayed(create: (spec: SandboxSpec) => Promise<SandboxHandle>, specs: ReturnType<typeof remoteSpecs>, hostIp: string, more?: { concurrent: number }): Promise<void> {
  // /hold answers nothing: a connection that stays open until someone closes it.
  const held: import("node:http").IncomingMessage[] = [];
  // /big: 8 MiB that are not all alike; /echo-hash: the sha256 of what was posted.
  const big = Buffer.from(Array.from({ length: 8 << 20 }, (_, i) => (i * 31 + (i >> 12)) & 255));
  const upstream = createServer((request, response) => {
    if (request.url === "/hold") return void held.push(request);
    if (request.url === "/big") return void response.end(big);
    if (request.url === "/echo-hash") {
      const hash = createHash("sha256");
      request.on("data", (chunk: Buffer) => hash.update(chunk));
      request.on("end", () => response.end(`${hash.digest("hex")}\n`));
      return;
    }
    response.end(`hello from ${request.headers.host ?? "?"}\n`);
  });
  await new Promise<void>((done) => upstream.listen(0, "127.0.0.1", done));
  const port = (upstream.address() as { port: number }).port;
  const socket = join(specs.root(), `proxy-${process.hrtime.bigint()}.sock`);
  const records: { allowed: boolean; host: string }[] = [];
  const proxy = await EgressProxy.start(socket, { policy: parsePolicy({ allow: [`allowed.test:${port}`] }) as never, hosts: { "allowed.test": "127.0.0.1", "denied.test": "127.0.0.1" }, onRecord: (record: { allowed: boolean; host: string }) => records.push(record) } as never);
  const handle = await create(specs.spec({ network: { mode: "proxy", socket, ports: { http: 3128, socks: 1080 } } }));
  let closed = false;
  try {
    const out = async (argv: string[]) => {
      const lines: string[] = [];
      await handle.exec(argv, { cwd: "/tmp", onLine: (line, stream) => void (stream === "stdout" && lines.push(line)) });
      return lines;
    };
    const curl = (...args: string[]) => ["curl", "-sS", "--max-time", "10", ...args];
    expect(await out(curl("--proxy", "http://127.0.0.1:3128", `http://allowed.test:${port}/`))).toEqual([`hello from allowed.test:${port}`]);
    expect(await out(curl("--socks5-hostname", "127.0.0.1:1080", `http://allowed.test:${port}/`))).toEqual([`hello from allowed.test:${port}`]);
    expect(await out(curl("--proxy", "http://127.0.0.1:3128", "-o", "/dev/null", "-w", "%{http_code}", `http://denied.test:${port}/`))).toEqual(["403"]);
    // attack: straight to this machine over the veth, or anywhere, without the proxy: no route.
    expect(await out(["sh", "-c", `curl -sS --max-time 5 http://${hostIp}:${port}/ >/dev/null 2>&1 && echo reached || echo refused`])).toEqual(["refused"]);
    expect(records.map((r) => [r.allowed, r.host])).toEqual(expect.arrayContaining([[true, "allowed.test"], [false, "denied.test"]]));
    if (more) {
      // Several connections at once, each its own relay, all answered; one line each.
      const script = `for i in $(seq ${more.concurrent}); do curl -sS --max-time 20 --proxy http://127.0.0.1:3128 http://allowed.test:${port}/ & done; wait`;
      expect(await out(["sh", "-c", script])).toEqual(Array.from({ length: more.concurrent }, () => `hello from allowed.test:${port}`));
      // 8 MiB down through the relay and the same file back up, intact both ways (frames split anywhere, backpressure).
      const roundTrip = `curl -sS --max-time 60 --proxy http://127.0.0.1:3128 -o /tmp/big http://allowed.test:${port}/big && curl -sS --max-time 60 --proxy http://127.0.0.1:3128 --data-binary @/tmp/big http://allowed.test:${port}/echo-hash`;
      expect(await out(["sh", "-c", roundTrip])).toEqual([createHash("sha256").update(big).digest("hex")]);
      // A connection held open through the relay is cut when the sandbox is released.
      const pending = handle.exec(curl("--max-time", "60", "--proxy", "http://127.0.0.1:3128", `http://allowed.test:${port}/hold`), { cwd: "/tmp" }).catch(() => undefined);
      for (let i = 0; i < 200 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(held).toHaveLength(1);
      const cut = new Promise<boolean>((resolve) => {
        held[0]!.socket.once("close", () => resolve(true));
        setTimeout(() => resolve(false), 10_000).unref();
      });
      closed = true;
      await handle.close();
      expect(await cut).toBe(true);
      await pending;
    }
  } finally {
    if (!closed) await handle.close();
    await proxy.close();
    upstream.closeAllConnections();
    await new Promise((done) => upstream.close(done));
  }
}

/** The claude CLI's native binary at `path`, when it is there (an npm install without it leaves a stub). */
export function nativeBinary(path: string): string | undefined {
  try {
    return statSync(path).size > 1_000_000 ? path : undefined;
  } catch {
    return undefined;
  }
}

/** What a real claude run on a remote engine needs from the test: the plugins (by path, not dependencies) and the engine's sandbox. */
export interface RemoteClaudeRun {
  /** The claude CLI's native binary, put into an image built on the remote engine. */
  binary: string;
  /** `claude({ model })` of the built @corral/agent-claude. */
  claude: (options: { model: string }) => Configured<"agent">;
  /** tooling/mock-model-api's `startMockModelApi`. */
  startMockModelApi: (options: never) => Promise<{ url: string; requests: unknown[]; close(): Promise<void> }>;
  /** The plugin configured for the remote engine with `image`. */
  sandbox: (image: string) => Configured<"sandbox">;
  /** Whether `image` is on the remote engine; builds it from `contextDir` (a `Dockerfile`/`Containerfile` FROM the test image, with `claude` in it). */
  hasImage: (image: string) => Promise<boolean>;
  buildImage: (contextDir: string, image: string) => Promise<unknown>;
  /** The base image and the build file's name (`Dockerfile`, `Containerfile`). */
  baseImage: string;
  buildFile: string;
  isolation: Configured<"isolation">;
  /** A fresh git repository on this machine. */
  repo: string;
}

/**
 * A real agent run on a remote engine: the Claude Code CLI (in an image built there) against the
 * mock model API on this machine's loopback, reached only through the run's network policy (the proxy
 * relayed over ssh); the workspace copied because the engine is remote (and the run says so), and the
 * agent's commit brought back on the run's branch.
 */
export async function expectClaudeRunComesBack(options: RemoteClaudeRun): Promise<void> {
  const { size, mtimeMs } = statSync(options.binary);
  const image = `corral-test-claude:${size}-${Math.floor(mtimeMs)}`;
  if (!(await options.hasImage(image))) {
    const context = mkdtempSync(join(tmpdir(), "corral-claude-image-"));
    try {
      try {
        linkSync(options.binary, join(context, "claude"));
      } catch {
        copyFileSync(options.binary, join(context, "claude"));
      }
      writeFileSync(join(context, options.buildFile), `FROM ${options.baseImage}\nCOPY claude /usr/local/bin/claude\n`);
      await options.buildImage(context, image);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  }
  const api = await options.startMockModelApi({ script: [{ text: "Writing the file.", toolCalls: [{ shell: END_TO_END_COMMIT_SCRIPT }], usage: { inputTokens: 10, outputTokens: 5 } }, { text: "Done. <promise>COMPLETE</promise>", usage: { inputTokens: 10, outputTokens: 5 } }] } as never);
  const events: RunEvent[] = [];
  try {
    const result = await runLoop({
      agent: options.claude({ model: "claude-remote-e2e" }),
      sandbox: options.sandbox(image),
      isolation: options.isolation,
      cwd: options.repo,
      prompt: "Write hello.txt and commit it. Say <promise>COMPLETE</promise> when done.",
      maxIterations: 2,
      workspace: "auto",
      network: { allow: [] },
      handleProcessSignals: false,
      idleTimeout: 90,
      hostEnv: { PATH: "/usr/local/bin:/usr/bin:/bin", ANTHROPIC_API_KEY: "sk-ant-test-remote-0123456789", ANTHROPIC_BASE_URL: api.url },
      env: { CLAUDE_CODE_MAX_RETRIES: "0" },
      onEvent: (event: RunEvent) => events.push(event),
    } as never);
    expect({ status: result.status, error: (result as { error?: { message?: string } }).error?.message }).toMatchObject({ status: "succeeded" });
    expect(result.commits.map((c: { subject: string }) => c.subject)).toEqual(["agent: add hello.txt"]);
    expect(execFileSync("git", ["show", `${result.branch}:hello.txt`], { cwd: options.repo, encoding: "utf8" }).trim()).toBe("hello from the agent");
    expect(api.requests.length).toBeGreaterThan(0);
    // auto picked a copy, and said so; the API was reached through the proxy.
    expect(events.some((e) => e.type === "log" && /not on this machine, so the workspace is copied/.test((e as { message: string }).message))).toBe(true);
    expect(events.some((e) => e.type === "network.allowed" && (e as { host?: string }).host === "127.0.0.1")).toBe(true);
  } finally {
    await api.close();
  }
}

/**
 * attack: what an exec leaves in the background (setsid'd, immune to SIGTERM) is gone when it
 * returns, whether corral found it through the remote host's cgroup or swept anyway; twin: with
 * `keepBackgroundProcesses` it lives on into the next exec. `create(keep)` makes the sandbox's handle.
 */
export async function expectBackgroundSwept(create: (keepBackgroundProcesses: boolean) => Promise<SandboxHandle>): Promise<void> {
  const mark = 100000 + (process.pid % 100000);
  for (const keep of [false, true]) {
    const handle = await create(keep);
    try {
      const lines: string[] = [];
      const out = (line: string) => void lines.push(line);
      expect((await handle.exec(["sh", "-c", `setsid sh -c 'trap "" TERM; exec sleep ${mark}' >/dev/null 2>&1 & echo left`], { cwd: "/tmp", onLine: out })).exitCode).toBe(0);
      expect(lines.splice(0)).toEqual(["left"]);
      await handle.exec(["ps", "-eo", "args"], { cwd: "/tmp", onLine: out });
      expect(lines.filter((line) => line === `sleep ${mark}`), keep ? "kept" : "swept").toHaveLength(keep ? 1 : 0);
    } finally {
      await handle.close();
    }
  }
}
