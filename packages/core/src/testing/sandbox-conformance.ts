import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { isCorralError } from "../errors.js";
import { CUT_MARKER } from "../lines.js";
import { spawn } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { parsePolicy, type ParsedPolicy } from "../network/policy.js";
import { EgressProxy, type EgressRecord } from "../network/proxy.js";
import type { ExecOptions, ExecResult, ProxyNetwork, Sandbox, SandboxHandle, SandboxSpec } from "../sandbox.js";
import { describeSandboxCapabilities } from "./capability-conformance.js";
import { eventually, hostProcessesMatching } from "./processes.js";

/** The security cases a sandbox declares it enforces; each runs with its positive twin. */
export interface SandboxSecurityClaims {
  /** Writes outside the workspace, the HOME and read-write mounts fail and leave nothing on the host. */
  writeOutside?: boolean;
  /** With `network: "none"` a server on the host's 127.0.0.1 cannot be reached (needs `bash` inside). */
  networkNone?: boolean;
  /** With `network: "host"` that server can be reached (the positive twin of `networkNone`). */
  hostLoopback?: boolean;
  /** `limits.pids` stops a fork bomb; `limits.memoryMb` stops a memory hog. */
  limits?: { pids?: boolean; memory?: boolean };
  /**
   * With `network: { mode: "proxy" }` the sandbox's only way out is the egress proxy: an allowed host is
   * reached through it (HTTP and SOCKS5), a denied one is refused and logged, and direct TCP to the
   * host's loopback, DNS and the host's abstract unix sockets are out of reach (needs curl, socat and
   * getent inside). The twin of the abstract socket runs with `network: "host"`.
   */
  egress?: boolean;
  /** `limits.wallSeconds` ends the exec running when it passes, as a timeout (not an abort), and nothing runs after it. */
  wallClock?: boolean;
}

/** What `additionalTests` gets: the kit's own way to make sandboxes over its temp dirs, so a plugin's cases need no spec of their own. */
export interface ConformanceContext {
  /** A sandbox over the kit's workspace and HOME (closed after the suite); `overrides` change its spec. The case skips where the sandbox is unavailable (fails in CI). */
  create(ctx: TestContext, overrides?: Partial<SandboxSpec>): Promise<SandboxHandle>;
  /** The spec `create` would use. */
  specFor(overrides?: Partial<SandboxSpec>): SandboxSpec;
  /** The kit's folders: the workspace, the HOME, and a host folder the sandbox must not write. */
  readonly paths: { workspace: string; home: string; outside: string };
}

/** What `describeSandboxConformance` checks beyond the contract: the security claims the sandbox makes, and cases of its own. */
export interface SandboxConformanceOptions {
  /** What the sandbox claims beyond the basics. The host sandbox claims nothing. */
  security?: SandboxSecurityClaims;
  /** Env every spec gets; defaults to a standard PATH and LANG=C.UTF-8. HOME is always the spec's home. */
  env?: Record<string, string>;
  /** Adjusts every spec the kit builds (extra mounts, say). */
  spec?: (spec: SandboxSpec) => SandboxSpec;
  /** Lines in the large-output case; default 3,000,000 (about 23 MB). */
  largeOutputLines?: number;
  /** The plugin's own cases, inside the kit's describe, with its sandbox factory and folders (`it(...)` calls). */
  additionalTests?: (context: ConformanceContext) => void;
}

/** Env names a sandbox may add on its own (shells and container runtimes set these). */
const TOLERATED_EXTRA_ENV = new Set(["PWD", "OLDPWD", "SHLVL", "_", "HOSTNAME", "container", "TERM", "HOME"]);
const HOST_SECRET = "CORRAL_TEST_SECRET";

interface Collected {
  result: ExecResult;
  stdout: string[];
  stderr: string[];
}

/** Runs one exec and collects its lines per stream. */
export async function collect(handle: SandboxHandle, argv: readonly string[], options: ExecOptions = {}): Promise<Collected> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const result = await handle.exec(argv, {
    ...options,
    onLine: (line, stream) => {
      (stream === "stdout" ? stdout : stderr).push(line);
      options.onLine?.(line, stream);
    },
  });
  return { result, stdout, stderr };
}

/** A number unlikely to appear on any other command line, to find the processes a case started. */
const uniqueSleep = () => String(900_000 + Math.floor(Math.random() * 99_999));

