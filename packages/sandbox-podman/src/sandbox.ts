import { SandboxError, SandboxUnavailableError, UsageError, spawnStreaming, type ExecOptions, type ExecResult, type Sandbox, type SandboxHandle, type SandboxSpec } from "@corral/core";
import { execStatus, imageMissingError, killExecArgv, planContainer, watchExec, wrapExec, type ContainerPlan } from "@corral/core/container";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientEnv, podmanCall, podmanError, probePodman } from "./cli.js";
import type { PodmanOptions } from "./options.js";
import { VERSION } from "./version.js";

/** The podman Sandbox: one hardened container per run, every command a streamed `podman exec`. */
export function createPodmanSandbox(options: PodmanOptions): Sandbox {
  const timeoutMs = options.engineTimeoutSeconds * 1000;
  // Probed once per sandbox: whether podman works and runs rootless does not change mid-run.
  let probe: ReturnType<typeof probePodman> | undefined;
  const probeOnce = () => {
    probe ??= probePodman(options.podman, timeoutMs).then((result) => {
      if (!result.available) probe = undefined; // try again next time: the user may fix it
      return result;
    });
    return probe;
  };
  return {
    name: "podman",
    async check() {
      const result = await probeOnce();
      if (!result.available) return result;
      const image = await podmanCall(options.podman, ["image", "exists", options.image], { timeoutMs });
      if (image.exitCode !== 0) {
        const error = imageMissingError("podman", options.image);
        return { available: false, reason: error.message, ...(error.hint ? { hint: error.hint } : {}) };
      }
      return { available: true, detail: `podman ${result.version}` };
    },
    create: async (spec) => {
      const result = await probeOnce();
      if (!result.available) throw new SandboxUnavailableError("podman", result.reason, { hint: result.hint });
      return PodmanHandle.start(spec, options, result.rootless);
    },
  };
}

/**
 * The `podman run` flags for a plan. Rootless podman maps the host user with `--userns=keep-id`;
 * rootful podman gets the same `--user uid:gid` as docker.
 */
export function podmanRunArgs(plan: ContainerPlan, options: { rootless: boolean; selinuxLabel?: "z" | "Z" }): string[] {
  // Never pull: the image is built locally, and a run must not fetch something else by that name.
  const args = ["run", "--detach", "--rm", "--pull=never", "--name", plan.name];
  if (plan.init) args.push("--init");
  if (options.rootless) args.push("--userns=keep-id");
  if (plan.user) args.push("--user", plan.user);
  args.push("--workdir", plan.workdir);
  for (const [key, value] of Object.entries(plan.labels)) args.push("--label", `${key}=${value}`);
  if (plan.readOnlyRoot) args.push("--read-only", "--read-only-tmpfs=false");
  for (const cap of plan.capDrop) args.push("--cap-drop", cap);
  for (const cap of plan.capAdd) args.push("--cap-add", cap);
  if (plan.noNewPrivileges) args.push("--security-opt", "no-new-privileges");
  for (const [path, mountOptions] of Object.entries(plan.tmpfs)) args.push("--tmpfs", mountOptions ? `${path}:${mountOptions}` : path);
  const relabel = options.selinuxLabel === "Z" ? ",relabel=private" : options.selinuxLabel === "z" ? ",relabel=shared" : "";
  for (const mount of plan.mounts) {
    // --mount is comma-separated: a comma in a path would be read as another option.
    if (mount.source.includes(",") || mount.target.includes(",")) {
      throw new UsageError(`podman cannot bind-mount a path with a comma in it: ${mount.source}`, { hint: "Rename the folder, or use the docker sandbox." });
    }
    args.push("--mount", `type=bind,source=${mount.source},target=${mount.target}${mount.readonly ? ",ro=true" : ""}${relabel}`);
  }
  args.push("--network", plan.network);
  if (plan.memoryBytes) args.push("--memory", `${plan.memoryBytes}b`, "--memory-swap", `${plan.memorySwapBytes ?? plan.memoryBytes}b`);
  if (plan.nanoCpus) args.push("--cpus", String(plan.nanoCpus / 1e9));
  if (plan.pidsLimit) args.push("--pids-limit", String(plan.pidsLimit));
  // The image's own ENTRYPOINT would otherwise wrap our idle command.
  args.push("--entrypoint", plan.command[0]!, plan.image, ...plan.command.slice(1));
  return args;
}

class PodmanHandle implements SandboxHandle {
  readonly id: string;
  readonly #options: PodmanOptions;
  readonly #plan: ContainerPlan;
  /** A private (0700) folder for the per-exec env files: values never appear on a command line. */
  readonly #envDir: string;
  readonly #running = new Set<AbortController>();
  #closing: Promise<void> | undefined;

  private constructor(id: string, options: PodmanOptions, plan: ContainerPlan, envDir: string) {
    this.id = id;
    this.#options = options;
    this.#plan = plan;
    this.#envDir = envDir;
  }

