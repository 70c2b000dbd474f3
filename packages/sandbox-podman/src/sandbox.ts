import { SandboxError, SandboxUnavailableError, UsageError, unavailableBecause, type AttachOptions, type ExecOptions, type ExecResult, type Sandbox, type SandboxCapabilities, type SandboxHandle, type SandboxSpec } from "@corral/core";
import { HandleLifecycle, runTempDir, spawnAttached, spawnStreaming } from "@corral/core/plugin-kit";
import { AgentProcesses, checkCopyPath, ContainerCgroup, remoteCgroupReader, copiedWorkspaceCapability, EgressBridge, getArchiveArgv, putArchiveArgv, agentIdentity, endedAtWallClock, execStatus, imageMissingError, planContainer, reapedContainers, refuseHostPaths, remotePlan, shipRunHome, sweepArgv, wallClockDeadline, type ContainerPlan, type SweepSignal } from "@corral/container";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { open, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildImage, removeImage } from "./build.js";
import { podmanCall, podmanError, probePodman, type PodmanFacts } from "./cli.js";
import { PodmanEngine } from "./endpoint.js";
import { KeeperClient } from "./keeper.js";
import { reapOrphans } from "./reap.js";
import type { PodmanOptions } from "./options.js";
import { placeSeccompProfile, seccompProfile } from "./seccomp.js";
import { chooseUserns, type Userns } from "./userns.js";
import { VERSION } from "./version.js";

/** The podman Sandbox: one hardened container per run, every command a streamed `podman exec`. */
export function createPodmanSandbox(options: PodmanOptions): Sandbox {
  const timeoutMs = options.engineTimeoutSeconds * 1000;
  // Where the engine is (endpoint.ts), resolved once; an endpoint corral will not use is what check() reports.
  let resolved: PodmanEngine | Error;
  try {
    resolved = PodmanEngine.of(options.podman, options);
  } catch (error) {
    resolved = error as Error;
  }
  const engine = (): PodmanEngine => {
    if (resolved instanceof Error) throw resolved;
    return resolved;
  };
  const remote = !(resolved instanceof Error) && resolved.remote;
  // Probed once per sandbox: whether podman works, rootless or not, and its runtime do not change mid-run.
  let probe: ReturnType<typeof probePodman> | undefined;
  const probeOnce = () => {
    probe ??= probePodman(engine(), timeoutMs).then((result) => {
      if (!result.available) probe = undefined; // try again next time: the user may fix it
      return result;
    });
    return probe;
  };
  // The tightened seccomp profile, made once per sandbox from podman's own.
  let profile: Promise<string> | undefined;
  const profileOnce = (facts: PodmanFacts) => {
    profile ??= seccompProfile(facts, engine()).catch((error: unknown) => {
      profile = undefined;
      throw error;
    });
    return profile;
  };
  return {
    name: "podman",
    // Read when a run starts: the allowlist (and so the default network) needs root here.
    get capabilities() {
      // A remote engine's containers see none of this machine's files (auto copies); the allowlist is relayed over ssh.
      if (remote) return { filesystem: "isolated", network: ["host", "none", "bridge", "proxy"], workspaceLocality: "remote", copiedWorkspace: copiedWorkspaceCapability, attach: true } satisfies SandboxCapabilities;
      return { ...EgressBridge.capabilities(), copiedWorkspace: copiedWorkspaceCapability, attach: true };
    },
    async check() {
      if (resolved instanceof Error) return unavailableBecause(resolved);
      const result = await probeOnce();
      if (!result.available) return result;
      let userns: ReturnType<typeof chooseUserns>;
      try {
        userns = chooseUserns(options.userns, result);
        await profileOnce(result);
      } catch (error) {
        return unavailableBecause(error);
      }
      const image = await podmanCall(engine(), ["image", "exists", options.image], { timeoutMs });
      if (image.exitCode !== 0) return unavailableBecause(imageMissingError("podman", options.image));
      const better = `run corral as a normal user (rootless podman, keep-id), or let podman give it a user namespace: ${userns.why ?? "set userns: \"auto\""}`;
      const where = remote ? ` at ${engine().endpoint.display}, a remote engine (from ${engine().endpoint.source})` : "";
      return { available: true, detail: `podman ${result.version}${where}; ${agentIdentity(options.user, userns.userns, better)}` };
    },
    create: async (spec) => {
      const result = await probeOnce();
      if (!result.available) throw new SandboxUnavailableError("podman", result.reason, { hint: result.hint, ...(result.code ? { code: result.code } : {}) });
      return PodmanHandle.start(engine(), spec, options, result, await profileOnce(result));
    },
    image: options.image,
    // What `corral clean` and `corral image` call (core's optional capabilities), on the same engine.
    reap: async (reapOptions) => reapedContainers(await reapOrphans({ ...reapOptions, engineTimeoutSeconds: options.engineTimeoutSeconds, endpoint: engine() })),
    buildImage: (build) => buildImage({ ...build, endpoint: engine() }),
    removeImage: (tag) => removeImage(tag, { engineTimeoutSeconds: options.engineTimeoutSeconds, endpoint: engine() }),
  };
}

