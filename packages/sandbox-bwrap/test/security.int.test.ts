import { execa } from "execa";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellQuote, type SandboxSpec } from "@corral/core";
import { collect, hostProcessesMatching, eventually } from "@corral/core/testing";
import { gitEnv, gitIn, hasCommand, removeDir, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { createBwrapSandbox as sandbox } from "../src/index.js";
const available = (await sandbox().check()).available;
const run = requireTool(available, "bwrap is not usable here (apt-get install bubblewrap; user namespaces on)");
const hasScript = await hasCommand("script");

/** Every case is an escape attempt that must fail, next to its positive twin that must work. */
describe.runIf(run)("bwrap security", () => {
  let repo: string;
  let home: string;
  let outside: string;
  const hostSecretFile = join(homedir(), `.corral-test-secret-${process.pid}`);
  const cleanup: string[] = [];

  beforeAll(async () => {
    repo = await tempRepo({ "README.md": "# repo\n", "src/app.txt": "app\n" });
    home = await tempDir("corral-home-");
    outside = await tempDir("corral-outside-");
    cleanup.push(repo, home, outside);
    await writeFile(hostSecretFile, "host-home-secret-value\n", { mode: 0o600 });
    process.env.CORRAL_TEST_SECRET = "orchestrator-secret-value";
  });
  afterAll(async () => {
    delete process.env.CORRAL_TEST_SECRET;
    await rm(hostSecretFile, { force: true });
    for (const dir of cleanup) await removeDir(dir);
  });

  const spec = (overrides: Partial<SandboxSpec> = {}): SandboxSpec => ({
    runId: "security",
    workspace: { path: repo, cwd: repo },
    gitMounts: [],
    home,
    mounts: [],
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: home, LANG: "C.UTF-8", ...gitEnv },
    network: "host",
    limits: {},
    ...overrides,
  });
  const sh = (script: string, ...args: string[]) => ["sh", "-c", script, "sh", ...args];

  for (const readPolicy of ["minimal", "host-readonly"] as const) {
    describe(`read policy ${readPolicy}`, () => {
      it("a write outside the workspace fails and nothing appears on the host", async () => {
        await using handle = await sandbox({ readPolicy }).create(spec());
        for (const target of ["/etc/corral-pwned", join(homedir(), "corral-pwned"), join(outside, "pwned"), "/usr/corral-pwned"]) {
          const { result } = await collect(handle, sh('echo pwned > "$1"', target));
          expect(result.exitCode, target).not.toBe(0);
          expect(existsSync(target), target).toBe(false);
        }
        const twin = await collect(handle, sh('echo ok > "$1"', join(repo, "written-inside.txt")));
        expect(twin.result.exitCode).toBe(0);
        expect(await readFile(join(repo, "written-inside.txt"), "utf8")).toBe("ok\n");
      });

      it("a symlink in the workspace to /etc or the host HOME does not let a write through", async () => {
        await symlink("/etc", join(repo, `etc-link-${readPolicy}`));
        await symlink(homedir(), join(repo, `home-link-${readPolicy}`));
        await mkdir(join(repo, "inner"), { recursive: true });
        await symlink(join(repo, "inner"), join(repo, `inner-link-${readPolicy}`));
        await using handle = await sandbox({ readPolicy }).create(spec());
        for (const link of [`etc-link-${readPolicy}`, `home-link-${readPolicy}`]) {
          const { result } = await collect(handle, sh('echo pwned > "$1/corral-via-link"', link));
          expect(result.exitCode, link).not.toBe(0);
        }
        expect(existsSync("/etc/corral-via-link")).toBe(false);
        expect(existsSync(join(homedir(), "corral-via-link"))).toBe(false);
        // Twin: a symlink that stays inside the workspace works.
        expect((await collect(handle, sh('echo ok > "$1/via-link"', `inner-link-${readPolicy}`))).result.exitCode).toBe(0);
        expect(existsSync(join(repo, "inner", "via-link"))).toBe(true);
      });

      it("a secret planted in the host HOME cannot be read", async () => {
        await using handle = await sandbox({ readPolicy }).create(spec());
        const { result, stdout } = await collect(handle, ["cat", hostSecretFile]);
        expect(result.exitCode).not.toBe(0);
        expect(stdout.join("\n")).not.toContain("host-home-secret-value");
        const twin = await collect(handle, ["cat", join(repo, "src/app.txt")]);
        expect(twin.stdout).toEqual(["app"]);
      });

      it("/etc/shadow is hidden, /etc/passwd is readable", async () => {
        await using handle = await sandbox({ readPolicy }).create(spec());
        expect((await collect(handle, ["cat", "/etc/shadow"])).stdout).toEqual([]);
        expect((await collect(handle, ["grep", "-c", "^root:", "/etc/passwd"])).stdout).toEqual(["1"]);
      });
    });
  }

  it("a host env var set on the orchestrator does not leak in", async () => {
    await using handle = await sandbox().create(spec({ env: { ...spec().env, PASSED: "yes" } }));
    const { stdout } = await collect(handle, ["sh", "-c", "env; cat /proc/1/environ | tr '\\0' '\\n'"]);
    expect(stdout.join("\n")).not.toContain("orchestrator-secret-value");
    expect(stdout).toContain("PASSED=yes");
  });

  it("credentials never appear on bwrap's command line (ps)", async () => {
    await using handle = await sandbox().create(spec({ env: { ...spec().env, API_KEY: "sk-cmdline-secret" } }));
    expect(handle.argvFor(["true"]).join(" ")).not.toContain("sk-cmdline-secret");
    expect((await collect(handle, ["sh", "-c", 'echo "$API_KEY"'])).stdout).toEqual(["sk-cmdline-secret"]);
  });

  it("/proc shows only the sandbox's processes, and another process's environ cannot be read", async () => {
    const victim = spawn("sleep", ["913579"], { env: { PATH: "/usr/bin:/bin", VICTIM_SECRET: "victim-secret-value" }, stdio: "ignore" });
    try {
      await using handle = await sandbox().create(spec());
      const { stdout } = await collect(handle, ["sh", "-c", "ls /proc | grep -E '^[0-9]+$'"]);
      const pids = stdout.map(Number);
      expect(pids.length).toBeGreaterThan(0);
      expect(pids.length).toBeLessThan(10);
      expect(pids).not.toContain(process.pid);
      const read = await collect(handle, ["cat", `/proc/${victim.pid}/environ`]);
      expect(read.result.exitCode).not.toBe(0);
      expect(read.stdout.join("")).not.toContain("victim-secret-value");
      // Twin: its own environ is readable.
      expect((await collect(handle, ["sh", "-c", "cat /proc/self/environ | tr '\\0' '\\n' | grep -c '^HOME='"])).stdout).toEqual(["1"]);
    } finally {
      victim.kill("SIGKILL");
    }
  });

  it("a background process does not outlive its exec", async () => {
    await using handle = await sandbox().create(spec());
    const marker = "917531";
    const { result } = await collect(handle, sh(`setsid sleep ${marker} >/dev/null 2>&1 </dev/null & nohup sleep ${marker} >/dev/null 2>&1 & echo spawned`), { timeoutMs: 20_000 });
    expect(result.exitCode).toBe(0);
    // The sandbox is still open: only the pid namespace ending with the exec can have killed them.
    await eventually(async () => (await hostProcessesMatching(`sleep ${marker}`)).length === 0, "the background sleeps to die with their exec");
  });

  describe.runIf(hasScript)("TIOCSTI", () => {
    // perl is Essential on Debian; 0x5412 is TIOCSTI. The command runs on a real pty (script).
    const inject = ["perl", "-e", 'my $c = "x"; ioctl(STDIN, 0x5412, $c) or die "denied: $!\\n"; print "injected\\n"'];
    const onPty = async (argv: string[]) => {
      const r = await execa("script", ["-qec", argv.map(shellQuote).join(" "), "/dev/null"], { reject: false, stdin: "ignore", env: { PATH: "/usr/bin:/bin", ...spec().env } });
      return String(r.stdout);
    };
    it("the sandbox cannot push keystrokes into the caller's terminal", async () => {
      await using handle = await sandbox().create(spec());
      const out = await onPty(handle.argvFor(inject));
      expect(out).toContain("denied");
      expect(out).not.toContain("injected");
    });
    it("(twin) without --new-session the same ioctl reaches the terminal", async () => {
      await using handle = await sandbox({ newSession: false }).create(spec());
      expect(await onPty(handle.argvFor(inject))).toContain("injected");
    });
  });

  describe("git", () => {
    it("in a checkout: .git/hooks and .git/config are read-only while git commit works", async () => {
      await using handle = await sandbox().create(spec());
      for (const attack of ['echo "#!/bin/sh" > .git/hooks/pre-commit', "echo '[core] hooksPath = /tmp' >> .git/config", "git config core.fsmonitor evil"]) {
        expect((await collect(handle, sh(attack))).result.exitCode, attack).not.toBe(0);
      }
      expect(existsSync(join(repo, ".git/hooks/pre-commit"))).toBe(false);
      expect(await readFile(join(repo, ".git/config"), "utf8")).not.toMatch(/hooksPath|fsmonitor/);
      const commit = await collect(handle, sh("echo change >> README.md && git commit -qam 'from inside' && git log -1 --format=%s"));
      expect(commit.stderr).toEqual([]);
      expect(commit.stdout).toEqual(["from inside"]);
      expect(await gitIn(repo, "log", "-1", "--format=%s", "main")).toBe("from inside");
    });
  });

  it("a file created inside is owned by the host user", async () => {
    await using handle = await sandbox().create(spec());
    await collect(handle, ["touch", join(repo, "owned.txt")]);
    const info = await stat(join(repo, "owned.txt"));
    expect(info.uid).toBe(process.getuid!());
    expect(info.gid).toBe(process.getgid!());
  });

  it("NoNewPrivs is set and no capability is left inside", async () => {
    await using handle = await sandbox().create(spec());
    const { stdout } = await collect(handle, ["grep", "-E", "^(NoNewPrivs|CapEff|CapPrm|CapBnd|CapAmb):", "/proc/self/status"]);
    const status = Object.fromEntries(stdout.map((line) => line.split(/:\s+/)));
    expect(status.NoNewPrivs).toBe("1");
    for (const cap of ["CapEff", "CapPrm", "CapBnd", "CapAmb"]) expect(status[cap], cap).toBe("0000000000000000");
  });

  it("the host's cgroup tree cannot be written (no escape from the limits)", async () => {
    await using handle = await sandbox({ readPolicy: "host-readonly" }).create(spec({ limits: { pids: 64 } }));
    const { result } = await collect(handle, sh("for f in /sys/fs/cgroup/pids/cgroup.procs /sys/fs/cgroup/cgroup.procs; do echo $$ > $f && exit 0; done; exit 1"));
    expect(result.exitCode).not.toBe(0);
  });

  it("unix sockets are reachable only when mounted", async () => {
    const socketDir = await tempDir("corral-sock-");
    cleanup.push(socketDir);
    const path = join(socketDir, "mcp.sock");
    const server: Server = createServer((socket) => socket.end("hello over unix\n"));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const connect = ["perl", "-MIO::Socket::UNIX", "-e", 'my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "refused: $!\\n"; print <$s>', path];
    try {
      {
        await using handle = await sandbox().create(spec());
        const { result, stdout } = await collect(handle, connect);
        expect(result.exitCode).not.toBe(0);
        expect(stdout).toEqual([]);
      }
      await using handle = await sandbox().create(spec({ mounts: [{ host: path }] }));
      expect((await collect(handle, connect)).stdout).toEqual(["hello over unix"]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a long argument list does not hit E2BIG", async () => {
    await using handle = await sandbox().create(spec());
    const args = Array.from({ length: 4000 }, (_, i) => `argument-${i}-${"x".repeat(100)}`);
    const { result, stdout } = await collect(handle, ["sh", "-c", 'echo $#; eval "echo \\${$#}"', "sh", ...args]);
    expect(result.exitCode).toBe(0);
    expect(stdout).toEqual(["4000", args.at(-1)]);
  });

  it("a missing mount is an error at create time", async () => {
    await expect(sandbox().create(spec({ mounts: [{ host: join(outside, "does-not-exist") }] }))).rejects.toMatchObject({ code: "E_MOUNT_MISSING" });
    await expect(sandbox({ mounts: [{ host: "~/corral-no-such-folder" }] }).create(spec())).rejects.toMatchObject({ code: "E_MOUNT_MISSING" });
  });
});
