import { LineSplitter, SandboxError, SandboxUnavailableError, type ExecOptions, type ExecResult, type Sandbox, type SandboxHandle, type SandboxSpec } from "@corral/core";
import { execStatus, killExecArgv, networkUnavailableError, planContainer, watchExec, wrapExec, type ContainerOptions, type ContainerPlan } from "@corral/core/container";
import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import type Docker from "dockerode";
import { dockerClients, statusOf, type DockerClients } from "./client.js";
import { assertImage, pingDocker } from "./engine.js";
import { VERSION } from "./version.js";

/** The docker Sandbox: one hardened container per run, every command a streamed exec in it. */
export function createDockerSandbox(options: ContainerOptions): Sandbox {
  const clients = dockerClients(options.engineTimeoutSeconds * 1000);
  return {
    name: "docker",
    async check() {
      const ping = await pingDocker(clients.control);
      if (!ping.available) return ping;
      try {
        await assertImage(clients.control, options.image);
      } catch (error) {
        const e = error as SandboxError;
        return { available: false, reason: e.message, ...(e.hint ? { hint: e.hint } : {}) };
      }
      return ping;
    },
    async create(spec) {
      return DockerHandle.start(clients, spec, options);
    },
  };
}

/** Maps the engine-agnostic plan onto docker's create request. */
export function dockerCreateOptions(plan: ContainerPlan): Docker.ContainerCreateOptions {
  return {
    name: plan.name,
    Image: plan.image,
    // The image's own ENTRYPOINT would otherwise wrap our idle command (docker joins the two).
    Entrypoint: plan.command.slice(0, 1),
    Cmd: plan.command.slice(1),
    ...(plan.user ? { User: plan.user } : {}),
    WorkingDir: plan.workdir,
    Labels: plan.labels,
    Env: [], // credentials travel with each exec, so `docker inspect` never shows them
    AttachStdin: false,
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
async function throwIfEngineDown(docker: Docker): Promise<void> {
  const ping = await pingDocker(docker);
  if (!ping.available) throw new SandboxUnavailableError("docker", ping.reason, { hint: ping.hint });
}

class DockerHandle implements SandboxHandle {
  readonly id: string;
  readonly #clients: DockerClients;
  readonly #container: Docker.Container;
  readonly #plan: ContainerPlan;
  readonly #graceMs: number;
  readonly #running = new Set<AbortController>();
  #closing: Promise<void> | undefined;

  private constructor(clients: DockerClients, container: Docker.Container, plan: ContainerPlan, graceMs: number) {
    this.#clients = clients;
    this.#container = container;
    this.#plan = plan;
    this.#graceMs = graceMs;
    this.id = container.id;
  }

  /** Preflight (engine, image, network), then create and start the container. */
  static async start(clients: DockerClients, spec: SandboxSpec, options: ContainerOptions): Promise<DockerHandle> {
    const plan = planContainer(spec, options, { version: VERSION });
    if (plan.network === "bridge") {
      await clients.control
        .getNetwork("bridge")
        .inspect()
        .catch(async (error: unknown) => {
          if (statusOf(error) !== 404) await throwIfEngineDown(clients.control);
          throw networkUnavailableError("docker", "bridge", statusOf(error) === 404 ? "this engine has no bridge network (dockerd --bridge=none?)" : String(error));
        });
    }
    // Create first and diagnose only on failure (engine down? image missing?): a start costs
    // one round trip less, and the diagnosis is the same.
    let container: Docker.Container | undefined;
    try {
      container = await clients.control.createContainer(dockerCreateOptions(plan));
      await container.start();
    } catch (error) {
      if (container) await container.remove({ force: true }).catch(() => {});
      await throwIfEngineDown(clients.control);
      if (!container && statusOf(error) === 404) await assertImage(clients.control, plan.image);
      throw new SandboxError(`Could not start the docker container for run ${spec.runId}: ${(error as Error).message}`, {
        code: "E_SANDBOX_START",
        hint: "Read the engine's message above; check the image (it needs /bin/sh and sleep), the mounts and the limits.",
        cause: error,
      });
    }
    return new DockerHandle(clients, container, plan, options.killGraceSeconds * 1000);
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (this.#closing) throw new SandboxError("This docker sandbox is closed.", { code: "E_SANDBOX_CLOSED", hint: "Create a new sandbox." });
    if (argv.length === 0) throw new TypeError("exec needs a non-empty argv");
    if (options.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true };
    const started = performance.now();
    const execId = randomBytes(6).toString("hex");
    const withStdin = options.stdin !== undefined;
    const env = { ...this.#plan.env, ...options.env };

    const exec = await this.#clients.control.getContainer(this.id).exec({
      Cmd: wrapExec(argv, execId),
      Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      WorkingDir: options.cwd ?? this.#plan.workdir,
      AttachStdin: withStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    // The stream client (no timeout): an agent may think quietly for minutes.
    const stream = (await this.#clients.stream.getExec(exec.id).start({ hijack: withStdin, stdin: withStdin, Tty: false })) as Duplex;

    const lifetime = new AbortController();
    this.#running.add(lifetime);
    const stopper = watchExec({
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      signal: AbortSignal.any([lifetime.signal, ...(options.signal ? [options.signal] : [])]),
      graceMs: this.#graceMs,
      kill: async (signal) => {
        await this.#runQuiet(killExecArgv(execId, signal));
        // Backstop: a stream that outlives SIGKILL (a setsid'd child holding it) is cut.
        if (signal === "KILL") setTimeout(() => stream.destroy(), 5000).unref();
      },
    });

    try {
      await new Promise<void>((resolve) => {
        const splitters = {
          stdout: new LineSplitter((line) => options.onLine?.(line, "stdout")),
          stderr: new LineSplitter((line) => options.onLine?.(line, "stderr")),
        };
        this.#clients.stream.modem.demuxStream(stream, { write: (chunk: Buffer) => splitters.stdout.push(chunk) } as never, { write: (chunk: Buffer) => splitters.stderr.push(chunk) } as never);
        const done = () => {
          splitters.stdout.end();
          splitters.stderr.end();
          resolve();
        };
        stream.once("end", done);
        stream.once("close", done);
        stream.once("error", done);
        if (withStdin) stream.end(options.stdin);
      });
      // Only now, with the output drained, is the exit code read.
      const code = await this.#exitCode(exec);
      // Removed by close() while it ran: everything in it was killed.
      if (code === undefined) return { exitCode: null, signal: "SIGKILL", timedOut: stopper.timedOut, aborted: true, durationMs: performance.now() - started };
      return { ...execStatus(code, stopper.stopping), timedOut: stopper.timedOut, aborted: stopper.aborted, durationMs: performance.now() - started };
    } finally {
      stopper.dispose();
      this.#running.delete(lifetime);
    }
  }

  /** The exec's exit code; the engine may need a moment to record it. Unknown is an error, never 0. */
  async #exitCode(exec: Docker.Exec): Promise<number | undefined> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = await exec.inspect().catch((error: unknown) => {
        if (this.#closing) return undefined;
        throw new SandboxError(`Could not read the exit code of a command in the docker sandbox: ${(error as Error).message}`, {
          code: "E_SANDBOX_EXIT_UNKNOWN",
          hint: "The container may have been removed while the command ran (wall-clock limit, `docker rm`, engine restart).",
          cause: error,
        });
      });
      if (!info) return undefined;
      if (!info.Running && typeof info.ExitCode === "number") return info.ExitCode;
      if (Date.now() > deadline) {
        throw new SandboxError("The docker engine did not report the exit code of a finished command.", {
          code: "E_SANDBOX_EXIT_UNKNOWN",
          hint: "The engine may be overloaded or restarting; retry the run.",
        });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Runs a short helper exec (the killer) and waits for it. */
  async #runQuiet(argv: string[]): Promise<void> {
    const exec = await this.#clients.control.getContainer(this.id).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, Tty: false });
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
    this.#closing ??= (async () => {
      for (const lifetime of this.#running) lifetime.abort();
      try {
        await this.#container.remove({ force: true });
      } catch (error) {
        // Gone already (AutoRemove after the wall-clock limit) or being removed: both fine.
        const status = statusOf(error);
        if (status !== 404 && status !== 409) {
          throw new SandboxError(`Could not remove the docker container ${this.#plan.name}: ${(error as Error).message}`, {
            code: "E_SANDBOX_CLOSE",
            hint: `Remove it by hand: docker rm -f ${this.#plan.name} (or run corral clean).`,
            cause: error,
          });
        }
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