/**
 * The `podman run` flags for a plan: the keeper attached (its stdin is the orchestrator's pipe),
 * the container's and the keeper's ids in `runDir`, the user namespace, every hardening flag and
 * the `seccomp` profile file (seccomp.ts).
 */
export function podmanRunArgs(plan: ContainerPlan, options: { userns: Userns; runDir: string; seccomp: string; selinuxLabel?: "z" | "Z"; remote?: boolean }): string[] {
  // Never pull: the image is built locally, and a run must not fetch something else by that name.
  // No signal proxying: the keeper ends by its stdin, not by what reaches the client.
  // A remote engine writes the pidfile on its own host (the cidfile is the client's): its pid comes from inspect.
  const args = ["run", "--rm", "--interactive", "--sig-proxy=false", "--pull=never", "--name", plan.name, "--cidfile", join(options.runDir, "cid"), ...(options.remote ? [] : ["--pidfile", join(options.runDir, "pid")])];
  if (plan.init) args.push("--init");
  // auto: a range big enough for every uid an image uses (the keeper is 65534).
  if (options.userns !== "host") args.push(options.userns === "auto" ? "--userns=auto:size=65536" : `--userns=${options.userns}`);
  args.push("--user", plan.keeperUser, "--workdir", "/");
  for (const [key, value] of Object.entries(plan.labels)) args.push("--label", `${key}=${value}`);
  if (plan.readOnlyRoot) args.push("--read-only", "--read-only-tmpfs=false");
  for (const cap of plan.capDrop) args.push("--cap-drop", cap);
  for (const cap of plan.capAdd) args.push("--cap-add", cap);
  if (plan.noNewPrivileges) args.push("--security-opt", "no-new-privileges");
  args.push("--security-opt", `seccomp=${options.seccomp}`);
  for (const [path, mountOptions] of Object.entries(plan.tmpfs)) args.push("--tmpfs", mountOptions ? `${path}:${mountOptions}` : path);
  const relabel = options.selinuxLabel === "Z" ? ",relabel=private" : options.selinuxLabel === "z" ? ",relabel=shared" : "";
  // In a private user namespace the host's files are shown with their host owners (idmapped).
  const idmap = options.userns === "auto" ? ",idmap" : "";
  for (const mount of plan.mounts) {
    // --mount is comma-separated: a comma in a path would be read as another option.
    if (mount.source.includes(",") || mount.target.includes(",")) {
      throw new UsageError(`podman cannot bind-mount a path with a comma in it: ${mount.source}`, { hint: "Rename the folder, or use the docker sandbox." });
    }
    args.push("--mount", `type=bind,source=${mount.source},target=${mount.target}${mount.readonly ? ",ro=true" : ""}${relabel}${idmap}`);
  }
  args.push("--network", plan.network);
  if (plan.memoryBytes) args.push("--memory", `${plan.memoryBytes}b`, "--memory-swap", `${plan.memorySwapBytes ?? plan.memoryBytes}b`);
  if (plan.nanoCpus) args.push("--cpus", String(plan.nanoCpus / 1e9));
  if (plan.pidsLimit) args.push("--pids-limit", String(plan.pidsLimit));
  // The image's own ENTRYPOINT would otherwise wrap the keeper.
  args.push("--entrypoint", plan.command[0]!, plan.image, ...plan.command.slice(1));
  return args;
}

