import { execFileSync } from "node:child_process";
import { execa } from "execa";
import { mkdtemp, readlink, realpath, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Shared test helpers. Real things only: real git repos in temp dirs, the real process table.
 */

export const inCI = process.env.CI === "true" || process.env.CI === "1";

/**
 * For integration tests that need a tool: outside CI a missing tool skips with a printed reason;
 * in CI it fails loudly, because .ci/run must provision everything.
 */
export function requireTool(available: boolean, reason: string): boolean {
  if (available) return true;
  if (inCI) throw new Error(`CI must provide this, but: ${reason}`);
  console.warn(`[skip] ${reason}`);
  return false;
}

export async function hasCommand(name: string): Promise<boolean> {
  const r = await execa("sh", ["-c", `command -v ${name}`], { reject: false });
  return r.exitCode === 0;
}

export async function tempDir(prefix = "corral-test-"): Promise<string> {
  return realpath(await mkdtemp(join(tmpdir(), prefix)));
}

export const gitEnv = {
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
};

/** Runs git in `cwd` for test setup (not the code under test). */
export async function gitIn(cwd: string, ...args: string[]): Promise<string> {
  const r = await execa("git", args, { cwd, env: gitEnv });
  return r.stdout;
}

/** A real repository with one commit (README.md) on `main`. */
export async function tempRepo(files: Record<string, string> = { "README.md": "# test repo\n" }): Promise<string> {
  const dir = await tempDir("corral-repo-");
  await gitIn(dir, "init", "-q", "-b", "main");
  await gitIn(dir, "config", "user.name", "Test");
  await gitIn(dir, "config", "user.email", "test@example.com");
  for (const [path, content] of Object.entries(files)) {
    await execa("mkdir", ["-p", join(dir, path, "..")]);
    await writeFile(join(dir, path), content);
  }
  await gitIn(dir, "add", "-A");
  await gitIn(dir, "commit", "-q", "-m", "initial");
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** PIDs of live processes whose command line contains `needle` (from /proc, not mocked). */
export async function processesMatching(needle: string): Promise<number[]> {
  const r = await execa("ps", ["-eo", "pid=,stat=,args="], { reject: false });
  return String(r.stdout)
    .split("\n")
    .map((line) => line.trim().match(/^(\d+)\s+(\S+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => !!m && m[3]!.includes(needle) && !m[2]!.startsWith("Z") && !m[3]!.includes("ps -eo"))
    .map((m) => Number(m[1]));
}

/** Waits until `check` returns true, polling; fails with `message` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, message = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${message}`);
}

/** The local image `tooling/ci/engines.sh images` builds for docker and podman (sh, bash, git, coreutils). */
export const CONTAINER_TEST_IMAGE = process.env.CORRAL_TEST_IMAGE ?? "corral-test:local";

/** Whether a container engine answers and holds the test image; the reason (and the fix) when not. */
export async function containerEngineReady(engine: "docker" | "podman", image = CONTAINER_TEST_IMAGE): Promise<{ ready: boolean; reason: string }> {
  if (!(await hasCommand(engine))) return { ready: false, reason: `${engine} is not installed (tooling/ci/engines.sh install)` };
  const info = await execa(engine, ["info"], { reject: false, timeout: 30_000 });
  if (info.exitCode !== 0) return { ready: false, reason: `${engine} does not answer (tooling/ci/engines.sh start): ${String(info.stderr).trim().split("\n").pop()}` };
  const found = await execa(engine, ["image", "inspect", image], { reject: false, timeout: 30_000 });
  if (found.exitCode !== 0) return { ready: false, reason: `${engine} has no ${image} image (tooling/ci/engines.sh images)` };
  return { ready: true, reason: "" };
}

/** Names of the containers, running or stopped, that `engine` holds with `label` (`key=value`). */
export async function containersLabelled(engine: "docker" | "podman", label: string): Promise<string[]> {
  const r = await execa(engine, ["ps", "--all", "--filter", `label=${label}`, "--format", "{{.Names}}"], { timeout: 30_000 });
  return String(r.stdout).split("\n").filter(Boolean);
}

/** Whether process `pid` lives in another pid namespace than this process (inside a container or sandbox). */
export async function inOtherPidNamespace(pid: number): Promise<boolean> {
  const [theirs, ours] = await Promise.all([readlink(`/proc/${pid}/ns/pid`).catch(() => undefined), readlink("/proc/self/ns/pid")]);
  return theirs !== undefined && theirs !== ours;
}

/** The docker engine's unix socket: DOCKER_HOST's when it names one, else the default (what a proxy in front of the engine connects to). */
export const DOCKER_SOCKET = process.env.DOCKER_HOST?.startsWith("unix://") ? process.env.DOCKER_HOST.slice("unix://".length) : "/var/run/docker.sock";

/** A socat proxy standing for an engine's socket, which a test kills to make the engine vanish mid-run. */
export interface SocketProxy {
  /** The proxy's socket, for `DOCKER_HOST=unix://<socket>`. */
  socket: string;
  /** Kills socat and every connection it carries (its whole process group): the engine is gone for its clients. */
  kill(): void;
  /** Stops (SIGSTOP) socat and every connection it carries: the engine hangs, its connections open and silent. `kill` ends it. */
  hang(): void;
}

/** Starts `socat` in front of the unix socket `target` (the engine's), in its own process group; resolves once it listens. */
export async function socketProxy(target: string, dir: string): Promise<SocketProxy> {
  const socket = join(dir, `engine-${process.pid}-${Date.now()}.sock`);
  // fork: one child per connection, all in socat's process group, so kill() cuts the streams too.
  const child = execa("socat", [`UNIX-LISTEN:${socket},fork`, `UNIX-CONNECT:${target}`], { detached: true, stdio: "ignore", reject: false });
  await waitFor(async () => (await stat(socket).catch(() => undefined))?.isSocket() === true, 10_000, "socat to listen");
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // gone already
    }
  };
  return { socket, kill: () => signal("SIGKILL"), hang: () => signal("SIGSTOP") };
}

/**
 * The remote test engine's variables (tooling/ci/remote-engine.sh: a dockerd, an sshd and a podman
 * service in their own network and mount namespace at 10.231.0.2), starting it when this machine can
 * (root), and loading the test image there again when the local one changed.
 */
export function remoteTestEngine(): { ready: boolean; reason: string; env: Record<string, string> } {
  if (process.getuid?.() !== 0) return { ready: false, reason: "the remote test engine needs root (network and mount namespaces)", env: {} };
  const script = fileURLToPath(new URL("../../ci/remote-engine.sh", import.meta.url));
  try {
    const status = execFileSync("bash", [script, "status"], { encoding: "utf8" });
    execFileSync("bash", [script, /remote docker: \d/.test(status) ? "load" : "start"], { stdio: ["ignore", "ignore", "inherit"] });
    const env = Object.fromEntries(
      execFileSync("bash", [script, "env"], { encoding: "utf8" })
        .trim()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    return { ready: true, reason: "", env };
  } catch (error) {
    return { ready: false, reason: `the remote test engine did not start (tooling/ci/remote-engine.sh start): ${(error as Error).message}`, env: {} };
  }
}
