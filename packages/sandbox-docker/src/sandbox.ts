import { SandboxError, SandboxUnavailableError, unavailableBecause, type AttachOptions, type ExecOptions, type SandboxCapabilities, type ExecResult, type Sandbox, type SandboxHandle, type SandboxSpec } from "@corral/core";
import { HandleLifecycle, LineSplitter } from "@corral/core/plugin-kit";
import { AgentProcesses, agentLeftInTop, checkCopyPath, ContainerCgroup, remoteCgroupReader, copiedWorkspaceCapability, EgressBridge, getArchiveArgv, putArchiveArgv, refuseHostPaths, remotePlan, shipRunHome, type SshConnection, agentIdentity, endedAtWallClock, engineLostError, execStatus, networkUnavailableError, planContainer, reapedContainers, sweepArgv, wallClockDeadline, type ContainerOptions, type ContainerPlan, type SweepSignal, TOP_PS_ARGS } from "@corral/container";
import type { Socket } from "node:net";
import { PassThrough, Readable, type Duplex } from "node:stream";
import type Docker from "dockerode";
import { buildImage, removeImage } from "./build.js";
import { dockerClients, statusOf, type DockerClients } from "./client.js";
import { assertImage, daemonSecurity, imageUser, pingDocker } from "./engine.js";
import type { DockerOptions } from "./options.js";
import { SshDockerAgent } from "./ssh.js";
import { reapOrphans } from "./reap.js";
import { startExecRelay } from "./relay.js";
import { VERSION } from "./version.js";

/** The docker Sandbox: one hardened container per run, every command a streamed exec in it. */
export function createDockerSandbox(options: DockerOptions): Sandbox {
  // Where the engine is (endpoint.ts), resolved once; an endpoint corral will not use is what check() reports.
  let resolved: DockerClients | Error;
  try {
    resolved = dockerClients(options.engineTimeoutSeconds * 1000, options);
  } catch (error) {
    resolved = error as Error;
  }
  const engine = (): DockerClients => {
    if (resolved instanceof Error) throw resolved;
    return resolved;
  };
  const remote = !(resolved instanceof Error) && resolved.endpoint.locality === "remote";
  return {
    name: "docker",
    // Read when a run starts: the allowlist (and so the default network) needs root here.
    get capabilities() {
      return { ...(remote ? remoteCapabilities : EgressBridge.capabilities()), copiedWorkspace: copiedWorkspaceCapability, attach: true };
    },
    async check() {
      if (resolved instanceof Error) return unavailableBecause(resolved);
      const clients = resolved;
      const ping = await pingDocker(clients.control, clients.endpoint);
      if (!ping.available) return ping;
      try {
        await assertImage(clients.control, options.image);
      } catch (error) {
        return unavailableBecause(error);
      }
      const security = await daemonSecurity(clients.control);
      if (!security.seccomp) {
        return { available: false, reason: "dockerd runs containers without its seccomp profile, so an agent could create user namespaces.", hint: "Start dockerd with its default seccomp profile (no --seccomp-profile=unconfined)." };
      }
      // docker has no per-container user namespace, only the daemon-wide userns-remap.
      return { available: true, detail: `${ping.detail}; ${agentIdentity(options.user, security.usernsRemap ? "userns-remap" : undefined, "run corral as a normal user, and docker runs the agent as you")}` };
    },
    async create(spec) {
      return DockerHandle.start(engine(), spec, options);
    },
    // What `corral clean` and `corral image` call (core's optional capabilities), on the same engine.
    image: options.image,
    reap: async (reapOptions) => reapedContainers(await reapOrphans({ ...reapOptions, engineTimeoutSeconds: options.engineTimeoutSeconds, endpoint: engine().endpoint })),
    buildImage: (build) => buildImage(build, engine().endpoint),
    removeImage: (tag) => removeImage(tag, { engineTimeoutSeconds: options.engineTimeoutSeconds, endpoint: engine().endpoint }),
  };
}

/**
 * A remote engine's capabilities: its containers cannot see this machine's files (so `auto`
 * workspaces are copied); the egress bridge cannot enter their network namespace from here, so an
 * allowlist is relayed instead (over ssh on the engine's host, over tcp+TLS inside the container), and
 * a relay that cannot start fails the create (fail closed) rather than run unfiltered (ADR 0410).
 */
