import { SandboxError, spawnStreaming, type ExecOptions, type ExecResult, type SandboxHandle, type SandboxSpec } from "@corral/core";
import { commandArgv } from "./args.js";

/**
 * A live firejail sandbox. Each exec is one firejail process with the sandbox's fixed arguments;
 * the execs share the workspace and HOME. firejail's own pid namespace and
 * `--deterministic-shutdown` make sure nothing an exec started outlives it.
 */
export class FirejailSandboxHandle implements SandboxHandle {
  readonly id: string;
  readonly #spec: SandboxSpec;
  readonly #firejail: string;
  readonly #args: readonly string[];
  readonly #running = new Set<AbortController>();
  readonly #settled = new Set<Promise<unknown>>();
  #wallTimer: NodeJS.Timeout | undefined;
  #wallExpired = false;
  #closing: Promise<void> | undefined;

  constructor(init: { id: string; spec: SandboxSpec; firejail: string; args: readonly string[] }) {
    this.id = init.id;
    this.#spec = init.spec;
    this.#firejail = init.firejail;
    this.#args = init.args;
    const wall = init.spec.limits.wallSeconds;
    if (wall) {
      this.#wallTimer = setTimeout(() => {
        this.#wallExpired = true;
        for (const controller of this.#running) controller.abort();
      }, wall * 1000);
      this.#wallTimer.unref();
    }
  }

  /** The full host argv of one exec (for debugging). */
  argvFor(argv: readonly string[], env: Record<string, string> = this.#spec.env): string[] {
    return [this.#firejail, ...this.#args, "--", ...commandArgv(argv, env)];
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (this.#closing) throw new SandboxError("This firejail sandbox is closed.", { code: "E_SANDBOX_CLOSED", hint: "Create a new sandbox." });
    if (this.#wallExpired) {
      throw new SandboxError(`The sandbox used up its wall-clock limit (limits.wallSeconds = ${this.#spec.limits.wallSeconds}).`, {
        code: "E_WALL_CLOCK",
        hint: "Raise limits.wallSeconds or split the work into shorter runs.",
      });
    }
    if (argv.length === 0) throw new TypeError("exec needs a non-empty argv");
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) controller.abort();
    this.#running.add(controller);
    const env = { ...this.#spec.env, ...options.env };
    // The env reaches the command through firejail's own environment, never argv: credentials stay out of `ps`.
    const execution = spawnStreaming(this.argvFor(argv, env), { ...options, cwd: options.cwd ?? this.#spec.workspace.cwd, env, signal: controller.signal });
    this.#settled.add(execution);
    try {
      const result = await execution;
      if (this.#wallExpired && result.aborted && !options.signal?.aborted) return { ...result, aborted: false, timedOut: true };
      return result;
    } finally {
      this.#settled.delete(execution);
      this.#running.delete(controller);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Stops every running exec. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#wallTimer) clearTimeout(this.#wallTimer);
      for (const controller of this.#running) controller.abort();
      await Promise.allSettled([...this.#settled]);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
