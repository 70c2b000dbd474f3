/**
 * What the cross-cutting bench scripts share: throwaway git repositories, a sandbox spec, the
 * sandboxes that can run on this machine (with the reason the others cannot), and a child
 * process runner that reports wall time, peak RSS and CPU. Real tools only, like the tests.
 */
import { mkdtemp, realpath, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { instantiate } from "../../packages/core/dist/index.js";
import { git, spawnStreaming } from "../../packages/core/dist/plugin-kit.js";

/** The image `tooling/ci/engines.sh images` builds for docker and podman (no registry needed). */
export const TEST_IMAGE = process.env.CORRAL_TEST_IMAGE ?? "corral-test:local";

export const identity = {
  GIT_AUTHOR_NAME: "Bench",
  GIT_AUTHOR_EMAIL: "bench@example.com",
  GIT_COMMITTER_NAME: "Bench",
  GIT_COMMITTER_EMAIL: "bench@example.com",
};

/** The env a sandboxed command gets: a PATH and a git identity, nothing from the host. */
export const baseEnv = { PATH: "/usr/local/bin:/usr/bin:/bin", ...identity };

export async function tempDir(prefix = "corral-bench-") {
  return realpath(await mkdtemp(join(tmpdir(), prefix)));
}

/** A real repository with one commit on `main` (in `dir`, or a new temp folder). */
export async function makeRepo(files = { "README.md": "# bench\n" }, dir) {
  if (dir) await mkdir(dir, { recursive: true });
  else dir = await tempDir("corral-bench-repo-");
  await git(["init", "-q", "-b", "main"], { cwd: dir });
  await git(["config", "user.name", "Bench"], { cwd: dir });
  await git(["config", "user.email", "bench@example.com"], { cwd: dir });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await git(["add", "-A"], { cwd: dir });
  await git(["commit", "-q", "-m", "initial"], { cwd: dir, env: identity });
  return dir;
}

export async function removeDir(dir) {
  await rm(dir, { recursive: true, force: true });
}

/** A SandboxSpec for `dir` with no extra mounts, host network and no limits. */
export function specFor(dir, home, runId = `bench-${process.pid}-${Date.now()}`) {
  return { runId, workspace: { path: dir, cwd: dir }, gitMounts: [], home, mounts: [], env: { ...baseEnv, HOME: home }, network: "host", limits: {} };
}

/**
 * `true` spawned raw with the argv a bwrap handle builds for it (`argvFor`), its seccomp program on
 * fd 3 as the plugin hands it over: the floor of an exec through that handle.
 */
export function rawBwrapTrue(handle, env) {
  const argv = handle.argvFor(["true"]);
  return () => spawnStreaming(argv, { cwd: "/", env, onLine: () => {}, extraFds: handle.extraFds ?? [] });
}

/** Runs argv to completion (argv only, the given env); the first stdout lines and the status. */
export async function runQuiet(argv, { env = { PATH: process.env.PATH ?? "/usr/bin:/bin" }, cwd, timeoutMs = 60_000 } = {}) {
  const lines = [];
  const r = await spawnStreaming(argv, { env, ...(cwd ? { cwd } : {}), timeoutMs, onLine: (line) => lines.length < 200 && lines.push(line) });
  return { exitCode: r.exitCode, lines };
}

/** Whether a container engine answers and holds the test image; the reason when not. */
export async function engineReady(engine, image = TEST_IMAGE) {
  const which = await runQuiet(["sh", "-c", 'command -v "$0"', engine]).catch(() => ({ exitCode: 1 }));
  if (which.exitCode !== 0) return `${engine} is not installed (tooling/ci/engines.sh install)`;
  const info = await runQuiet([engine, "info"], { timeoutMs: 30_000 });
  if (info.exitCode !== 0) return `${engine} does not answer (tooling/ci/engines.sh start)`;
  const found = await runQuiet([engine, "image", "inspect", image], { timeoutMs: 30_000 });
  if (found.exitCode !== 0) return `${engine} has no ${image} image (tooling/ci/engines.sh images)`;
  return undefined;
}

/**
 * The sandboxes this machine can run, each as `{ name, configured }`, and the ones it cannot,
 * each with the reason. Plugin packages are imported from their built dist, only when present.
 */
export async function availableSandboxes({ only } = {}) {
  const { hostSandbox } = await import("../../packages/core/dist/index.js");
  const ready = [];
  const skipped = [];
  const want = (name) => !only || only.includes(name);
  if (want("host")) ready.push({ name: "host", configured: hostSandbox.configure({}) });
  const plugins = [
    ["bwrap", "../../packages/sandbox-bwrap/dist/index.js", (m) => m.bwrapSandbox.configure({})],
    ["docker", "../../packages/sandbox-docker/dist/index.js", (m) => m.dockerSandbox.configure({ image: TEST_IMAGE })],
    ["podman", "../../packages/sandbox-podman/dist/index.js", (m) => m.podmanSandbox.configure({ image: TEST_IMAGE })],
  ];
  for (const [name, path, configure] of plugins) {
    if (!want(name)) continue;
    const mod = await import(path).catch((error) => ({ error }));
    if (mod.error) {
      skipped.push({ name, reason: `${path.replace("../../", "")} is not built (pnpm build)` });
      continue;
    }
    const configured = configure(mod);
    const availability = await instantiate("sandbox", configured).check();
    if (!availability.available) {
      skipped.push({ name, reason: availability.reason });
      continue;
    }
    ready.push({ name, configured, module: mod });
  }
  return { ready, skipped };
}

/**
 * Runs `node <script> <args…>` and returns what the script printed as JSON on its last line,
 * plus the wall time around the whole process. Each sample in its own process, so peak RSS
 * (process.resourceUsage().maxRSS, read by the script at its end) is that sample's alone.
 */
export async function nodeChild(script, args = [], { cwd, env = process.env, timeoutMs = 600_000 } = {}) {
  const lines = [];
  const errors = [];
  const started = performance.now();
  const r = await spawnStreaming([process.execPath, script, ...args], {
    env,
    ...(cwd ? { cwd } : {}),
    timeoutMs,
    onLine: (line, stream) => (stream === "stdout" ? lines.push(line) : errors.push(line)),
  });
  const wallMs = performance.now() - started;
  if (r.exitCode !== 0) throw new Error(`${script} ${args.join(" ")} exited with ${r.exitCode ?? r.signal}: ${errors.slice(-5).join(" | ")}`);
  return { wallMs, ...JSON.parse(lines.filter(Boolean).at(-1)) };
}

/** What a child script prints at its end: its peak RSS (MB) and CPU time (ms). */
export function ownUsage() {
  const u = process.resourceUsage();
  return { maxRssMB: u.maxRSS / 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 };
}