/**
 * The sandbox conformance suite: one vitest `describe` that any Sandbox plugin runs in its own
 * tests. It builds specs over temp dirs it creates and checks streaming, large output, exit
 * codes, cwd and env handling, that the host env does not leak, that abort, timeout and close
 * kill everything an exec started, concurrent execs, `close()` idempotence and `await using`,
 * and the security cases the plugin declares in `options.security`.
 *
 * When `check()` says the sandbox is unavailable the cases skip, except in CI (`CI=true`),
 * where that is a failure.
 */
export function describeSandboxConformance(
  name: string,
  makeSandbox: () => Sandbox | Promise<Sandbox>,
  options: SandboxConformanceOptions = {},
): void {
  describe(`sandbox conformance: ${name}`, () => {
    let sandbox: Sandbox;
    let unavailable: string | undefined;
    let root: string;
    let workspace: string;
    let home: string;
    let outside: string;
    const open: SandboxHandle[] = [];
    const previousSecret = process.env[HOST_SECRET];

    beforeAll(async () => {
      sandbox = await makeSandbox();
      const availability = await sandbox.check();
      if (!availability.available) {
        unavailable = `${availability.reason}${availability.hint ? ` (${availability.hint})` : ""}`;
        if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`CI must provide the ${name} sandbox, but: ${unavailable}`);
      }
      root = await realpath(await mkdtemp(join(tmpdir(), "corral-conformance-")));
      workspace = join(root, "workspace");
      home = join(root, "home");
      outside = join(root, "outside");
      await mkdir(join(workspace, "sub"), { recursive: true });
      await mkdir(home, { mode: 0o700 });
      await chmod(home, 0o700);
      await mkdir(outside);
      await writeFile(join(workspace, "README.md"), "# conformance\n");
      process.env[HOST_SECRET] = "host-secret-must-not-leak";
    });

    afterAll(async () => {
      await Promise.all(open.map((handle) => handle.close().catch(() => {})));
      if (previousSecret === undefined) delete process.env[HOST_SECRET];
      else process.env[HOST_SECRET] = previousSecret;
      if (root) await rm(root, { recursive: true, force: true });
    });

    const specFor = (overrides: Partial<SandboxSpec> = {}): SandboxSpec => {
      // A remote engine's sandbox gets a copied workspace (it cannot see this machine's folders).
      const copyRoot = remote() ? sandbox.capabilities?.copiedWorkspace?.root : undefined;
      const spec: SandboxSpec = {
        runId: `conformance-${Date.now().toString(36)}`,
        name: "conformance",
        workspace: copyRoot ? { path: `${copyRoot}/workspace`, cwd: `${copyRoot}/workspace`, copy: true } : { path: workspace, cwd: join(workspace, "sub") },
        gitMounts: [],
        home,
        mounts: [],
        env: {
          PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          LANG: "C.UTF-8",
          ...options.env,
          HOME: home,
          CONFORMANCE_SPEC_VAR: "from-spec",
        },
        network: "host",
        limits: {},
        ...overrides,
      };
      return options.spec ? options.spec(spec) : spec;
    };

    const create = async (ctx: TestContext, overrides: Partial<SandboxSpec> = {}): Promise<SandboxHandle> => {
      if (unavailable) ctx.skip(`the ${name} sandbox is not available: ${unavailable}`);
      const handle = await sandbox.create(specFor(overrides));
      open.push(handle);
      return handle;
    };

    /**
     * A sandbox whose engine is on another machine (`capabilities.workspaceLocality: "remote"`) is given
     * a copied workspace: the cases about the host's workspace folder seen from inside do not apply
     * (describeCopiedWorkspace covers a copy's way in and out).
     */
    function remote(): boolean {
      return sandbox?.capabilities?.workspaceLocality === "remote";
    }
    const skipIfRemote = (ctx: TestContext) => {
      if (remote()) ctx.skip("the sandbox's engine is on another machine (workspaceLocality: remote): its workspace is a copy, not this machine's folder");
    };

    // One shared sandbox for the basic cases, as a run has one sandbox for all its iterations.
    let shared: SandboxHandle | undefined;
    const basic = async (ctx: TestContext) => (shared ??= await create(ctx));

    it("streams stdout and stderr line by line, in order and complete", async (ctx) => {
      const handle = await basic(ctx);
      const script = 'i=1; while [ $i -le 2000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done; printf "last without newline"';
      const { result, stdout, stderr } = await collect(handle, ["sh", "-c", script]);
      expect(result.exitCode).toBe(0);
      expect(stdout).toEqual([...Array.from({ length: 2000 }, (_, i) => `out ${i + 1}`), "last without newline"]);
      expect(stderr).toEqual(Array.from({ length: 2000 }, (_, i) => `err ${i + 1}`));
    });

    it("delivers blocks of whole lines to onLines when given: the same lines as onLine, in order per stream, cut at maxLineChars, exact bytes", async (ctx) => {
      // A sandbox written before onLines calls onLine instead: that passes too (ADR 0720); one that has it uses it alone.
      const handle = await basic(ctx);
      const script = [
        'i=1; while [ $i -le 3000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done',
        "printf 'crlf\\r\\nh\\303\\251llo \\342\\234\\223\\n\\n  spaced  \\n'",
        "head -c 5000 /dev/zero | tr '\\0' x; echo; echo after-the-long-line",
        "printf 'last without newline'",
      ].join("; ");
      const cap = { maxLineChars: 1024 };
      const reference = await collect(handle, ["sh", "-c", script], cap);
      const tail = ["crlf", "héllo ✓", "", "  spaced  ", `${"x".repeat(1024)}${CUT_MARKER}`, "after-the-long-line", "last without newline"];
      expect(reference.result.exitCode).toBe(0);
      expect(reference.stdout).toEqual([...Array.from({ length: 3000 }, (_, i) => `out ${i + 1}`), ...tail]);
      const lines = { stdout: [] as string[], stderr: [] as string[] };
      const used = { onLine: 0, onLines: 0 };
      let unterminated = 0;
      const result = await handle.exec(["sh", "-c", script], {
        ...cap,
        onLine: (line, stream) => {
          used.onLine++;
          lines[stream].push(line);
        },
        onLines: (block, stream) => {
          used.onLines++;
          if (!block.endsWith("\n")) unterminated++;
          lines[stream].push(...block.slice(0, -1).split("\n"));
        },
      });
      expect(result.exitCode).toBe(0);
      expect(unterminated, "every block ends in a newline").toBe(0);
      expect(used.onLine === 0 || used.onLines === 0, `one way for the whole exec, not both (onLine ${used.onLine}, onLines ${used.onLines})`).toBe(true);
      expect(lines.stdout).toEqual(reference.stdout);
      expect(lines.stderr).toEqual(reference.stderr);
    });

    it("delivers lines while the command is still running", async (ctx) => {
      const handle = await basic(ctx);
      let firstAt = 0;
      const { result, stdout } = await collect(handle, ["sh", "-c", "echo first; sleep 1.5; echo second"], {
        onLine: (line) => {
          if (line === "first") firstAt = performance.now();
        },
      });
      const endedAt = performance.now();
      expect(result.exitCode).toBe(0);
      expect(stdout).toEqual(["first", "second"]);
      expect(endedAt - firstAt).toBeGreaterThan(1000);
    });

    it("a short command given stdin it never reads still delivers its output, every time; twin: one that reads it", async (ctx) => {
      // A command agent that takes its prompt as an argument gets it on stdin too, and ignores it.
      const handle = await basic(ctx);
      const outputs: string[] = [];
      for (let i = 0; i < 20; i++) outputs.push((await collect(handle, ["sh", "-c", `echo done-${i}`], { stdin: "a prompt\n".repeat(100) })).stdout.join("|"));
      expect(outputs).toEqual(Array.from({ length: 20 }, (_, i) => `done-${i}`));
      const read = await collect(handle, ["sh", "-c", "wc -l; exit 3"], { stdin: "a prompt\n".repeat(100) });
      expect([read.result.exitCode, read.stdout.map((l) => l.trim())]).toEqual([3, ["100"]]);
    });

    it("passes large output through without loss", async (ctx) => {
      const handle = await basic(ctx);
      const lines = options.largeOutputLines ?? 3_000_000;
      let count = 0;
      let outOfOrder = 0;
      let bytes = 0;
      const result = await handle.exec(["seq", "1", String(lines)], {
        onLine: (line, stream) => {
          if (stream !== "stdout") return;
          count++;
          bytes += line.length + 1;
          if (line !== String(count)) outOfOrder++;
        },
      });
      expect(result.exitCode).toBe(0);
      expect(outOfOrder).toBe(0);
      expect(count).toBe(lines);
      expect(bytes).toBeGreaterThan(lines * 6);
    });

    it("returns the command's exit code", async (ctx) => {
      const handle = await basic(ctx);
      for (const code of [0, 1, 3, 42, 255]) {
        const { result } = await collect(handle, ["sh", "-c", `exit ${code}`]);
        expect(result.exitCode).toBe(code);
        expect(result.timedOut).toBe(false);
        expect(result.aborted).toBe(false);
      }
      const missing = await collect(handle, ["corral-no-such-command-anywhere"]);
      expect(missing.result.exitCode).not.toBe(0);
    });

    it("passes argv verbatim, without a shell in between", async (ctx) => {
      const handle = await basic(ctx);
      const tricky = ["$HOME", "a b", "'quoted'", '"double"', "`id`", "$(id)", "; echo injected", "*", "", "ünïcødé"];
      const { result, stdout } = await collect(handle, ["sh", "-c", 'for a in "$@"; do printf "[%s]\\n" "$a"; done', "sh", ...tricky]);
      expect(result.exitCode).toBe(0);
      expect(stdout).toEqual(tricky.map((arg) => `[${arg}]`));
    });

    it("runs in the workspace cwd by default and in the exec's cwd when given", async (ctx) => {
      skipIfRemote(ctx);
      const handle = await basic(ctx);
      expect((await collect(handle, ["pwd"])).stdout).toEqual([join(workspace, "sub")]);
      expect((await collect(handle, ["pwd"], { cwd: workspace })).stdout).toEqual([workspace]);
    });

    it("gives exactly the spec's env plus the exec's, and nothing of the host's", async (ctx) => {
      const handle = await basic(ctx);
      const { stdout } = await collect(handle, ["env"], { env: { EXEC_VAR: "from-exec", CONFORMANCE_SPEC_VAR: "overridden" } });
      const env = Object.fromEntries(stdout.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
      expect(env.EXEC_VAR).toBe("from-exec");
      expect(env.CONFORMANCE_SPEC_VAR).toBe("overridden");
      expect(env.HOME).toBe(home);
      expect(env[HOST_SECRET]).toBeUndefined();
      expect(stdout.join("\n")).not.toContain("host-secret-must-not-leak");
      const expected = new Set([...Object.keys(specFor().env), "EXEC_VAR"]);
      expect(Object.keys(env).filter((key) => !expected.has(key) && !TOLERATED_EXTRA_ENV.has(key))).toEqual([]);
      // The exec's env is for that exec only.
      const again = await collect(handle, ["sh", "-c", 'echo "${EXEC_VAR:-unset} $CONFORMANCE_SPEC_VAR"']);
      // Seen once under load in firejail: no stdout. Say the exec's exit and stderr, so a next time tells why.
      expect(again.stdout, `exit ${String(again.result.exitCode)}, stderr: ${again.stderr.join(" | ")}`).toEqual(["unset from-spec"]);
    });

    it("writes stdin to the command and closes it; without stdin the command sees EOF", async (ctx) => {
      const handle = await basic(ctx);
      expect((await collect(handle, ["cat"], { stdin: "hello\nworld\n" })).stdout).toEqual(["hello", "world"]);
      const noStdin = await collect(handle, ["cat"], { timeoutMs: 10_000 });
      expect(noStdin.result.timedOut).toBe(false);
      expect(noStdin.stdout).toEqual([]);
    });

    it("sees the workspace and HOME read-write, shared with the host", async (ctx) => {
      skipIfRemote(ctx);
      const handle = await basic(ctx);
      const { result } = await collect(handle, ["sh", "-c", 'echo made-inside > "$1/made-inside.txt" && echo home > "$HOME/home-file"', "sh", workspace]);
      expect(result.exitCode).toBe(0);
      expect(await readFile(join(workspace, "made-inside.txt"), "utf8")).toBe("made-inside\n");
      expect(await readFile(join(home, "home-file"), "utf8")).toBe("home\n");
      expect((await collect(handle, ["cat", join(workspace, "README.md")])).stdout).toEqual(["# conformance"]);
    });

    it("mounts the isolation's git mounts exactly: a writable git dir elsewhere, read-only inside it, a read-only .git file", async (ctx) => {
      if (sandbox.capabilities?.filesystem === "host") ctx.skip("the sandbox declares it shows the host as it is (capabilities.filesystem: host)");
      skipIfRemote(ctx);
      // The shape every git isolation hands out: the run's own git dir shown where the workspace's
      // `.git` points, the user's objects read-only inside it, and the `.git` file pinned.
      const gitDir = join(root, `run-git-${uniqueSleep()}`);
      const objects = join(root, `user-objects-${uniqueSleep()}`);
      const target = join(root, `points-here-${uniqueSleep()}`);
      await mkdir(join(gitDir, "shared"), { recursive: true });
      await writeFile(join(gitDir, "HEAD"), "ref: refs/heads/run\n");
      await mkdir(objects);
      await writeFile(join(objects, "object"), "borrowed\n");
      await mkdir(target);
      const dotGit = join(workspace, ".git");
      await writeFile(dotGit, `gitdir: ${target}\n`);
      try {
        const handle = await create(ctx, {
          gitMounts: [
            { host: dotGit, sandbox: dotGit, readonly: true },
            { host: gitDir, sandbox: target, readonly: false },
            { host: objects, sandbox: join(target, "shared"), readonly: true },
          ],
        });
        const sh = (script: string) => collect(handle, ["sh", "-c", script, "sh", target, dotGit]);
        // Seen at the sandbox path, writable, and the write lands in the host's git dir.
        expect((await sh('cat "$1/HEAD" && echo made > "$1/written"')).stdout).toEqual(["ref: refs/heads/run"]);
        expect(await readFile(join(gitDir, "written"), "utf8")).toBe("made\n");
        expect(existsSync(join(target, "written")), "the sandbox path on the host stays untouched").toBe(false);
        // The deeper read-only mount wins inside the writable one.
        expect((await sh('cat "$1/shared/object"')).stdout).toEqual(["borrowed"]);
        expect((await sh('echo x > "$1/shared/forged" || echo refused')).stdout).toContain("refused");
        expect((await sh('rm -f "$1/shared/object" || echo refused')).stdout).toContain("refused");
        expect(await readFile(join(objects, "object"), "utf8")).toBe("borrowed\n");
        expect(existsSync(join(objects, "forged"))).toBe(false);
        // The .git file can be read, not rewritten, moved or removed.
        expect((await sh('cat "$2"')).stdout).toEqual([`gitdir: ${target}`]);
        for (const attack of ['echo "gitdir: /tmp/evil" > "$2"', 'mv "$2" "$2.moved"', 'rm -f "$2"']) {
          expect((await sh(`${attack} 2>/dev/null && echo done || echo refused`)).stdout, attack).toEqual(["refused"]);
        }
        expect(await readFile(dotGit, "utf8")).toBe(`gitdir: ${target}\n`);
      } finally {
        await rm(dotGit, { force: true });
      }
    });

    it("runs concurrent execs in one sandbox without mixing their output", async (ctx) => {
      const handle = await basic(ctx);
      const runs = await Promise.all(
        [1, 2, 3, 4].map((id) =>
          collect(handle, ["sh", "-c", 'i=1; while [ $i -le 300 ]; do echo "$ID $i"; i=$((i+1)); done'], { env: { ID: `exec${id}` } }),
        ),
      );
      runs.forEach(({ result, stdout }, index) => {
        expect(result.exitCode).toBe(0);
        expect(stdout).toEqual(Array.from({ length: 300 }, (_, i) => `exec${index + 1} ${i + 1}`));
      });
    });

    it("abort kills everything the exec started", async (ctx) => {
      const handle = await basic(ctx);
      const marker = uniqueSleep();
      const controller = new AbortController();
      const { result } = await collect(handle, ["sh", "-c", `sleep ${marker} & sleep ${marker} & echo started; wait`], {
        signal: controller.signal,
        onLine: (line) => {
          if (line === "started") setTimeout(() => controller.abort(), 200);
        },
      });
      expect(result.aborted).toBe(true);
      expect(result.exitCode).not.toBe(0);
      await eventually(async () => (await hostProcessesMatching(`sleep ${marker}`)).length === 0, `the aborted exec's processes (sleep ${marker}) to be gone`);
    });

    it("an exec whose signal is already aborted does not run", async (ctx) => {
      const handle = await basic(ctx);
      const file = join(workspace, `not-run-${uniqueSleep()}`);
      const result = await handle.exec(["touch", file], { signal: AbortSignal.abort() });
      expect(result.aborted).toBe(true);
      expect(existsSync(file)).toBe(false);
    });

    it("timeout kills everything the exec started", async (ctx) => {
      const handle = await basic(ctx);
      const marker = uniqueSleep();
      const started = performance.now();
      const { result } = await collect(handle, ["sh", "-c", `sleep ${marker} & sleep ${marker}; wait`], { timeoutMs: 700 });
      expect(result.timedOut).toBe(true);
      expect(result.exitCode).not.toBe(0);
      expect(performance.now() - started).toBeLessThan(30_000);
      await eventually(async () => (await hostProcessesMatching(`sleep ${marker}`)).length === 0, `the timed-out exec's processes (sleep ${marker}) to be gone`);
    });

    it("a background process does not outlive the sandbox", async (ctx) => {
      const handle = await create(ctx);
      const marker = uniqueSleep();
      const { result } = await collect(handle, ["sh", "-c", `sleep ${marker} >/dev/null 2>&1 </dev/null & echo spawned`], { timeoutMs: 20_000 });
      expect(result.timedOut).toBe(false);
      await handle.close();
      await eventually(async () => (await hostProcessesMatching(`sleep ${marker}`)).length === 0, `the background process (sleep ${marker}) to be gone`);
    });

    it("close() kills running execs, is idempotent, and exec after close fails with E_SANDBOX_CLOSED", async (ctx) => {
      const handle = await create(ctx);
      const marker = uniqueSleep();
      let started!: () => void;
      const isStarted = new Promise<void>((resolve) => (started = resolve));
      const running = collect(handle, ["sh", "-c", `echo started; sleep ${marker}`], {
        onLine: (line) => line === "started" && started(),
      });
      await isStarted;
      await handle.close();
      await handle.close();
      const { result } = await running;
      expect(result.exitCode).not.toBe(0);
      await eventually(async () => (await hostProcessesMatching(`sleep ${marker}`)).length === 0, `the exec running at close (sleep ${marker}) to be gone`);
      const error = await handle.exec(["true"]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isCorralError(error)).toBe(true);
      expect((error as { code: string }).code).toBe("E_SANDBOX_CLOSED");
    });

    it("is `await using` safe", async (ctx) => {
      if (unavailable) ctx.skip(`the ${name} sandbox is not available: ${unavailable}`);
      let escaped: SandboxHandle | undefined;
      {
        await using handle = await sandbox.create(specFor());
        escaped = handle;
        expect((await collect(handle, ["echo", "inside"])).stdout).toEqual(["inside"]);
      }
      await expect(escaped.exec(["true"])).rejects.toMatchObject({ code: "E_SANDBOX_CLOSED" });
    });

    const security = options.security ?? {};

    if (security.wallClock) {
      it("security: limits.wallSeconds ends the running exec as a timeout, and no exec runs after it", async (ctx) => {
        const handle = await create(ctx, { limits: { wallSeconds: 2 } });
        const marker = uniqueSleep();
        const started = performance.now();
        const { result } = await collect(handle, ["sh", "-c", `sleep ${marker} & sleep ${marker}; wait`]);
        expect(result).toMatchObject({ timedOut: true, aborted: false });
        expect(result.exitCode).not.toBe(0);
        expect(performance.now() - started).toBeLessThan(30_000);
        await eventually(async () => (await hostProcessesMatching(`sleep ${marker}`)).length === 0, `the processes the wall-clock limit ended (sleep ${marker}) to be gone`);
        // After the limit an exec is refused, or ends without running its command.
        const after = join(workspace, `after-the-wall-${uniqueSleep()}`);
        await collect(handle, ["touch", after]).catch(() => undefined);
        expect(existsSync(after)).toBe(false);
      });
    }

    // attach writes into the workspace folder, so it is checked where that folder is the sandbox's.
    describeSandboxCapabilities(() => ({ sandbox, unavailable, create: (ctx) => create(ctx), ...(remote() ? {} : { workspace }), hostSecret: HOST_SECRET }));

    options.additionalTests?.({
      create,
      specFor,
      get paths() {
        return { workspace, home, outside };
      },
    });

    if (security.writeOutside) {
      // Only the host counts: a sandbox may give the command a private, throwaway view of these paths.
      it("security: a write outside the workspace leaves nothing on the host", async (ctx) => {
        const handle = await basic(ctx);
        for (const target of [join(outside, "escaped.txt"), join(root, "escaped.txt"), "/etc/corral-escaped", join(tmpdir(), `corral-escaped-${uniqueSleep()}`)]) {
          await collect(handle, ["sh", "-c", 'echo pwned > "$1"', "sh", target]);
          expect(existsSync(target), `${target} exists on the host`).toBe(false);
        }
        // The positive twin: the workspace itself is writable.
        expect((await collect(handle, ["sh", "-c", 'echo ok > "$1"', "sh", join(workspace, "inside.txt")])).result.exitCode).toBe(0);
        expect(existsSync(join(workspace, "inside.txt"))).toBe(true);
      });
    }

    if (security.networkNone || security.hostLoopback) {
      const withServer = async (fn: (port: number, accepted: () => number) => Promise<void>) => {
        let connections = 0;
        const server: Server = createServer((socket) => {
          connections++;
          socket.end("hello from the host\n");
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as { port: number }).port;
        try {
          await fn(port, () => connections);
        } finally {
          await new Promise((resolve) => server.close(resolve));
        }
      };
      const connect = (port: number) => ["bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected && cat <&3`];

      if (security.networkNone) {
        it("security: with network none, a server on the host's 127.0.0.1 cannot be reached", async (ctx) => {
          const handle = await create(ctx, { network: "none" });
          await withServer(async (port, accepted) => {
            const { result, stdout } = await collect(handle, connect(port), { timeoutMs: 20_000 });
            expect(result.exitCode).not.toBe(0);
            expect(stdout).not.toContain("connected");
            expect(accepted()).toBe(0);
          });
        });
      }
      if (security.hostLoopback) {
        it("security (twin): with network host, the same server is reached", async (ctx) => {
          const handle = await create(ctx, { network: "host" });
          await withServer(async (port, accepted) => {
            const { result, stdout } = await collect(handle, connect(port), { timeoutMs: 20_000 });
            expect(result.exitCode).toBe(0);
            expect(stdout).toEqual(["connected", "hello from the host"]);
            expect(accepted()).toBe(1);
          });
        });
      }
    }

    if (security.egress) {
      /** An HTTP upstream on the host's loopback, reached by the name `allowed.test` (or `denied.test`) through the run's proxy. */
      const withProxy = async (fn: (context: { port: number; network: ProxyNetwork; records: EgressRecord[] }) => Promise<void>) => {
        const upstream = createHttpServer((request, response) => response.end(`hello from ${request.headers.host ?? "?"}\n`));
        await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
        const port = (upstream.address() as { port: number }).port;
        const dir = await mkdtemp(join(root, "egress-"));
        const socket = join(dir, "proxy.sock");
        const records: EgressRecord[] = [];
        const proxy = await EgressProxy.start(socket, {
          policy: parsePolicy({ allow: [`allowed.test:${port}`] }) as ParsedPolicy,
          hosts: { "allowed.test": "127.0.0.1", "denied.test": "127.0.0.1" },
          onRecord: (record) => records.push(record),
        });
        try {
          await fn({ port, network: { mode: "proxy", socket, ports: { http: 3128, socks: 1080 } }, records });
        } finally {
          await proxy.close();
          await new Promise((resolve) => upstream.close(resolve));
        }
      };
      const curl = (...args: string[]) => ["curl", "-sS", "--max-time", "15", ...args];

      it("security (egress): an allowed host is reached through the proxy, over HTTP and SOCKS5; a denied one is refused and logged", async (ctx) => {
        await withProxy(async ({ port, network, records }) => {
          const handle = await create(ctx, { network });
          expect((await collect(handle, curl("--proxy", "http://127.0.0.1:3128", `http://allowed.test:${port}/http`))).stdout).toEqual([`hello from allowed.test:${port}`]);
          expect((await collect(handle, curl("--socks5-hostname", "127.0.0.1:1080", `http://allowed.test:${port}/socks`))).stdout).toEqual([`hello from allowed.test:${port}`]);
          const denied = await collect(handle, curl("--proxy", "http://127.0.0.1:3128", "-o", "/dev/null", "-w", "%{http_code}", `http://denied.test:${port}/`));
          expect(denied.stdout).toEqual(["403"]);
          await eventually(async () => records.length >= 3, "the proxy to log three connections");
          expect(records.map((r) => [r.allowed, r.host, r.protocol])).toEqual(
            expect.arrayContaining([
              [true, "allowed.test", "http"],
              [true, "allowed.test", "socks5"],
              [false, "denied.test", "http"],
            ]),
          );
        });
      });

      it("security (egress): a raw IP, an allowed name on a port it does not allow, a forged Host header and bash's /dev/tcp are refused; twin: the allowed request", async (ctx) => {
        await withProxy(async ({ port, network, records }) => {
          const handle = await create(ctx, { network });
          const code = async (...args: string[]) => (await collect(handle, curl("-o", "/dev/null", "-w", "%{http_code} %{http_connect}", ...args), { timeoutMs: 30_000 })).stdout.join("");
          const proxy = ["--proxy", "http://127.0.0.1:3128"];
          // The same upstream by its address instead of the allowed name.
          expect(await code(...proxy, `http://127.0.0.1:${port}/`)).toMatch(/^403/);
          // The allowed name, tunnelled (CONNECT) to a port no rule allows.
          expect(await code(...proxy, "--proxytunnel", `http://allowed.test:${port + 1}/`)).toMatch(/ 403$/);
          // A request for a denied name dressed in the allowed one's URL.
          expect(await code(...proxy, "-H", "Host: denied.test", `http://allowed.test:${port}/`)).toMatch(/^403/);
          const tcp = await collect(handle, ["bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected || echo refused`], { timeoutMs: 30_000 });
          expect(tcp.stdout).toEqual(["refused"]);
          // The twin: the allowed name on its port, over the same proxy.
          expect(await code(...proxy, `http://allowed.test:${port}/`)).toMatch(/^200/);
          await eventually(async () => records.length >= 4, "the proxy to log the four attempts");
          expect(records.filter((r) => r.allowed).map((r) => r.host)).toEqual(["allowed.test"]);
          expect(records.filter((r) => !r.allowed).map((r) => [r.host, r.port])).toEqual(
            expect.arrayContaining([
              ["127.0.0.1", port],
              ["allowed.test", port + 1],
            ]),
          );
        });
      });

      it("security (egress): direct TCP to the host's loopback, DNS and the host's abstract unix sockets are out of reach", async (ctx) => {
        // socat on the host (node pads abstract names to the full address length, socat does not).
        const abstract = `corral-kit-${uniqueSleep()}`;
        const accepted = join(root, `${abstract}.accepted`);
        const unixServer = spawn("socat", [`ABSTRACT-LISTEN:${abstract},fork`, `SYSTEM:touch ${accepted}; echo hello over an abstract socket`], { stdio: "ignore" });
        await eventually(async () => (await readFile("/proc/net/unix", "utf8")).includes(`@${abstract}`), "the host's abstract socket to listen");
        try {
          await withProxy(async ({ port, network }) => {
            const handle = await create(ctx, { network });
            const direct = await collect(handle, curl("--noproxy", "*", `http://127.0.0.1:${port}/`), { timeoutMs: 30_000 });
            expect(direct.result.exitCode).not.toBe(0);
            expect(direct.stdout.join("")).not.toContain("hello");
            expect((await collect(handle, ["getent", "hosts", "example.com"], { timeoutMs: 30_000 })).result.exitCode).not.toBe(0);
            const unix = await collect(handle, ["socat", "-u", `ABSTRACT-CONNECT:${abstract}`, "-"], { timeoutMs: 30_000 });
            expect(unix.stdout).toEqual([]);
            expect(existsSync(accepted)).toBe(false);
          });
          // The twin: on the host's network the same abstract socket answers.
          const hosted = await create(ctx, { network: "host" });
          const unix = await collect(hosted, ["socat", "-u", `ABSTRACT-CONNECT:${abstract}`, "-"], { timeoutMs: 30_000 });
          expect(unix.stdout).toEqual(["hello over an abstract socket"]);
        } finally {
          unixServer.kill("SIGKILL");
        }
      });
    }

    if (security.limits?.pids) {
      // Each successful fork prints its count; the shell dies at the first fork the limit refuses.
      const forkLoop = (count: number, marker: string) => [
        "sh",
        "-c",
        `i=0; while [ $i -lt ${count} ]; do sleep ${marker} & i=$((i+1)); echo $i; done; echo all-forked`,
      ];
      it("security: a fork bomb is stopped by limits.pids", async (ctx) => {
        const handle = await create(ctx, { limits: { pids: 24 } });
        const marker = uniqueSleep();
        const { stdout, stderr } = await collect(handle, forkLoop(200, marker), { timeoutMs: 30_000 });
        expect(stdout, stderr.join("\n")).not.toContain("all-forked");
        expect(Number(stdout.at(-1) ?? 0)).toBeLessThanOrEqual(24);
        await handle.close();
        await eventually(async () => (await hostProcessesMatching(`sleep ${marker}`)).length === 0, "the fork bomb to be cleaned up");
      });
      it("security (twin): forks under limits.pids work", async (ctx) => {
        const handle = await create(ctx, { limits: { pids: 24 } });
        const marker = uniqueSleep();
        const { stdout, stderr } = await collect(handle, forkLoop(8, marker), { timeoutMs: 30_000 });
        expect(stdout, stderr.join("\n")).toContain("all-forked");
        await handle.close();
      });
    }

    if (security.limits?.memory) {
      const hog = (mb: number) => ["sh", "-c", `x=$(head -c ${mb * 1024 * 1024} /dev/zero | tr '\\0' a); echo "survived \${#x}"`];
      it("security: a memory hog is stopped by limits.memoryMb", async (ctx) => {
        const handle = await create(ctx, { limits: { memoryMb: 64 } });
        const { result, stdout } = await collect(handle, hog(400), { timeoutMs: 60_000 });
        expect(result.exitCode).not.toBe(0);
        expect(stdout.join("\n")).not.toContain("survived");
      });
      it("security (twin): memory under limits.memoryMb is fine", async (ctx) => {
        const handle = await create(ctx, { limits: { memoryMb: 64 } });
        const { result, stdout } = await collect(handle, hog(4), { timeoutMs: 60_000 });
        expect(result.exitCode).toBe(0);
        expect(stdout).toEqual([`survived ${4 * 1024 * 1024}`]);
      });
    }
  });
}