/**
 * `podman exec --interactive` drops the output of a command that exits without reading all of its
 * stdin (in about a third of short execs here, podman 4.3): a command agent that takes its prompt as
 * an argument lost its only line. The command runs under a shell that reads what is left of stdin
 * after it, so the exec ends only once podman has nothing more to send; its exit status is kept.
 */
function drainingStdin(argv: readonly string[]): string[] {
  return ["/bin/sh", "-c", '"$@"; status=$?; { cat || while read -r _; do :; done; } >/dev/null 2>&1; exit $status', "corral-exec", ...argv];
}

/**
 * The exec's env as podman reads it (`--env-file`): a file unlinked as soon as it is created, before
 * anything is written to it, which podman opens through corral's own descriptor. So no secret ever
 * rests on disk, not even after a SIGKILL (the kernel frees the file with corral's last descriptor),
 * and no value appears on a command line.
 */
async function envFile(dir: string, env: Record<string, string>): Promise<{ path: string; close: () => Promise<void> }> {
  const path = join(dir, `${randomBytes(6).toString("hex")}.env`);
  const file = await open(path, "wx", 0o600);
  try {
    await unlink(path);
    await file.writeFile(Object.entries(env).map(([key, value]) => `${key}=${value}\n`).join(""));
  } catch (error) {
    await file.close();
    throw error;
  }
  return { path: `/proc/${process.pid}/fd/${file.fd}`, close: () => file.close() };
}

class PodmanHandle implements SandboxHandle {
  readonly id: string;
  readonly #engine: PodmanEngine;
  readonly #options: PodmanOptions;
  readonly #plan: ContainerPlan;
  /** The run's private folder (0700): podman's and conmon's cwd (they drop files there), the ids files, the env files' names. */
  readonly #runDir: string;
  readonly #keeper: KeeperClient;
  readonly #processes: AgentProcesses;
  readonly #wallDeadline: number | undefined;
  /** Closed and idempotent close(); the container's keeper enforces the wall clock, and removing it ends the execs. */
  readonly #lifecycle: HandleLifecycle;

  /** The proxy's ports inside the container, for a `proxy` network. */
  readonly #bridge: { stop(): void } | undefined;