// Over ssh the proxy is relayed through the connection (ssh.ts); over tcp+TLS through exec streams into the container (relay.ts).
const remoteCapabilities: SandboxCapabilities = { filesystem: "isolated", network: ["host", "none", "bridge", "proxy"], workspaceLocality: "remote" };

/** The ssh agent of an ssh:// endpoint, which can relay the egress proxy. */
function sshRelay(clients: DockerClients): SshConnection | undefined {
  const agent = (clients.endpoint.connection as { agent?: unknown }).agent;
  return agent instanceof SshDockerAgent ? agent.connection : undefined;
}

/** Maps the engine-agnostic plan onto docker's create request. */
export function dockerCreateOptions(plan: ContainerPlan): Docker.ContainerCreateOptions {
  return {
    name: plan.name,
    Image: plan.image,
    // The image's own ENTRYPOINT would otherwise wrap the keeper (docker joins the two).
    Entrypoint: plan.command.slice(0, 1),
    Cmd: plan.command.slice(1),
    User: plan.keeperUser, // every exec names the agent's user
    WorkingDir: "/",
    Labels: plan.labels,
    Env: [], // credentials travel with each exec, so `docker inspect` never shows them
    // The keeper's stdin, attached to the orchestrator; closed by the engine when that connection goes.
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    HostConfig: {
      Init: plan.init,
      AutoRemove: true,
      ReadonlyRootfs: plan.readOnlyRoot,
      CapDrop: plan.capDrop,
      CapAdd: plan.capAdd,
      SecurityOpt: plan.noNewPrivileges ? ["no-new-privileges:true"] : [],
      Tmpfs: plan.tmpfs,
      Mounts: plan.mounts.map((m) => ({ Type: "bind" as const, Source: m.source, Target: m.target, ReadOnly: m.readonly })),
      NetworkMode: plan.network,
      ...(plan.memoryBytes ? { Memory: plan.memoryBytes, MemorySwap: plan.memorySwapBytes } : {}),
      ...(plan.nanoCpus ? { NanoCpus: plan.nanoCpus } : {}),
      ...(plan.pidsLimit ? { PidsLimit: plan.pidsLimit } : {}),
    },
  };
}

/** Throws SandboxUnavailableError (with the fix) when the engine does not answer. */
async function throwIfEngineDown(clients: DockerClients): Promise<void> {
  const ping = await pingDocker(clients.control, clients.endpoint);
  if (!ping.available) throw new SandboxUnavailableError("docker", ping.reason, { ...(ping.hint ? { hint: ping.hint } : {}), ...(ping.code ? { code: ping.code } : {}) });
}

class DockerHandle implements SandboxHandle {
  readonly id: string;
  readonly #clients: DockerClients;
  readonly #container: Docker.Container;
  readonly #plan: ContainerPlan;
  /** The keeper's stdin: while it is open, the container lives (keeper.ts). */
  readonly #keeper: Socket;
  readonly #processes: AgentProcesses;
  /** When the container ends on its own (limits.wallSeconds). */
  readonly #wallDeadline: number | undefined;
  /** Closed and idempotent close(); the container's keeper enforces the wall clock, and removing it ends the execs. */
  readonly #lifecycle: HandleLifecycle;

  /** The proxy's ports inside the container, for a `proxy` network. */
  readonly #bridge: { stop(): void } | undefined;

