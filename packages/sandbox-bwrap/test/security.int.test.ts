import { execa } from "execa";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, chown, mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SandboxSpec } from "@corral/core";
import { removeRunTempDirs, runTempPrefix, shellQuote, spawnStreaming } from "@corral/core/plugin-kit";
import { collect, hostProcessesMatching, eventually } from "@corral/core/testing";
import { gitEnv, gitIn, hasCommand, removeDir, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { ETC_SHOWN } from "../src/etc.js";
import { createBwrapSandbox as sandbox, DEFAULT_LIMITS, detectLimitStrategies, sandboxArgs, seccompProgram, bwrapOptions } from "../src/index.js";
import { KERNEL_MASKED, PROC_READONLY } from "../src/proc.js";
import { hostSeccompArch } from "../src/seccomp.js";
import { which } from "../src/which.js";
const available = (await sandbox().check()).available;
const run = requireTool(available, "bwrap is not usable here (apt-get install bubblewrap; user namespaces on)");
const hasScript = await hasCommand("script");
const hasCc = await hasCommand("cc");

/** An unprivileged uid to run bwrap as (nobody), where setpriv and unprivileged user namespaces let us. */
const NOBODY = 65534;
const asUser = (argv: string[]) => ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", ...argv];
const canRunAsUser =
  process.getuid?.() === 0 &&
  (await spawnStreaming(asUser([which("bwrap") ?? "bwrap", "--unshare-user", "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"]), { env: { PATH: "/usr/bin:/bin" }, cwd: "/", timeoutMs: 15_000 })).exitCode === 0;
const runAsUser = run && requireTool(canRunAsUser, "cannot run bwrap as an unprivileged uid here (needs root to switch, setpriv, and unprivileged user namespaces)");

/** Default limits are enforced here only by a cgroup mechanism. */
const defaultsEnforced = (await detectLimitStrategies()).some((r) => r.available && r.name !== "prlimit" && r.enforces.includes("pids") && r.enforces.includes("memoryMb"));
const runDefaults = run && requireTool(defaultsEnforced, "no cgroup (systemd, cgroup v2 or v1) can be made here, so the default limits are not enforced");

/**
 * Makes raw syscalls inside the sandbox by the kernel headers' numbers (perl's syscall.ph, not our
 * table) and prints `label errno` (or `label ok`). Each argument is `label syscall arg…`.
 */
const SYSCALLS_PL = `require "syscall.ph"; use POSIX ();
for (@ARGV) {
  my ($label, $sys, @args) = split / /;
  my $nr = eval "&SYS_$sys"; defined $nr or do { print "$label missing\n"; next };
  $! = 0;
  my $r = syscall($nr, map { $_ + 0 } @args);
  POSIX::_exit(0) if $r == 0 && $sys eq "clone";
  waitpid($r, 0) if $r > 0 && $sys eq "clone";
  print "$label ", ($r == -1 ? $! + 0 : "ok"), "\n";
}`;
const EPERM = "1";
const ENOSYS = "38";
const CLONE_NEWUSER = 0x10000000;
const SIGCHLD = 17;
/** What the filter refuses, with harmless arguments (each would fail anyway or do nothing lasting). */
const REFUSED: Array<[label: string, call: string, errno: string]> = [
  ["keyctl", "keyctl -1 0 0 0 0", EPERM],
  ["add_key", "add_key 0 0 0 0 0", EPERM],
  ["request_key", "request_key 0 0 0 0", EPERM],
  ["bpf", "bpf -1 0 0", EPERM],
  ["perf_event_open", "perf_event_open 0 0 -1 -1 0", EPERM],
  ["userfaultfd", "userfaultfd 1", EPERM],
  ["kexec_load", "kexec_load 0 0 0 0", EPERM],
  ["kexec_file_load", "kexec_file_load -1 -1 0 0 0", EPERM],
  ["init_module", "init_module 0 0 0", EPERM],
  ["finit_module", "finit_module -1 0 0", EPERM],
  ["delete_module", "delete_module 0 0", EPERM],
  ["mount", "mount 0 0 0 0 0", EPERM],
  ["umount2", "umount2 0 0", EPERM],
  ["pivot_root", "pivot_root 0 0", EPERM],
  ["chroot", "chroot 0", EPERM],
  ["setns", "setns -1 0", EPERM],
  ["open_by_handle_at", "open_by_handle_at -1 0 0", EPERM],
  ...["open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"].map((name): [string, string, string] => [name, `${name} -1 0 0 0 0`, ENOSYS]),
  ["TIOCSTI", `ioctl 0 ${0x5412} 0`, EPERM],
  ["TIOCLINUX", `ioctl 0 ${0x541c} 0`, EPERM],
  ["clone3", "clone3 0 0", ENOSYS],
  ["clone(CLONE_NEWUSER)", `clone ${CLONE_NEWUSER | SIGCHLD} 0 0 0 0`, EPERM],
  // Last: without the filter it succeeds, and the process is then in a namespace of its own.
  ["unshare(CLONE_NEWUSER)", `unshare ${CLONE_NEWUSER}`, EPERM],
];
const syscalls = (calls: string[]) => ["perl", "-e", SYSCALLS_PL, ...calls];
const outcomes = (stdout: string[]) => Object.fromEntries(stdout.map((line) => [line.slice(0, line.lastIndexOf(" ")), line.slice(line.lastIndexOf(" ") + 1)]));

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

      it("the host's kernel settings cannot be written from inside (/proc/sys and the rest are read-only), and /proc's kernel internals are masked", async () => {
        await using handle = await sandbox({ readPolicy }).create(spec());
        const before = readFileSync("/proc/sys/kernel/core_pattern", "utf8");
        // The attack, made harmless: it writes the host's own value back (no change even where it gets through).
        const write = await collect(handle, sh('v=$(cat /proc/sys/kernel/core_pattern) && printf "%s\\n" "$v" > /proc/sys/kernel/core_pattern && echo written'));
        expect(write.stdout).not.toContain("written");
        expect(write.stderr.join("\n")).toContain("Read-only file system");
        expect(readFileSync("/proc/sys/kernel/core_pattern", "utf8")).toBe(before);
        // Every one of them is a read-only mount, whoever runs it (a read-only check: nothing is written).
        const present = PROC_READONLY.filter((path) => existsSync(path));
        const flags = await collect(handle, ["sh", "-c", 'for p; do awk -v p="$p" \'$5 == p { split($6, o, ","); print p, o[1] }\' /proc/self/mountinfo | tail -n 1; done', "sh", ...present]);
        expect(flags.stdout.sort()).toEqual(present.map((path) => `${path} ro`).sort());
        const masked = KERNEL_MASKED.filter((path) => path.startsWith("/proc/") && existsSync(path));
        const peek = await collect(handle, ["sh", "-c", 'for p; do if [ -d "$p" ]; then ls -A "$p"; else head -c 64 "$p" 2>/dev/null; fi; done', "sh", ...masked]);
        expect(peek.stdout).toEqual([]);
        // Twin: reading the sandbox's own /proc and the kernel's settings works.
        const read = await collect(handle, sh("cat /proc/sys/kernel/ostype; grep -c ^processor /proc/cpuinfo; grep -q ^MemTotal /proc/meminfo && echo meminfo; nproc"));
        expect(read.stdout[0]).toBe("Linux");
        expect(read.stdout.slice(2)).toEqual(["meminfo", expect.stringMatching(/^\d+$/)]);
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
    // perl is Essential on Debian; 0x5412 is TIOCSTI. The command runs on a real pty (script), with
    // the handle's extra fds (the seccomp program on fd 3) handed over from a file, as exec does.
    const inject = ["perl", "-e", 'my $c = "x"; ioctl(STDIN, 0x5412, $c) or die "denied: $!\\n"; print "injected\\n"'];
    const onPty = async (handle: { argvFor(argv: string[]): string[]; extraFds: readonly Uint8Array[] }, argv: string[]) => {
      const fds = await Promise.all(handle.extraFds.map(async (data, i) => {
        const file = join(outside, `fd-${process.hrtime.bigint()}-${i}`);
        await writeFile(file, data);
        return ` ${i + 3}< ${shellQuote(file)}`;
      }));
      const command = handle.argvFor(argv).map(shellQuote).join(" ") + fds.join("");
      const r = await execa("script", ["-qec", command, "/dev/null"], { reject: false, stdin: "ignore", env: { PATH: "/usr/bin:/bin", ...spec().env } });
      return String(r.stdout);
    };
    it("the sandbox cannot push keystrokes into the caller's terminal", async () => {
      await using handle = await sandbox().create(spec());
      const out = await onPty(handle, inject);
      expect(out).toContain("denied");
      expect(out).not.toContain("injected");
    });
    it("without --new-session, the seccomp filter alone still refuses TIOCSTI", async () => {
      await using handle = await sandbox({ newSession: false }).create(spec());
      const out = await onPty(handle, inject);
      expect(out).toContain("denied: Operation not permitted");
      expect(out).not.toContain("injected");
    });
    it("(twin) without --new-session and without the filter, the same ioctl reaches the terminal", async () => {
      await using handle = await sandbox({ newSession: false, seccomp: false }).create(spec());
      expect(await onPty(handle, inject)).toContain("injected");
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

  it("a file descriptor the orchestrator inherited does not reach the sandbox", async () => {
    // A parent (a shell, a CI runner) that left an fd open without close-on-exec: corral inherits it, bwrap would pass it on.
    const secret = join(outside, "inherited-secret.txt");
    await writeFile(secret, "reachable only through an inherited fd\n");
    const script = `
      const { createBwrapSandbox } = await import(${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)});
      const { collect } = await import("@corral/core/testing");
      const handle = await createBwrapSandbox().create(${JSON.stringify(spec())});
      const inside = await collect(handle, ["sh", "-c", "ls /proc/self/fd; cat <&9 2>/dev/null || echo fd9-closed"]);
      console.log(JSON.stringify(inside.stdout));
      await handle.close();
    `;
    const child = await execa("bash", ["-c", 'exec 9<"$1"; exec node --input-type=module -e "$2"', "bash", secret, script], { reject: false, cwd: fileURLToPath(new URL("..", import.meta.url)) });
    const lines = JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "[]") as string[];
    expect(lines, child.stderr).toContain("fd9-closed");
    expect(lines.join(" ")).not.toContain("reachable only");
    // The twin: stdin, stdout and stderr are still there (and ls's own directory fd).
    expect(lines.filter((l) => /^\d+$/.test(l)).map(Number).filter((fd) => fd !== 3)).toEqual([0, 1, 2]);
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

  it.runIf(runAsUser)("run by an unprivileged uid, the kernel settings are read-only mounts too (bwrap alone leaves them to file permissions)", async () => {
    // corral as a normal user: bwrap run by uid 65534 with the plugin's own arguments, on folders that uid owns.
    const base = await tempDir("corral-nobody-");
    cleanup.push(base);
    await chmod(base, 0o755);
    const [ws, userHome, userTmp] = ["ws", "home", "tmp"].map((name) => join(base, name));
    for (const dir of [ws!, userHome!, userTmp!]) {
      await mkdir(dir);
      await chown(dir, NOBODY, NOBODY);
    }
    const userSpec = spec({ workspace: { path: ws!, cwd: ws! }, home: userHome! });
    const args = sandboxArgs(userSpec, bwrapOptions.parse({}), userTmp!);
    const lines: string[] = [];
    const present = PROC_READONLY.filter((path) => existsSync(path));
    const script = 'id -u; for p; do awk -v p="$p" \'$5 == p { split($6, o, ","); print p, o[1] }\' /proc/self/mountinfo | tail -n 1; done; printf "%s\\n" "$(cat /proc/sys/kernel/core_pattern)" > /proc/sys/kernel/core_pattern && echo written';
    const result = await spawnStreaming(asUser([which("bwrap")!, ...args, "--chdir", ws!, "--", "sh", "-c", script, "sh", ...present]), {
      env: userSpec.env,
      cwd: "/",
      extraFds: [seccompProgram(hostSeccompArch()!)],
      timeoutMs: 30_000,
      onLine: (line) => lines.push(line),
    });
    expect(result.exitCode, lines.join("\n")).not.toBeNull();
    expect(lines[0]).toBe(String(NOBODY));
    for (const path of present) expect(lines, path).toContain(`${path} ro`);
    expect(lines).not.toContain("written");
    expect(lines.join("\n")).toContain("Read-only file system");
    // Twin: the same uid works normally in its workspace.
    const twin = await spawnStreaming(asUser([which("bwrap")!, ...args, "--chdir", ws!, "--", "sh", "-c", "echo ok > file && cat file"]), { env: userSpec.env, cwd: "/", extraFds: [seccompProgram(hostSeccompArch()!)], onLine: (line) => lines.push(`twin ${line}`) });
    expect(twin.exitCode).toBe(0);
    expect(lines).toContain("twin ok");
  });

  it("under host-readonly, /sys/firmware and the like are masked while the rest of /sys stays readable", async () => {
    await using handle = await sandbox({ readPolicy: "host-readonly" }).create(spec());
    const masked = KERNEL_MASKED.filter((path) => path.startsWith("/sys/") && existsSync(path));
    const { stdout } = await collect(handle, ["sh", "-c", 'for p; do ls -A "$p"; done', "sh", ...masked]);
    expect(stdout).toEqual([]);
    expect((await collect(handle, ["ls", "/sys/class"])).stdout.length).toBeGreaterThan(0);
  });

  describe("seccomp", () => {
    it("no new user namespace can be made inside (unshare -U; unshare and clone with CLONE_NEWUSER)", async () => {
      await using handle = await sandbox().create(spec());
      const cli = await collect(handle, ["unshare", "-U", "true"]);
      expect(cli.result.exitCode).not.toBe(0);
      expect(cli.stderr.join("\n")).toContain("Operation not permitted");
      const raw = outcomes((await collect(handle, syscalls(REFUSED.filter(([label]) => /NEWUSER|clone3/.test(label)).map(([label, call]) => `${label} ${call}`)))).stdout);
      expect(raw).toEqual({ clone3: ENOSYS, "clone(CLONE_NEWUSER)": EPERM, "unshare(CLONE_NEWUSER)": EPERM });
    });

    it("(twin) without the filter the same unshare -U works: the filter is what refuses it", async () => {
      await using handle = await sandbox({ seccomp: false }).create(spec());
      expect((await collect(handle, ["unshare", "-U", "true"])).result.exitCode).toBe(0);
    });

    it("each call the filter refuses fails with its errno, in the command and in bwrap's init (pid 1)", async () => {
      await using handle = await sandbox().create(spec());
      const { stdout } = await collect(handle, syscalls(REFUSED.map(([label, call]) => `${label} ${call}`)));
      expect(outcomes(stdout)).toEqual(Object.fromEntries(REFUSED.map(([label, , errno]) => [label, errno])));
      // pid 1 is bwrap's init, which the agent can ptrace: it must be under the same filter.
      const status = await collect(handle, ["grep", "-h", "^Seccomp:", "/proc/self/status", "/proc/1/status"]);
      expect(status.stdout).toEqual(["Seccomp:\t2", "Seccomp:\t2"]);
    });

    it("(twin) without the filter those calls reach the kernel and get its own answers", async () => {
      await using handle = await sandbox({ seccomp: false }).create(spec());
      const seen = outcomes((await collect(handle, syscalls(REFUSED.map(([label, call]) => `${label} ${call}`)))).stdout);
      expect(seen["unshare(CLONE_NEWUSER)"]).toBe("ok");
      expect(seen.clone3).not.toBe(ENOSYS);
      for (const label of ["keyctl", "add_key", "TIOCSTI", "TIOCLINUX", "setns"]) expect(seen[label], label).not.toBe(EPERM);
      expect((await collect(handle, ["grep", "^Seccomp:", "/proc/self/status"])).stdout).toEqual(["Seccomp:\t0"]);
    });

    it("(twin) everyday tools work under the filter: sh, git, node with its threads, a C compiler, ptrace of a child", async () => {
      await using handle = await sandbox().create(spec());
      const { result, stdout, stderr } = await collect(
        handle,
        sh(`set -e
          echo "$(echo piped | tr a-z A-Z)"
          git init -q /tmp/g && git -C /tmp/g commit -q --allow-empty -m inside && git -C /tmp/g log --format=%s
          node -e 'const { Worker } = require("node:worker_threads"); new Worker("require(\\"node:worker_threads\\").parentPort.postMessage(6 * 7)", { eval: true }).on("message", (m) => console.log("node", m))'
          perl -e 'require "syscall.ph"; my $c = fork; if (!$c) { sleep 30; exit } my $r = syscall(&SYS_ptrace, 16, $c, 0, 0); kill 9, $c; print $r == 0 ? "ptrace ok\\n" : "ptrace $!\\n"'`),
      );
      expect(stderr).toEqual([]);
      expect(result.exitCode).toBe(0);
      expect(stdout).toEqual(["PIPED", "inside", "node 42", "ptrace ok"]);
    });

    it.runIf(requireTool(hasCc, "no C compiler (cc) to build with inside"))("(twin) a C program builds and runs under the filter", async () => {
      await using handle = await sandbox().create(spec());
      const { result, stdout } = await collect(handle, sh(`printf '#include <stdio.h>\\nint main(void) { puts("built"); return 0; }\\n' > /tmp/t.c && cc -o /tmp/t /tmp/t.c && /tmp/t`));
      expect(result.exitCode).toBe(0);
      expect(stdout).toEqual(["built"]);
    });

    it("a process outside the sandbox cannot be traced or signalled: the pid namespace does not show it", async () => {
      const victim = spawn("sleep", ["913580"], { stdio: "ignore" });
      try {
        await using handle = await sandbox().create(spec());
        const attach = await collect(handle, ["perl", "-e", 'require "syscall.ph"; my $r = syscall(&SYS_ptrace, 16, $ARGV[0] + 0, 0, 0); print $r == -1 ? $! + 0 : "attached", "\n"', String(victim.pid)]);
        expect(attach.stdout).toEqual(["3"]); // ESRCH
        expect((await collect(handle, ["kill", "-0", String(victim.pid)])).result.exitCode).not.toBe(0);
        expect(readFileSync(`/proc/${victim.pid}/status`, "utf8")).toMatch(/^TracerPid:\s+0$/m);
      } finally {
        victim.kill("SIGKILL");
      }
    });
  });

  describe.runIf(runDefaults)("default limits (no limits asked for)", () => {
    it("a fork bomb is stopped by the default pids limit", async () => {
      await using handle = await sandbox().create(spec());
      const bomb = await collect(handle, ["perl", "-e", 'for my $i (1 .. $ARGV[0]) { my $p = fork; if (!defined $p) { print "stopped at $i\n"; exit } if (!$p) { sleep 60; exit } } print "forked all\n"', String(DEFAULT_LIMITS.pids + 100)], { timeoutMs: 60_000 });
      expect(bomb.stdout).toEqual([expect.stringMatching(/^stopped at \d+$/)]);
      expect(Number(bomb.stdout[0]!.split(" ").at(-1))).toBeLessThanOrEqual(DEFAULT_LIMITS.pids);
      expect(handle.limits).toMatchObject({ enforced: expect.arrayContaining(["memoryMb", "pids"]), notEnforced: [], defaults: ["memoryMb", "pids"] });
    });

    it("(twin) 400 processes under the default limits are fine", async () => {
      await using handle = await sandbox().create(spec());
      const many = await collect(handle, ["perl", "-e", 'my @k; for (1 .. 400) { my $p = fork; defined $p or die "fork: $!\n"; if (!$p) { sleep 60; exit } push @k, $p } kill 9, @k; print "forked all\n"'], { timeoutMs: 60_000 });
      expect(many.stdout).toEqual(["forked all"]);
    });

    it("a memory hog is stopped by the default memory limit", async () => {
      await using handle = await sandbox().create(spec());
      // One string a bit over the 4096 MB default; the cgroup's OOM killer stops it there.
      const hog = await collect(handle, ["perl", "-e", '$x = "a" x ($ARGV[0] * 1024 * 1024); print "survived\n"', String(DEFAULT_LIMITS.memoryMb + 512)], { timeoutMs: 120_000 });
      expect(hog.stdout).not.toContain("survived");
      expect(hog.result.exitCode).not.toBe(0);
    });

    it("(twin) a 1.2 GB allocation and node (which reserves far more address space) work under the default limits", async () => {
      await using handle = await sandbox().create(spec());
      const fine = await collect(handle, sh(`perl -e '$x = "a" x (1200 * 1024 * 1024); print "perl survived\\n"' && node -e 'new WebAssembly.Memory({ initial: 1 }); console.log("node", Buffer.alloc(256 * 2 ** 20, 1).length / 2 ** 20)'`), { timeoutMs: 120_000 });
      // (An address-space rlimit of the same 4 GB would already fail the WebAssembly.Memory: V8 reserves ~10 GB for it.)
      expect(fine.stdout).toEqual(["perl survived", "node 256"]);
    });
  });

  it("a killed run's sandbox /tmp on the host is private and named by its run id, so corral clean finds it", async () => {
    const runId = `security-tmp-${process.pid}`;
    const handle = await sandbox().create(spec({ runId }));
    try {
      const argv = handle.argvFor(["true"]);
      const hostTmp = argv.find((arg, i) => argv[i - 1] === "--bind" && argv[i + 1] === "/tmp")!;
      expect(basename(hostTmp).startsWith(runTempPrefix("bwrap", runId))).toBe(true);
      expect((await stat(hostTmp)).mode & 0o777).toBe(0o700);
      await collect(handle, sh("echo from-inside > /tmp/left-behind"));
      expect(existsSync(join(hostTmp, "left-behind"))).toBe(true);
      // A killed run never closes its sandbox: `corral clean` removes what it left by run id, nothing else.
      expect(await removeRunTempDirs(runId)).toEqual([hostTmp]);
      expect(existsSync(hostTmp)).toBe(false);
    } finally {
      await handle.close();
    }
  });

  it("(twin) close() removes the sandbox's /tmp", async () => {
    await using handle = await sandbox().create(spec({ runId: `security-tmp-close-${process.pid}` })); // closed below, or disposed
    const argv = handle.argvFor(["true"]);
    const hostTmp = argv.find((arg, i) => argv[i - 1] === "--bind" && argv[i + 1] === "/tmp")!;
    expect(existsSync(hostTmp)).toBe(true);
    await handle.close();
    expect(existsSync(hostTmp)).toBe(false);
  });

  it("minimal shows only what tools need of /etc: no host identity, no credentials", async () => {
    await using handle = await sandbox().create(spec());
    const allowed = (name: string) => ETC_SHOWN.some((entry) => (entry.endsWith("*") ? name.startsWith(entry.slice(0, -1)) : name === entry));
    const hostOnly = readdirSync("/etc").filter((name) => !allowed(name));
    expect(hostOnly.length).toBeGreaterThan(0);
    const { stdout } = await collect(handle, ["ls", "-A", "/etc"]);
    expect(stdout.filter((name) => !allowed(name))).toEqual([]);
    for (const secret of ["/etc/machine-id", "/etc/docker", "/etc/containers", "/etc/hostname", "/etc/ssl/private"].filter((path) => existsSync(path))) {
      const peek = await collect(handle, ["sh", "-c", 'if [ -d "$1" ]; then ls -A "$1"; else cat "$1"; fi 2>/dev/null', "sh", secret]);
      expect(peek.stdout, secret).toEqual([]);
    }
  });

  it("(twin) under minimal, users, names, DNS, CA certificates, the linker, the time zone and alternatives still work", async () => {
    await using handle = await sandbox().create(spec());
    const host = async (argv: string[]) => String((await execa(argv[0]!, argv.slice(1), { reject: false })).stdout).trim();
    const { stdout } = await collect(handle, sh("getent passwd root | cut -d: -f1; getent group root | cut -d: -f1; getent hosts localhost >/dev/null && echo hosts; date +%Z; PATH=$PATH:/usr/sbin:/sbin ldconfig -p | head -1 | grep -q libs && echo ldcache"));
    expect(stdout).toEqual(["root", "root", "hosts", await host(["date", "+%Z"]), "ldcache"]);
    for (const path of ["/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/ssl/certs/ca-certificates.crt", "/etc/alternatives"].filter((p) => existsSync(p))) {
      expect((await collect(handle, ["test", "-r", path])).result.exitCode, path).toBe(0);
    }
  });

  it("under host-readonly the host's identity and credential folders are hidden too", async () => {
    await using handle = await sandbox({ readPolicy: "host-readonly" }).create(spec());
    for (const secret of ["/etc/machine-id", "/etc/docker", "/etc/ssl/private"].filter((path) => existsSync(path))) {
      const peek = await collect(handle, ["sh", "-c", 'if [ -d "$1" ]; then ls -A "$1"; else cat "$1"; fi 2>/dev/null', "sh", secret]);
      expect(peek.stdout, secret).toEqual([]);
    }
    expect((await collect(handle, ["grep", "-c", "^root:", "/etc/passwd"])).stdout).toEqual(["1"]);
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