  private constructor(engine: PodmanEngine, id: string, options: PodmanOptions, plan: ContainerPlan, runDir: string, keeper: KeeperClient, wallDeadline: number | undefined, cgroup: ContainerCgroup | undefined, bridge: { stop(): void } | undefined) {
    this.#bridge = bridge;
    this.#engine = engine;
    this.id = id;
    this.#options = options;
    this.#plan = plan;
    this.#runDir = runDir;
    this.#keeper = keeper;
    this.#wallDeadline = wallDeadline;
    this.#processes = new AgentProcesses({
      graceMs: options.killGraceSeconds * 1000,
      keepBackground: options.keepBackgroundProcesses,
      sweep: (signal) => this.#sweep(signal),
      ...(cgroup ? { leftovers: async () => (await cgroup.agentPids()).length > 0 } : {}),
    });
    this.#lifecycle = new HandleLifecycle({ sandbox: "podman", teardown: () => this.#remove() });
  }

  static async start(engine: PodmanEngine, spec: SandboxSpec, options: PodmanOptions, facts: PodmanFacts, seccomp: string): Promise<PodmanHandle> {
    const timeoutMs = options.engineTimeoutSeconds * 1000;
    const remote = engine.remote;
    // A remote engine cannot see this machine's files: copied workspace only, no host mounts (ADR 0430).
    if (remote) refuseHostPaths("podman", engine.endpoint.display, spec, options);
    const { userns } = chooseUserns(options.userns, facts, facts.subids === undefined ? undefined : () => facts.subids!);
    const planned = planContainer(spec, options, { version: VERSION, ...(options.user === "image" ? { imageUser: await imageUser(engine, options.image, timeoutMs) } : {}) });
    // On a remote engine the run's HOME is the container's own (a tmpfs), filled with a copy of it.
    const plan = remote ? remotePlan(planned, spec.home) : planned;
    const proxy = typeof spec.network === "object" && spec.network.mode === "proxy" ? spec.network : undefined;
    if (proxy && !remote) EgressBridge.requirements("podman"); // fail closed before anything is created
    if (plan.network === "bridge" && !facts.rootless) {
      // Rootful podman needs a bridge network; rootless gets slirp4netns/pasta, which always exists.
      const networks = await podmanCall(engine, ["network", "ls", "--format", "{{.Driver}}"], { timeoutMs });
      if (!networks.stdout.includes("bridge")) {
        throw new SandboxUnavailableError("podman", 'the network policy "bridge" cannot be had: podman has no bridge network', { hint: 'Create one (podman network create), or choose network "none" or "host".' });
      }
    }
    const runDir = await runTempDir("podman", spec.runId);
    const profile = await placeSeccompProfile(seccomp, runDir, engine).catch(async (error: unknown) => {
      await rm(runDir, { recursive: true, force: true });
      throw error;
    });
    const args = podmanRunArgs(plan, { userns, runDir, seccomp: profile.path, remote, ...(options.selinuxLabel ? { selinuxLabel: options.selinuxLabel } : {}) });
    // Start first and diagnose only on failure: every podman call costs a process start.
    const startedAt = Date.now();
    const started = await KeeperClient.start(engine, args, { cwd: runDir, timeoutMs }).finally(() => profile.remove());
    if ("failed" in started) {
      await podmanCall(engine, ["rm", "--force", "--time", "0", plan.name], { timeoutMs }).catch(() => {});
      await rm(runDir, { recursive: true, force: true });
      const image = await podmanCall(engine, ["image", "exists", plan.image], { timeoutMs });
      if (image.exitCode === 1) throw imageMissingError("podman", plan.image);
      throw new SandboxError(`Could not start the podman container for run ${spec.runId}: ${podmanError(started.failed)}`, {
        code: "E_SANDBOX_START",
        hint: "Read podman's message; check the image (it needs /bin/sh and sleep), the mounts, the limits and containers.conf (runtime, ulimits).",
      });
    }
    const id = (await readFile(join(runDir, "cid"), "utf8").catch(() => "")).trim() || plan.name;
    // A remote engine's pid is its host's: only the relay there (over ssh) uses it, never this machine's /proc.
    const initPid = remote
      ? Number((await podmanCall(engine, ["inspect", "--format", "{{.State.Pid}}", id], { timeoutMs })).stdout.join("").trim())
      : Number((await readFile(join(runDir, "pid"), "utf8").catch(() => "")).trim());
    const abandon = async () => {
      await podmanCall(engine, ["rm", "--force", "--time", "0", id], { timeoutMs }).catch(() => {});
      await started.client.stop(timeoutMs);
      await rm(runDir, { recursive: true, force: true });
    };
    let bridge: { stop(): void } | undefined;
    if (proxy) {
      try {
        if (remote) {
          if (!Number.isInteger(initPid) || initPid <= 0) throw new SandboxError("podman did not report the container's process, so the egress proxy cannot be brought in.", { code: "E_SANDBOX_START" });
          bridge = await engine.endpoint.ssh!.connection.relayEgress(initPid, proxy).catch((error: unknown) => {
            throw new SandboxUnavailableError("podman", `the egress proxy could not be relayed to the engine at ${engine.endpoint.display}: ${(error as Error).message}.`, { hint: "The ssh login needs root on the engine's host (nsenter), and socat there.", cause: error });
          });
        } else bridge = await EgressBridge.start("podman", initPid, proxy);
      } catch (error) {
        await abandon();
        throw error;
      }
    }
    // The remote engine's host is asked through the ssh connection's long-lived shell (~1 ms a question), far cheaper than a sweep exec.
    const cgroup = await ContainerCgroup.find(initPid, id, remote ? remoteCgroupReader((command) => engine.endpoint.ssh!.connection.ask(command)) : undefined);
    const handle = new PodmanHandle(engine, id, options, plan, runDir, started.client, wallClockDeadline(startedAt, spec.limits.wallSeconds), cgroup, bridge);
    if (remote) await shipRunHome(spec.home, (tar, path) => handle.#untar(tar, path), () => handle.close());
    return handle;
  }

  /**
   * `podman exec --interactive --tty` with the caller's terminal (`SandboxHandle.attach`): the exec's
   * user, env file (never argv) and workdir as `exec`, a pty of podman's own (so TIOCSTI reaches only
   * that pty, never the caller's terminal); stopped like an exec.
   */
  async attach(argv: readonly string[], options: AttachOptions = {}): Promise<ExecResult> {
    this.#lifecycle.check(argv);
    if (options.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true };
    const env = this.#execEnv(options.env);
    const client = new AbortController();
    const watch = await this.#processes.begin({ ...(options.signal ? { signal: options.signal } : {}), cut: () => client.abort() });
    let file: Awaited<ReturnType<typeof envFile>> | undefined;
    try {
      if (watch.stopped) return { exitCode: null, signal: null, timedOut: false, aborted: watch.aborted };
      file = await envFile(this.#runDir, env);
      const tty = options.tty ?? process.stdin.isTTY === true;
      const ran = await spawnAttached(await this.#engine.argv(["exec", "--interactive", ...(tty ? ["--tty"] : []), "--user", this.#plan.user, "--env-file", file.path, "--workdir", options.cwd ?? this.#plan.workdir, this.id, ...argv]), {
        env: this.#engine.env(),
        cwd: this.#runDir,
        signal: client.signal,
      });
      if (this.#lifecycle.closed) return { ...ran, exitCode: null, signal: "SIGKILL", aborted: true };
      return { ...ran, ...(ran.exitCode === null ? {} : execStatus(ran.exitCode, watch.stopped)), aborted: watch.aborted };
    } finally {
      await file?.close();
      await watch.end();
    }
  }

  /** The env of one exec: the plan's and the exec's, each one line (podman's env file cannot carry more). */
  #execEnv(extra: Record<string, string> | undefined): Record<string, string> {
    const env = { ...this.#plan.env, ...extra };
    const badKey = Object.entries(env).find(([key, value]) => /[=\n]/.test(key) || !key || value.includes("\n"));
    if (badKey) throw new UsageError(`The env var ${JSON.stringify(badKey[0])} cannot be passed to podman: names must not contain "=" and values must be one line.`, { hint: "Remove or reformat it." });
    return env;
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.#lifecycle.check(argv);
    if (options.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true };
    const started = performance.now();
    const env = this.#execEnv(options.env);

    const client = new AbortController();
    const watch = await this.#processes.begin({
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      cut: () => client.abort(),
    });
    const result = (status: { exitCode: number | null; signal: string | null }, timedOut = watch.timedOut, aborted = watch.aborted): ExecResult => ({ ...status, timedOut, aborted, durationMs: performance.now() - started });
    let file: Awaited<ReturnType<typeof envFile>> | undefined;
    const podmanErrors: string[] = [];
    try {
      if (watch.stopped) return result({ exitCode: null, signal: null });
      file = await envFile(this.#runDir, env);
      const ran = await spawnStreaming(
        await this.#engine.argv(["exec", ...(options.stdin !== undefined ? ["--interactive"] : []), "--user", this.#plan.user, "--env-file", file.path, "--workdir", options.cwd ?? this.#plan.workdir, this.id, ...(options.stdin !== undefined ? drainingStdin(argv) : argv)]),
        {
          env: this.#engine.env(),
          // conmon drops files (e.g. `oom`) in its cwd: keep them in our private folder, not the user's.
          cwd: this.#runDir,
          ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
          signal: client.signal,
          ...(options.maxLineChars === undefined ? {} : { maxLineChars: options.maxLineChars }),
          onLine: (line, stream) => {
            if (stream === "stderr" && /^Error: /.test(line)) podmanErrors.push(line);
            options.onLine?.(line, stream);
          },
          // In blocks of whole lines when the caller takes them (ADR 0720); podman's own errors are looked for in them.
          ...(options.onLines ? { onLines: podmanBlocks(options.onLines, podmanErrors) } : {}),
        },
      );
      // spawnStreaming returns after both output streams drained; only then is the status read.
      // The container went away while it ran: corral removed it (close), or its wall-clock limit ended it.
      if (this.#lifecycle.closed) return result({ exitCode: null, signal: "SIGKILL" }, watch.timedOut, true);
      if (!watch.stopped && endedAtWallClock(this.#wallDeadline, podmanErrors.length ? null : ran.exitCode)) return result({ exitCode: null, signal: "SIGKILL" }, true);
      // The client was cut loose after the SIGKILL sweep: the command was killed.
      if (ran.exitCode === null && watch.stopped) return result({ exitCode: null, signal: "SIGKILL" });
      if (ran.exitCode === null) {
        throw new SandboxError(`podman exec was killed by ${ran.signal ?? "a signal"}, so the command's exit code is unknown.`, { code: "E_SANDBOX_EXIT_UNKNOWN", hint: "Something killed the podman client; retry the run." });
      }
      if (ran.exitCode === 125 && podmanErrors.length > 0) {
        throw new SandboxError(`podman could not run the command: ${podmanErrors.at(-1)!.replace(/^Error: /, "")}`, { code: "E_SANDBOX_EXEC", hint: "The container may be gone (wall-clock limit, podman rm); check `podman ps -a`." });
      }
      return result(execStatus(ran.exitCode, watch.stopped));
    } finally {
      await file?.close();
      await watch.end();
    }
  }

  /** Unpacks corral's archive under the copied-workspace root with the image's tar, as the agent's user (`SandboxHandle.putArchive`). */
  async putArchive(tar: AsyncIterable<Uint8Array>, path: string): Promise<void> {
    checkCopyPath(path);
    await this.#untar(tar, path);
  }

  /** Unpacks `tar` into the container's folder `path` with the image's tar, as the agent's user. */
  async #untar(tar: AsyncIterable<Uint8Array>, path: string): Promise<void> {
    this.#lifecycle.check(["tar"]);
    const [podman, ...args] = await this.#engine.argv(["exec", "--interactive", "--user", this.#plan.user, this.id, ...putArchiveArgv(path)]);
    const child = spawn(podman!, args, { cwd: this.#runDir, env: this.#engine.env(), stdio: ["pipe", "ignore", "pipe"] });
    const stderr: Buffer[] = [];
    child.stderr.on("data", (chunk: Buffer) => void (stderr.length < 64 && stderr.push(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    await pipeline(Readable.from(tar), child.stdin).catch(() => {});
    const code = await exited;
    if (code !== 0) throw new SandboxError(`Could not unpack the copied workspace in the podman container (exit ${code}): ${Buffer.concat(stderr).toString().trim().slice(0, 500)}`, { code: "E_WORKSPACE_COPY", hint: "The image needs tar, and a writable /tmp (the default tmpfs)." });
  }

  /** `path` as a tar from the image's own tar, as the agent's user (`SandboxHandle.getArchive`): hostile data, for core's reader. */
  async getArchive(path: string): Promise<AsyncIterable<Uint8Array>> {
    checkCopyPath(path);
    if (this.#lifecycle.closed) throw new SandboxError("This podman sandbox is closed.", { code: "E_SANDBOX_CLOSED", hint: "Create a new sandbox." });
    const [podman, ...args] = await this.#engine.argv(["exec", "--user", this.#plan.user, this.id, ...getArchiveArgv(path)]);
    const child = spawn(podman!, args, { cwd: this.#runDir, env: this.#engine.env(), stdio: ["ignore", "pipe", "pipe"] });
    const stderr: Buffer[] = [];
    child.stderr.on("data", (chunk: Buffer) => void (stderr.length < 64 && stderr.push(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    return (async function* () {
      try {
        yield* child.stdout as AsyncIterable<Uint8Array>;
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      const code = await exited;
      if (code !== 0) throw new SandboxError(`Could not read ${path} from the podman container (exit ${code}): ${Buffer.concat(stderr).toString().trim().slice(0, 500)}`, { code: "E_WORKSPACE_COPY" });
    })();
  }

  /** One sweep of the agent's processes (processes.ts): an exec as the agent's user, waited for. */
  async #sweep(signal: SweepSignal): Promise<void> {
    if (this.#lifecycle.closed || this.#keeper.gone) return; // removing the container kills everything anyway
    await podmanCall(this.#engine, ["exec", "--user", this.#plan.user, this.id, ...sweepArgv(signal)], { timeoutMs: this.#options.engineTimeoutSeconds * 1000, cwd: this.#runDir });
  }

  /** Removes the container (killing everything in it). Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  /** close()'s teardown, run once. */
  async #remove(): Promise<void> {
    const timeoutMs = this.#options.engineTimeoutSeconds * 1000;
    const result = await podmanCall(this.#engine, ["rm", "--force", "--time", "0", this.id], { timeoutMs });
    // Also the dead-man's switch: were the removal to fail, the keeper ends the container.
    await this.#keeper.stop(timeoutMs);
    this.#bridge?.stop();
    await rm(this.#runDir, { recursive: true, force: true });
    if (result.exitCode !== 0 && !/no such container/i.test(result.stderr.join("\n")) && !(await this.#goneAfterKeeper(timeoutMs))) {
      throw new SandboxError(`Could not remove the podman container ${this.#plan.name}: ${podmanError(result)}`, {
        code: "E_SANDBOX_CLOSE",
        hint: `Run corral clean: it removes the container by its labels once podman can (or podman rm -f ${this.#plan.name}).`,
      });
    }
  }

  /** After a failed `podman rm`: whether the keeper's end took the container with it (`--rm`). Exit 1 of `container exists` means gone; anything else is not known to be. */
  async #goneAfterKeeper(timeoutMs: number): Promise<boolean> {
    const exists = await podmanCall(this.#engine, ["container", "exists", this.id], { timeoutMs });
    return exists.exitCode === 1;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The image's USER (empty: root), for `user: "image"`: execs name it, and the keeper must not be it. */
async function imageUser(engine: PodmanEngine, image: string, timeoutMs: number): Promise<string> {
  const result = await podmanCall(engine, ["image", "inspect", "--format", "{{.Config.User}}", image], { timeoutMs });
  if (result.exitCode !== 0) throw imageMissingError("podman", image);
  return result.stdout.join("").trim();
}

/** Passes blocks of output on, keeping podman's own `Error: ` lines of stderr (the command's exit 125 is read with them). */
function podmanBlocks(onLines: (block: string, stream: "stdout" | "stderr") => void, errors: string[]): (block: string, stream: "stdout" | "stderr") => void {
  return (block, stream) => {
    if (stream === "stderr" && (block.startsWith("Error: ") || block.includes("\nError: "))) {
      for (const line of block.slice(0, -1).split("\n")) if (line.startsWith("Error: ")) errors.push(line);
    }
    onLines(block, stream);
  };
}