  private constructor(clients: DockerClients, container: Docker.Container, plan: ContainerPlan, keeper: Socket, options: DockerOptions, wallDeadline: number | undefined, leftovers: (() => Promise<boolean | undefined>) | undefined, bridge: { stop(): void } | undefined) {
    this.#bridge = bridge;
    this.#clients = clients;
    this.#container = container;
    this.#plan = plan;
    this.#keeper = keeper;
    this.id = container.id;
    this.#wallDeadline = wallDeadline;
    this.#processes = new AgentProcesses({
      graceMs: options.killGraceSeconds * 1000,
      keepBackground: options.keepBackgroundProcesses,
      sweep: (signal) => this.#sweep(signal),
      ...(leftovers ? { leftovers } : {}),
    });
    this.#lifecycle = new HandleLifecycle({ sandbox: "docker", teardown: () => this.#remove() });
  }

  /** Preflight (network), then create the container, attach the keeper's stdin and start it. */
  static async start(clients: DockerClients, spec: SandboxSpec, options: DockerOptions): Promise<DockerHandle> {
    const remote = clients.endpoint.locality === "remote";
    if (remote) refuseHostPaths("docker", clients.endpoint.display, spec, options);
    const planned = planContainer(spec, options, { version: VERSION, ...(options.user === "image" ? { imageUser: await imageUser(clients.control, options.image) } : {}) });
    // On a remote engine the run's HOME is the container's own (a tmpfs), filled with a copy of it.
    const plan: ContainerPlan = remote ? remotePlan(planned, spec.home) : planned;
    const proxy = typeof spec.network === "object" && spec.network.mode === "proxy" ? spec.network : undefined;
    const relay = remote ? sshRelay(clients) : undefined;
    if (proxy && !remote) EgressBridge.requirements("docker"); // fail closed before anything is created
    if (plan.network === "bridge") {
      await clients.control
        .getNetwork("bridge")
        .inspect()
        .catch(async (error: unknown) => {
          if (statusOf(error) !== 404) await throwIfEngineDown(clients);
          throw networkUnavailableError("docker", "bridge", statusOf(error) === 404 ? "this engine has no bridge network (dockerd --bridge=none?)" : String(error));
        });
    }
    // Create first and diagnose only on failure (engine down? image missing?): a start costs
    // one round trip less, and the diagnosis is the same.
    let container: Docker.Container | undefined;
    let keeper: Socket | undefined;
    const startedAt = Date.now();
    try {
      container = await clients.control.createContainer(dockerCreateOptions(plan));
      // Attached before the start, on the client without a timeout: this connection is the run's lifeline.
      keeper = (await clients.stream.getContainer(container.id).attach({ stream: true, stdin: true, stdout: false, stderr: false, hijack: true })) as Socket;
      keeper.on("error", () => {}); // its end is the container's end, which the execs report
      await container.start();
    } catch (error) {
      keeper?.destroy();
      if (container) await container.remove({ force: true }).catch(() => {});
      await throwIfEngineDown(clients);
      if (!container && statusOf(error) === 404) await assertImage(clients.control, plan.image);
      throw new SandboxError(`Could not start the docker container for run ${spec.runId}: ${(error as Error).message}`, {
        code: "E_SANDBOX_START",
        hint: "Read the engine's message above; check the image (it needs /bin/sh and sleep), the mounts and the limits.",
        cause: error,
      });
    }
    // An open sandbox does not keep the orchestrator's process alive; its exit ends the container.
    keeper.unref();
    const pid = await container
      .inspect()
      .then((info) => info.State.Pid)
      .catch(() => undefined);
    // Whether an exec left a process of the agent's (corral sweeps only then). A remote engine's pids are
    // another machine's: over ssh its host is asked (the connection's long-lived shell, ~1 ms a question);
    // over tcp+TLS the engine's own `top` of the container (one API call, pids and uids only).
    const cgroupReader = relay ? remoteCgroupReader((command) => relay.ask(command)) : undefined;
    const cgroup = pid && (!remote || cgroupReader) ? await ContainerCgroup.find(pid, container.id, cgroupReader).catch(() => undefined) : undefined;
    const leftovers = cgroup
      ? async () => (await cgroup.agentPids()).length > 0
      : remote && pid
        ? async () => agentLeftInTop(await container.top({ ps_args: TOP_PS_ARGS }), pid)
        : undefined;
    let bridge: { stop(): void } | undefined;
    if (proxy) {
      try {
        if (!pid) throw new SandboxError("docker did not report the container's process, so the egress proxy cannot be brought in.", { code: "E_SANDBOX_START" });
        bridge = relay
          ? await relay.relayEgress(pid, proxy).catch((error: unknown) => {
              throw new SandboxUnavailableError("docker", `the egress proxy could not be relayed to the engine at ${clients.endpoint.display}: ${(error as Error).message}.`, { hint: "The ssh login needs root on the engine's host (nsenter), and socat there.", cause: error });
            })
          : remote
            ? // tcp+TLS: through exec streams, as the keeper's user (not the agent's), before the agent runs.
              await startExecRelay(clients, container.id, plan.keeperUser, proxy)
            : await EgressBridge.start("docker", pid, proxy);
      } catch (error) {
        keeper.destroy();
        await container.remove({ force: true }).catch(() => {});
        throw error;
      }
    }
    const handle = new DockerHandle(clients, container, plan, keeper, options, wallClockDeadline(startedAt, spec.limits.wallSeconds), leftovers, bridge);
    if (remote) await shipRunHome(spec.home, (tar, path) => handle.#untar(tar, path), () => handle.close());
    return handle;
  }

  /**
   * The caller's terminal on an exec of the engine's (`SandboxHandle.attach`): the exec's user, env
   * (through the API, never an argv) and workdir as `exec`; with `tty`, a pty of docker's own (TIOCSTI
   * reaches only it), this terminal in raw mode and its size kept in step. Stopped like an exec.
   */
  async attach(argv: readonly string[], options: AttachOptions = {}): Promise<ExecResult> {
    this.#lifecycle.check(argv);
    if (options.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true };
    const started = performance.now();
    const tty = options.tty ?? process.stdin.isTTY === true;
    const env = { ...this.#plan.env, ...options.env };
    let stream: Duplex | undefined;
    const watch = await this.#processes.begin({ ...(options.signal ? { signal: options.signal } : {}), cut: () => stream?.destroy() });
    const stdin = process.stdin;
    const rawBefore = stdin.isTTY ? stdin.isRaw : undefined;
    let onResize: (() => void) | undefined;
    try {
      if (watch.stopped) return { exitCode: null, signal: null, timedOut: false, aborted: watch.aborted };
      const exec = await this.#clients.control.getContainer(this.id).exec({
        Cmd: [...argv],
        User: this.#plan.user,
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        WorkingDir: options.cwd ?? this.#plan.workdir,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: tty,
      });
      const output = (stream = (await this.#clients.stream.getExec(exec.id).start({ hijack: true, stdin: true, Tty: tty })) as Duplex);
      if (tty && stdin.isTTY) stdin.setRawMode(true);
      if (tty && process.stdout.isTTY) {
        onResize = () => void exec.resize({ h: process.stdout.rows, w: process.stdout.columns }).catch(() => {});
        process.stdout.on("resize", onResize);
        onResize();
      }
      const forward = (chunk: Buffer) => output.write(chunk);
      stdin.on("data", forward);
      stdin.once("end", () => output.end());
      stdin.resume();
      await new Promise<void>((resolve) => {
        if (tty) output.on("data", (chunk: Buffer) => process.stdout.write(chunk));
        else this.#clients.stream.modem.demuxStream(output, process.stdout, process.stderr);
        output.once("end", resolve);
        output.once("close", resolve);
        output.once("error", () => resolve());
      });
      stdin.off("data", forward);
      stdin.pause();
      const code = await this.#exitCode(exec, watch.stopped);
      const result = (status: { exitCode: number | null; signal: string | null }, aborted = watch.aborted): ExecResult => ({ ...status, timedOut: false, aborted, durationMs: performance.now() - started });
      if (this.#lifecycle.closed) return result({ exitCode: null, signal: "SIGKILL" }, true);
      return result(code === undefined ? { exitCode: null, signal: "SIGKILL" } : execStatus(code, watch.stopped));
    } catch (error) {
      throw await this.#diagnosed(error);
    } finally {
      if (onResize) process.stdout.off("resize", onResize);
      if (rawBefore !== undefined && stdin.isTTY) stdin.setRawMode(rawBefore);
      await watch.end();
    }
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.#lifecycle.check(argv);
    if (options.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true };
    const started = performance.now();
    const withStdin = options.stdin !== undefined;
    const env = { ...this.#plan.env, ...options.env };
    let stream: Duplex | undefined;
    const watch = await this.#processes.begin({
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      cut: () => stream?.destroy(),
    });
    const result = (status: { exitCode: number | null; signal: string | null }, timedOut = watch.timedOut, aborted = watch.aborted): ExecResult => ({ ...status, timedOut, aborted, durationMs: performance.now() - started });
    try {
      if (watch.stopped) return result({ exitCode: null, signal: null });
      const exec = await this.#clients.control.getContainer(this.id).exec({
        Cmd: [...argv],
        User: this.#plan.user,
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        WorkingDir: options.cwd ?? this.#plan.workdir,
        AttachStdin: withStdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      });
      // The stream client (no timeout): an agent may think quietly for minutes.
      const output = (stream = (await this.#clients.stream.getExec(exec.id).start({ hijack: withStdin, stdin: withStdin, Tty: false })) as Duplex);
      await new Promise<void>((resolve) => {
        const cap = options.maxLineChars === undefined ? {} : { maxLineChars: options.maxLineChars };
        // In blocks of whole lines when the caller takes them (ADR 0720; only a core that has them asks).
        const { onLines } = options;
        const splitter = (stream: "stdout" | "stderr") =>
          onLines ? LineSplitter.blocks((block) => onLines(block, stream), cap) : new LineSplitter((line) => options.onLine?.(line, stream), cap);
        const splitters = { stdout: splitter("stdout"), stderr: splitter("stderr") };
        this.#clients.stream.modem.demuxStream(output, { write: (chunk: Buffer) => splitters.stdout.push(chunk) } as never, { write: (chunk: Buffer) => splitters.stderr.push(chunk) } as never);
        const done = () => {
          splitters.stdout.end();
          splitters.stderr.end();
          resolve();
        };
        output.once("end", done);
        output.once("close", done);
        output.once("error", done);
        if (withStdin) output.end(options.stdin);
      });
      // Only now, with the output drained, is the exit code read.
      const code = await this.#exitCode(exec, watch.stopped);
      // Removed by close() while it ran: everything in it was killed.
      if (this.#lifecycle.closed) return result({ exitCode: null, signal: "SIGKILL" }, watch.timedOut, true);
      if (!watch.stopped && endedAtWallClock(this.#wallDeadline, code ?? null)) return result({ exitCode: null, signal: "SIGKILL" }, true);
      // Undefined: the container is gone (someone removed it), or corral stopped the command and the engine never said how it ended.
      return result(code === undefined ? { exitCode: null, signal: "SIGKILL" } : execStatus(code, watch.stopped));
    } catch (error) {
      throw await this.#diagnosed(error);
    } finally {
      await watch.end();
    }
  }

  /**
   * What an exec failed with, or, when the engine no longer answers (its socket gone mid-run: the
   * stream cut, an EPIPE, an unreadable exit code), the error that names the container and says how
   * to remove it later.
   */
  async #diagnosed(error: unknown): Promise<unknown> {
    if (this.#lifecycle.closed) return error;
    const ping = await pingDocker(this.#clients.control, this.#clients.endpoint);
    return ping.available ? error : engineLostError("docker", this.#plan.name, (error as Error).message ?? String(error), error);
  }

  /**
   * The exec's exit code; the engine may need a moment to record it. Undefined when the container is
   * gone (everything in it was killed), or when corral stopped the exec and the engine never reported
   * its end. Otherwise unknown is an error, never 0.
   */
  async #exitCode(exec: Docker.Exec, stopped: boolean): Promise<number | undefined> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = await exec.inspect().catch(async (error: unknown) => {
        if (this.#lifecycle.closed || (await this.#gone())) return undefined;
        throw new SandboxError(`Could not read the exit code of a command in the docker sandbox: ${(error as Error).message}`, {
          code: "E_SANDBOX_EXIT_UNKNOWN",
          hint: "The engine may be overloaded or restarting; retry the run.",
          cause: error,
        });
      });
      if (!info) return undefined;
      if (!info.Running && typeof info.ExitCode === "number") return info.ExitCode;
      if (Date.now() > deadline) {
        if (stopped) return undefined;
        throw new SandboxError("The docker engine did not report the exit code of a finished command.", {
          code: "E_SANDBOX_EXIT_UNKNOWN",
          hint: "The engine may be overloaded or restarting; retry the run.",
        });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Whether the container no longer exists (removed by close, by its wall-clock limit, or by someone). */
  async #gone(): Promise<boolean> {
    return this.#container.inspect().then(
      (info) => !info.State.Running,
      (error: unknown) => statusOf(error) === 404,
    );
  }

  /** Unpacks corral's archive under the copied-workspace root with the image's tar, as the agent's user (`SandboxHandle.putArchive`). */
  async putArchive(tar: AsyncIterable<Uint8Array>, path: string): Promise<void> {
    checkCopyPath(path);
    await this.#untar(tar, path);
  }

  /** Unpacks `tar` into the container's folder `path` with the image's tar, as the agent's user. */
  async #untar(tar: AsyncIterable<Uint8Array>, path: string): Promise<void> {
    this.#lifecycle.check(["tar"]);
    const exec = await this.#clients.control.getContainer(this.id).exec({ Cmd: putArchiveArgv(path), User: this.#plan.user, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false });
    const stream = (await this.#clients.stream.getExec(exec.id).start({ hijack: true, stdin: true, Tty: false })) as Duplex;
    const stderr: Buffer[] = [];
    const ended = new Promise<void>((resolve) => {
      this.#clients.stream.modem.demuxStream(stream, { write: () => true } as never, { write: (chunk: Buffer) => void (stderr.length < 64 && stderr.push(chunk)) } as never);
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", () => resolve());
    });
    // The hijacked socket stays open for the output: only the input half is ended.
    for await (const chunk of Readable.from(tar)) if (!stream.write(chunk)) await new Promise((r) => stream.once("drain", r));
    (stream as Duplex & { end: () => void }).end();
    await ended;
    const code = await this.#exitCode(exec, false);
    if (code !== 0) throw new SandboxError(`Could not unpack the copied workspace in the docker container (exit ${code}): ${Buffer.concat(stderr).toString().trim().slice(0, 500)}`, { code: "E_WORKSPACE_COPY", hint: "The image needs tar, and a writable /tmp (the default tmpfs)." });
  }

  /** `path` as a tar from the image's own tar, as the agent's user (`SandboxHandle.getArchive`): hostile data, for core's reader. */
  async getArchive(path: string): Promise<AsyncIterable<Uint8Array>> {
    checkCopyPath(path);
    if (this.#lifecycle.closed) throw new SandboxError("This docker sandbox is closed.", { code: "E_SANDBOX_CLOSED", hint: "Create a new sandbox." });
    const exec = await this.#clients.control.getContainer(this.id).exec({ Cmd: getArchiveArgv(path), User: this.#plan.user, AttachStdout: true, AttachStderr: true, Tty: false });
    const stream = (await this.#clients.stream.getExec(exec.id).start({ hijack: false, stdin: false, Tty: false })) as Duplex;
    const stdout = new PassThrough();
    const stderr: Buffer[] = [];
    this.#clients.stream.modem.demuxStream(stream, stdout, { write: (chunk: Buffer) => void (stderr.length < 64 && stderr.push(chunk)) } as never);
    const done = () => stdout.end();
    stream.once("end", done);
    stream.once("close", done);
    stream.once("error", (error: Error) => stdout.destroy(error));
    const exitCode = (exec2: Docker.Exec) => this.#exitCode(exec2, false);
    return (async function* () {
      try {
        yield* stdout as AsyncIterable<Uint8Array>;
      } finally {
        stream.destroy();
      }
      const code = await exitCode(exec);
      if (code !== 0) throw new SandboxError(`Could not read ${path} from the docker container (exit ${code}): ${Buffer.concat(stderr).toString().trim().slice(0, 500)}`, { code: "E_WORKSPACE_COPY" });
    })();
  }

  /** One sweep of the agent's processes (processes.ts): an exec as the agent's user, waited for. */
  async #sweep(signal: SweepSignal): Promise<void> {
    if (this.#lifecycle.closed) return; // removing the container kills everything anyway
    const exec = await this.#clients.control.getContainer(this.id).exec({ Cmd: sweepArgv(signal), User: this.#plan.user, AttachStdout: true, AttachStderr: true, Tty: false });
    const stream = (await exec.start({ hijack: false, stdin: false, Tty: false })) as Duplex;
    await new Promise<void>((resolve) => {
      stream.on("data", () => {});
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", () => resolve());
    });
  }

  /** Removes the container (killing everything in it). Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  /** close()'s teardown, run once. */
  async #remove(): Promise<void> {
    try {
      await this.#container.remove({ force: true });
    } catch (error) {
      // Gone already (AutoRemove after the wall-clock limit) or being removed: both fine.
      const status = statusOf(error);
      if (status !== 404 && status !== 409) {
        throw new SandboxError(`Could not remove the docker container ${this.#plan.name}: ${(error as Error).message}`, {
          code: "E_SANDBOX_CLOSE",
          hint: `Run corral clean once the engine answers: it removes the container by its labels (or docker rm -f ${this.#plan.name}).`,
          cause: error,
        });
      }
    } finally {
      // Also the dead-man's switch: were the removal to fail, the keeper ends the container.
      this.#keeper.destroy();
      this.#bridge?.stop();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
