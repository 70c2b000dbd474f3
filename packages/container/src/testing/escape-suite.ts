import { execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentEventsOf, type commandAgent, type ReapOptions, type ExecOptions, type ExecResult, type run as runLoop, type Sandbox, type SandboxHandle, type SandboxSpec } from "@corral/core";
import { removeRunTempDirs } from "@corral/core/plugin-kit";
import { eventually, hostProcessesMatching } from "@corral/core/testing";
import { containerLabels } from "../labels.js";
import type { ContainerReapResult } from "../reap.js";

/**
 * The container escape suite: what a hostile agent tries against the docker and podman sandboxes
 * (ADR 0404), each attack for real, next to its twin showing the legitimate operation still works.
 * The plugins' integration tests run it with their engine (`test/*.int.test.ts`); it lives here,
 * beside the code it attacks, on the `@corral/container/testing` subpath (needs vitest, an optional
 * peer). Everything runtime it needs from the plugin comes through `ContainerEscapeTarget`.
 */
export interface ContainerEscapeTarget {
  /** Which engine the plugin drives; it names the suite's `describe` block and its run ids. */
  engine: "docker" | "podman";
  /** Whether the engine and the test image are here (false skips, with the reason printed by the caller). */
  ready: boolean;
  /** The plugin's sandbox on the test image, with these options on top. */
  sandbox: (options?: Record<string, unknown>) => Sandbox;
  /** The plugin's `reapOrphans`. */
  reapOrphans: (options?: ReapOptions) => Promise<ContainerReapResult>;
  /** The plugin's built entry and its export names, for an orchestrator in a child process. */
  entry: { url: string; sandbox: string; configure: string; image: string };
  /** Whether the engine still holds the container `id` (running or not). */
  exists: (id: string) => Promise<boolean>;
  /** Creates, without starting, a container of the test image with these labels; its id. */
  createLabelled: (labels: Record<string, string>) => Promise<string>;
  /** Removes a container this suite made. */
  remove: (id: string) => Promise<void>;
  /** The run loop and the command agent, from the same `@corral/core` the plugin uses. */
  core: { run: typeof runLoop; commandAgent: typeof commandAgent };
}

/** A real repository with one commit on `main`, for the run-level cases. */
async function tempRepo(): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), "corral-escape-repo-")));
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "ignore", env: { ...process.env, GIT_AUTHOR_NAME: "Test", GIT_AUTHOR_EMAIL: "test@example.com", GIT_COMMITTER_NAME: "Test", GIT_COMMITTER_EMAIL: "test@example.com" } });
  git("init", "-q", "-b", "main");
  await writeFile(join(dir, "README.md"), "# test repo\n");
  git("add", "README.md");
  git("commit", "-q", "-m", "initial");
  return dir;
}

const removeDir = (dir: string) => rm(dir, { recursive: true, force: true });

/**
 * Host tools the attacks need and images need not have (the test image has no util-linux): mounted
 * read-only into every container of the suite. They link only libc, which every image has.
 */
const PROBES = { setsid: "/usr/bin/setsid", unshare: "/usr/bin/unshare" };
const probe = (tool: keyof typeof PROBES) => `/opt/corral-probe/${tool}`;
const probeMounts = () => Object.entries(PROBES).map(([tool, host]) => ({ host, sandbox: probe(tool as keyof typeof PROBES) }));

/** A number unlikely on any other command line: `sleep <it>` finds this case's processes on the host. */
const marker = () => String(800_000 + Math.floor(Math.random() * 99_999));

/**
 * The dodging agent of finding 3: ignores SIGTERM, rewrites every pid file it can find, leaves its
 * process group (setsid) and double-forks to PID 1, each child immune to SIGTERM and respawning its
 * sleep, then says `started` and loops.
 */
function dodger(sleep: string): string {
  return [
    "trap '' TERM INT HUP",
    'for f in /tmp/*.pid /tmp/.corral-*; do [ -f "$f" ] && echo 1 > "$f"; done',
    `${probe("setsid")} sh -c "trap '' TERM HUP; while :; do sleep ${sleep}; done" </dev/null >/dev/null 2>&1 &`,
    `(sh -c "trap '' TERM; while :; do sleep ${sleep}; done" &) </dev/null >/dev/null 2>&1`,
    "echo started",
    `while :; do sleep ${sleep}; done`,
  ].join("\n");
}