  static async start(spec: SandboxSpec, options: PodmanOptions, rootless: boolean): Promise<PodmanHandle> {
    const timeoutMs = options.engineTimeoutSeconds * 1000;
    const plan = planContainer(spec, options, { version: VERSION });
    if (plan.network === "bridge" && !rootless) {
      // Rootful podman needs a bridge network; rootless gets slirp4netns/pasta, which always exists.
      const networks = await podmanCall(options.podman, ["network", "ls", "--format", "{{.Driver}}"], { timeoutMs });
      if (!networks.stdout.includes("bridge")) {
        throw new SandboxUnavailableError("podman", 'the network policy "bridge" cannot be had: podman has no bridge network', { hint: 'Create one (podman network create), or choose network "none" or "host".' });
      }
    }
    const args = podmanRunArgs(plan, { rootless, ...(options.selinuxLabel ? { selinuxLabel: options.selinuxLabel } : {}) });
    // A private folder for the per-exec env files, and the cwd of podman and its conmon, which
    // drop files there (`oom` after an OOM kill) that do not belong in the user's project.
    const envDir = await mkdtemp(join(tmpdir(), "corral-podman-"));
    // Start first and diagnose only on failure: every podman call costs a process start.
    const started = await podmanCall(options.podman, args, { timeoutMs, cwd: envDir });
    if (started.exitCode !== 0) {
      await rm(envDir, { recursive: true, force: true });
      await podmanCall(options.podman, ["rm", "--force", "--time", "0", plan.name], { timeoutMs }).catch(() => {});
      const image = await podmanCall(options.podman, ["image", "exists", plan.image], { timeoutMs });
      if (image.exitCode === 1) throw imageMissingError("podman", plan.image);
      throw new SandboxError(`Could not start the podman container for run ${spec.runId}: ${podmanError(started)}`, {
        code: "E_SANDBOX_START",
        hint: "Read podman's message; check the image (it needs /bin/sh and sleep), the mounts, the limits and containers.conf (runtime, ulimits).",
      });
    }
    return new PodmanHandle(started.stdout.at(-1)?.trim() || plan.name, options, plan, envDir);
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (this.#closing) throw new SandboxError("This podman sandbox is closed.", { code: "E_SANDBOX_CLOSED", hint: "Create a new sandbox." });
    if (argv.length === 0) throw new TypeError("exec needs a non-empty argv");
    if (options.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true };
    const execId = randomBytes(6).toString("hex");
    const env = { ...this.#plan.env, ...options.env };
    const envFile = join(this.#envDir, `${execId}.env`);
    const badKey = Object.entries(env).find(([key, value]) => /[=\n]/.test(key) || !key || value.includes("\n"));
    if (badKey) throw new UsageError(`The env var ${JSON.stringify(badKey[0])} cannot be passed to podman: names must not contain "=" and values must be one line.`, { hint: "Remove or reformat it." });
    await writeFile(envFile, Object.entries(env).map(([key, value]) => `${key}=${value}\n`).join(""), { mode: 0o600 });

    const lifetime = new AbortController();
    const client = new AbortController();
    this.#running.add(lifetime);
    const graceMs = this.#options.killGraceSeconds * 1000;
    const stopper = watchExec({
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      signal: AbortSignal.any([lifetime.signal, ...(options.signal ? [options.signal] : [])]),
      graceMs,
      kill: async (signal) => {
        await podmanCall(this.#options.podman, ["exec", this.id, ...killExecArgv(execId, signal)], { timeoutMs: this.#options.engineTimeoutSeconds * 1000, cwd: this.#envDir });
        // Backstop: a client still attached well after SIGKILL is cut loose.
        if (signal === "KILL") setTimeout(() => client.abort(), 5000).unref();
      },
    });
    const podmanErrors: string[] = [];
    try {
      const result = await spawnStreaming(
        [this.#options.podman, "exec", ...(options.stdin !== undefined ? ["--interactive"] : []), "--env-file", envFile, "--workdir", options.cwd ?? this.#plan.workdir, this.id, ...wrapExec(argv, execId)],
        {
          env: clientEnv(),
          // conmon drops files (e.g. `oom`) in its cwd: keep them in our private folder, not the user's.
          cwd: this.#envDir,
          ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
          signal: client.signal,
          onLine: (line, stream) => {
            if (stream === "stderr" && /^Error: /.test(line)) podmanErrors.push(line);
            options.onLine?.(line, stream);
          },
        },
      );
      // spawnStreaming returns after both output streams drained; only then is the status read.
      // Removed by close() while it ran: everything in it was killed.
      if (this.#closing) return { exitCode: null, signal: "SIGKILL", timedOut: stopper.timedOut, aborted: true, ...(result.durationMs !== undefined ? { durationMs: result.durationMs } : {}) };
      if (result.exitCode === null && !stopper.stopping) {
        throw new SandboxError(`podman exec was killed by ${result.signal ?? "a signal"}, so the command's exit code is unknown.`, { code: "E_SANDBOX_EXIT_UNKNOWN", hint: "Something killed the podman client; retry the run." });
      }
      if (result.exitCode === 125 && podmanErrors.length > 0) {
        throw new SandboxError(`podman could not run the command: ${podmanErrors.at(-1)!.replace(/^Error: /, "")}`, { code: "E_SANDBOX_EXEC", hint: "The container may be gone (wall-clock limit, podman rm); check `podman ps -a`." });
      }
      const status = result.exitCode === null ? { exitCode: null, signal: result.signal } : execStatus(result.exitCode, stopper.stopping);
      return { ...status, timedOut: stopper.timedOut, aborted: stopper.aborted, ...(result.durationMs !== undefined ? { durationMs: result.durationMs } : {}) };
    } finally {
      stopper.dispose();
      this.#running.delete(lifetime);
      await rm(envFile, { force: true });
    }
  }

  /** Removes the container (killing everything in it). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const lifetime of this.#running) lifetime.abort();
      const result = await podmanCall(this.#options.podman, ["rm", "--force", "--time", "0", this.id], { timeoutMs: this.#options.engineTimeoutSeconds * 1000 });
      await rm(this.#envDir, { recursive: true, force: true });
      if (result.exitCode !== 0 && !/no such container/i.test(result.stderr.join("\n"))) {
        throw new SandboxError(`Could not remove the podman container ${this.#plan.name}: ${podmanError(result)}`, {
          code: "E_SANDBOX_CLOSE",
          hint: `Remove it by hand: podman rm -f ${this.#plan.name} (or run corral clean).`,
        });
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