/** Background processes an iteration leaves: setsid'd, double-forked, both immune to SIGTERM. */
function leaver(sleep: string): string {
  return [
    `${probe("setsid")} sh -c "trap '' TERM HUP; exec sleep ${sleep}" </dev/null >/dev/null 2>&1 &`,
    `(sh -c "trap '' TERM; exec sleep ${sleep}" &) </dev/null >/dev/null 2>&1`,
    "echo left",
  ].join("\n");
}

async function run(handle: SandboxHandle, argv: string[], options: ExecOptions = {}): Promise<{ result: ExecResult; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const result = await handle.exec(argv, { ...options, onLine: (line, stream) => ((stream === "stdout" ? stdout : stderr).push(line), options.onLine?.(line, stream)) });
  return { result, stdout, stderr };
}

const gone = (sleep: string) => eventually(async () => (await hostProcessesMatching(`sleep ${sleep}`)).length === 0, `every \`sleep ${sleep}\` to be gone from the host's process table`);

/**
 * Declares the escape suite as a vitest `describe` block (skipped when `target.ready` is false). Call
 * it at the top level of an integration test file; each attack runs against a real container.
 */
export function describeContainerEscapes(target: ContainerEscapeTarget): void {
  describe.skipIf(!target.ready)(`container escapes: ${target.engine}`, () => {
    let root: string;
    let n = 0;
    const open: SandboxHandle[] = [];
    const spec = (overrides: Partial<SandboxSpec> = {}): SandboxSpec => ({
      runId: `escape-${target.engine}-${process.pid}-${++n}`,
      workspace: { path: join(root, "ws"), cwd: join(root, "ws") },
      gitMounts: [],
      home: join(root, "home"),
      mounts: probeMounts(),
      env: { PATH: "/usr/bin:/bin", HOME: join(root, "home") },
      network: "none",
      limits: {},
      ...overrides,
    });
    const create = async (options: Record<string, unknown> = {}, overrides: Partial<SandboxSpec> = {}) => {
      const handle = await target.sandbox(options).create(spec(overrides));
      open.push(handle);
      return handle;
    };

    beforeAll(async () => {
      root = await realpath(await mkdtemp(join(tmpdir(), `corral-escape-${target.engine}-`)));
      await mkdir(join(root, "ws"), { mode: 0o777 });
      await mkdir(join(root, "home"), { mode: 0o700 });
    });
    afterAll(async () => {
      await Promise.all(open.map((handle) => handle.close().catch(() => {})));
      if (root) await rm(root, { recursive: true, force: true });
    });

    describe("a stop the agent cannot dodge", () => {
      it("attack: an agent that rewrites pid files, ignores SIGTERM and leaves its group is stopped within seconds, as an abort, and nothing of it survives", async () => {
        const handle = await create({ killGraceSeconds: 0.5 });
        const sleep = marker();
        const abort = new AbortController();
        let stoppedAt = 0;
        const { result } = await run(handle, ["sh", "-c", dodger(sleep)], {
          signal: abort.signal,
          onLine: (line) => {
            if (line !== "started") return;
            stoppedAt = performance.now();
            abort.abort();
          },
        });
        const took = performance.now() - stoppedAt;
        expect(result).toMatchObject({ aborted: true, timedOut: false, exitCode: null, signal: "SIGKILL" });
        // A regression guard, far above the 0.5 s grace: the pid-file stop took 5.5 s (podman) and
        // 15 s then E_SANDBOX_EXIT_UNKNOWN (docker) at this grace.
        expect(took).toBeLessThan(5000);
        await gone(sleep);
        expect((await run(handle, ["echo", "still works"])).stdout).toEqual(["still works"]);
      });

      it("attack: the same agent timed out is reported as a timeout, and nothing of it survives", async () => {
        const handle = await create({ killGraceSeconds: 0.5 });
        const sleep = marker();
        const { result } = await run(handle, ["sh", "-c", dodger(sleep)], { timeoutMs: 1000 });
        expect(result).toMatchObject({ timedOut: true, aborted: false, exitCode: null, signal: "SIGKILL" });
        await gone(sleep);
      });

      it("the wall-clock limit ends the container, and the exec running then reports a timeout", async () => {
        const handle = await create({}, { limits: { wallSeconds: 2 } });
        const { result } = await run(handle, ["sleep", "60"]);
        expect(result).toMatchObject({ timedOut: true, exitCode: null });
      });

      it("twin: an agent that honours SIGTERM ends on it at once, without waiting out the grace", async () => {
        const handle = await create({ killGraceSeconds: 60 });
        const sleep = marker();
        const abort = new AbortController();
        let stoppedAt = 0;
        const { result } = await run(handle, ["sh", "-c", `sleep ${sleep} & echo started; wait`], {
          signal: abort.signal,
          onLine: (line) => line === "started" && ((stoppedAt = performance.now()), abort.abort()),
        });
        expect(result).toMatchObject({ aborted: true, exitCode: null, signal: "SIGTERM" });
        expect(performance.now() - stoppedAt).toBeLessThan(30_000);
        await gone(sleep);
      });
    });

    describe("the run says what stopped the agent", () => {
      const agent = (sleep: string) => target.core.commandAgent.configure({ argv: ["sh", "-c", dodger(sleep)] });
      const within = async (promise: Promise<unknown>) => {
        const started = performance.now();
        const error = await promise.then(() => undefined, (e: unknown) => e);
        return { error, seconds: (performance.now() - started) / 1000 };
      };

      it("attack: a dodging agent that goes quiet ends the run as an idle timeout, within seconds, and leaves no container", async () => {
        const repo = await tempRepo();
        const sleep = marker();
        const runId = `escape-idle-${target.engine}-${process.pid}`;
        try {
          const { error, seconds } = await within(
            target.core.run({ cwd: repo, runId, prompt: "p", agent: agent(sleep), sandbox: target.sandbox({ killGraceSeconds: 0.5 }), idleTimeout: 1, env: { PATH: "/usr/bin:/bin" }, mounts: probeMounts(), network: "none", handleProcessSignals: false }),
          );
          expect(error).toMatchObject({ code: "E_IDLE_TIMEOUT" }); // was E_SANDBOX_EXIT_UNKNOWN on docker, after ~17 s
          expect(seconds).toBeLessThan(20);
          await gone(sleep);
          expect((await target.reapOrphans({ runId, dryRun: true })).containers).toEqual([]);
        } finally {
          await removeDir(repo);
        }
      });

      it("attack: the same agent aborted (Ctrl-C) ends the run as an abort; twin: an agent that completes ends the run as a success", async () => {
        const repo = await tempRepo();
        const sleep = marker();
        const abort = new AbortController();
        try {
          const { error } = await within(
            target.core.run({
              cwd: repo,
              prompt: "p",
              agent: agent(sleep),
              sandbox: target.sandbox({ killGraceSeconds: 0.5 }),
              env: { PATH: "/usr/bin:/bin" },
              mounts: probeMounts(),
              network: "none",
              signal: abort.signal,
              handleProcessSignals: false,
              onEvent: (event) => agentEventsOf(event).some((e) => e.type === "text" && e.text === "started") && abort.abort("interrupted"),
            }),
          );
          expect(error).toMatchObject({ code: "E_ABORTED" });
          await gone(sleep);
          const events: unknown[] = [];
          const done = await target.core.run({ cwd: repo, prompt: "p", agent: target.core.commandAgent.configure({ argv: ["sh", "-c", "echo '<promise>COMPLETE</promise>'"] }), sandbox: target.sandbox(), env: { PATH: "/usr/bin:/bin" }, network: "none", handleProcessSignals: false, onEvent: (e) => events.push(e) });
          expect(done.completionSignal, JSON.stringify(events, null, 1)).toBe("<promise>COMPLETE</promise>");
        } finally {
          await removeDir(repo);
        }
      });
    });

    describe("nothing lives from one exec (iteration) into the next", () => {
      it("attack: what an exec leaves in the background — setsid'd, double-forked, immune to SIGTERM — is gone when it returns", async () => {
        const handle = await create();
        const sleep = marker();
        const { result, stdout } = await run(handle, ["sh", "-c", leaver(sleep)]);
        expect([result.exitCode, stdout]).toEqual([0, ["left"]]);
        await gone(sleep);
        expect((await run(handle, ["ps", "-eo", "args"])).stdout.join("\n")).not.toContain(`sleep ${sleep}`);
      });

      it("twin: with keepBackgroundProcesses they live on into the next exec, and end with the sandbox", async () => {
        const handle = await create({ keepBackgroundProcesses: true });
        const sleep = marker();
        await run(handle, ["sh", "-c", leaver(sleep)]);
        expect((await run(handle, ["ps", "-eo", "args"])).stdout.filter((line) => line === `sleep ${sleep}`)).toHaveLength(2);
        await handle.close();
        await gone(sleep);
      });

      it("twin: an exec that ends does not take another one still running with it", async () => {
        const handle = await create();
        const [slow, quick] = await Promise.all([run(handle, ["sh", "-c", "sleep 1.5; echo slow done"]), run(handle, ["sh", "-c", "sleep 1000 >/dev/null & echo quick"])]);
        expect([slow.result.exitCode, slow.stdout]).toEqual([0, ["slow done"]]);
        expect([quick.result.exitCode, quick.stdout]).toEqual([0, ["quick"]]);
      });
    });

    describe("the container never outlives its orchestrator", () => {
      it("attack: an orchestrator killed with SIGKILL mid-exec takes the container and the agent with it; twin: a live orchestrator's container runs on", async () => {
        const live = await create();
        const sleep = marker();
        const heartbeat = join(root, "ws", `heartbeat-${sleep}`);
        const agent = dodger(sleep).replace("echo started", `(while :; do date +%s%N > ${heartbeat}; sleep 0.2; done &); echo started`);
        const runId = `escape-dead-${process.pid}`;
        const child = spawn(process.execPath, ["--input-type=module", "-e", orchestrator(target, spec({ runId }), agent)], { stdio: ["ignore", "pipe", "inherit"] });
        const exited = new Promise((resolve) => child.once("exit", resolve));
        const id = await new Promise<string>((resolve, reject) => {
          let container = "";
          child.stdout.on("data", (chunk: Buffer) => {
            for (const line of String(chunk).split("\n")) {
              if (line.startsWith("id ")) container = line.slice(3);
              if (line === "started" && container) resolve(container);
            }
          });
          child.once("exit", (code) => reject(new Error(`the orchestrator exited early (${code})`)));
        });
        child.kill("SIGKILL");
        await exited;
        await eventually(async () => !(await target.exists(id)), `the container ${id} to end with its orchestrator`, 30_000);
        await gone(sleep);
        const last = (await stat(heartbeat)).mtimeMs;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        expect((await stat(heartbeat)).mtimeMs, "the agent still writes the workspace").toBe(last);
        // The twin: this orchestrator's own container is untouched.
        expect((await run(live, ["echo", "alive"])).stdout).toEqual(["alive"]);
        expect(await target.exists(live.id)).toBe(true);
        await removeRunTempDirs(runId); // what corral clean does for the killed run
      });

      it("twin: a container whose orchestrator is merely quiet lives on, longer than any engine timeout", async () => {
        // 3 s: an engine call on a loaded machine can take longer than 1 s, and this is not what is tested.
        const handle = await create({ engineTimeoutSeconds: 3 });
        await new Promise((resolve) => setTimeout(resolve, 7000));
        expect((await run(handle, ["echo", "alive"])).stdout).toEqual(["alive"]);
      });

      it("attack: the agent cannot reach the keeper that holds the container up: not signal it, not feed its stdin, not read its environment", async () => {
        const handle = await create();
        const sleep = marker();
        const script = [
          "kill -KILL -1 2>/dev/null; kill -9 1 2>/dev/null",
          // The keeper: the one process besides PID 1 that is not the agent's user.
          'me=$(id -u); for p in /proc/[0-9]*; do q=${p#/proc/}; [ "$q" != 1 ] && [ "$(stat -c %u "$p" 2>/dev/null)" != "$me" ] && [ -z "$k" ] && k=$q; done',
          '[ -n "$k" ] || { echo "no keeper found"; exit 1; }',
          'kill -9 "$k" 2>/dev/null && echo killed-keeper',
          'echo x > "/proc/$k/fd/0" 2>/dev/null && echo fed-keeper',
          'cat "/proc/$k/environ" >/dev/null 2>&1 && echo read-keeper',
          // The twin: its own processes are its to stop.
          `sleep ${sleep} & kill $! && wait $! 2>/dev/null; echo own-stopped`,
        ].join("\n");
        const { stdout } = await run(handle, ["sh", "-c", script]);
        expect(stdout).toEqual(["own-stopped"]);
        expect((await run(handle, ["echo", "container up"])).stdout).toEqual(["container up"]);
        expect(await target.exists(handle.id)).toBe(true);
        await gone(sleep);
      });
    });

    describe("corral clean finds what a killed run left, by run id", () => {
      it("attack: a container a killed run left behind (created, never started) is found by its run id and removed; twin: a live run's container is kept", async () => {
        const dead = `escape-left-${process.pid}`;
        const liveRun = `escape-live-${process.pid}`;
        const host = hostname();
        const left = await target.createLabelled(containerLabels({ runId: dead, version: "test", orchestrator: { pid: 999_999_999, host } }));
        const kept = await target.createLabelled(containerLabels({ runId: liveRun, version: "test" }));
        try {
          expect((await target.reapOrphans({ runId: liveRun })).containers).toEqual([expect.objectContaining({ id: kept, runId: liveRun, action: "kept" })]);
          const dry = await target.reapOrphans({ runId: dead, dryRun: true });
          expect(dry.containers).toEqual([expect.objectContaining({ id: left, runId: dead, action: "would-remove" })]);
          expect(await target.exists(left)).toBe(true);
          expect((await target.reapOrphans({ runId: dead })).containers).toEqual([expect.objectContaining({ id: left, action: "removed" })]);
          expect(await target.exists(left)).toBe(false);
          expect(await target.exists(kept)).toBe(true);
        } finally {
          await target.remove(left).catch(() => {});
          await target.remove(kept);
        }
      });
    });

    describe("no new user namespace, and who the agent is", () => {
      it("attack: unshare -U fails inside, as root and as a normal user; twin: the same binary runs there", async () => {
        for (const options of [{}, { user: "4321:4321" }]) {
          const handle = await create(options);
          const twin = await run(handle, [probe("unshare"), "--version"]);
          expect(twin.result.exitCode, twin.stderr.join("\n")).toBe(0);
          for (const attack of [["-U", "true"], ["-Ur", "id"], ["-U", "-m", "true"]]) {
            const { result, stderr } = await run(handle, [probe("unshare"), ...attack]);
            expect(result.exitCode, `unshare ${attack.join(" ")}`).not.toBe(0);
            expect(stderr.join("\n")).toContain("unshare failed: Operation not permitted");
          }
          await handle.close();
        }
      });

      it("check() says who the agent is on the host, root plainly", async () => {
        const availability = await target.sandbox().check();
        expect(availability.available).toBe(true);
        const detail = availability.available ? (availability.detail ?? "") : "";
        if (process.getuid?.() === 0) expect(detail).toMatch(/root on the host|user namespace \((auto|keep-id)\)/);
        else expect(detail).toMatch(/uid \d+|user namespace/);
        expect(await target.sandbox({ user: "4321:4321" }).check()).toMatchObject({ available: true, detail: expect.stringMatching(/uid 4321:4321|user namespace/) });
      });
    });
  });
}

/** An orchestrator in a child process: starts the sandbox, prints `id <container>`, runs `agent`, echoing its lines. */
function orchestrator(target: ContainerEscapeTarget, spec: SandboxSpec, agent: string): string {
  const { url, sandbox, configure, image } = target.entry;
  return `const m = await import(${JSON.stringify(url)});
const handle = await m.${sandbox}.create(m.${configure}({ image: ${JSON.stringify(image)} }).options).create(${JSON.stringify(spec)});
console.log("id " + handle.id);
await handle.exec(["sh", "-c", ${JSON.stringify(agent)}], { onLine: (line) => console.log(line) });`;
}
