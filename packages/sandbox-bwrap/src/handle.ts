import { rm } from "node:fs/promises";
import { SandboxError, spawnStreaming, type ExecOptions, type ExecResult, type SandboxHandle, type SandboxSpec } from "@corral/core";
import type { AppliedLimits, LimitName } from "./limits.js";

/** Which limits are in force for a sandbox, and by what. */
export interface LimitsInForce {
  strategy: AppliedLimits["strategy"] | "none";
  enforced: Array<LimitName | "wallSeconds">;
  /** Asked for with `bestEffortLimits`, or defaulted, but not in force here. */
  notEnforced: LimitName[];
  /** Which of the limits are the plugin's defaults rather than the run's (in force or not). */
  defaults: LimitName[];
}

/**
 * A live bwrap sandbox. Each exec is one bwrap process with the sandbox's fixed arguments; the
 * execs share the workspace, HOME, /tmp and (where a cgroup enforces limits) the limits.
 */
export class BwrapSandboxHandle implements SandboxHandle {
  readonly id: string;
  /** The limits in force and the mechanism enforcing them. */
  readonly limits: LimitsInForce;
  /**
   * The data each exec's bwrap reads on fd 3, 4, … (the seccomp program). Whoever runs `argvFor()`
   * itself must hand these over the same way (`spawnStreaming(argv, { extraFds })`).
   */
  readonly extraFds: readonly Uint8Array[];
  readonly #spec: SandboxSpec;
  readonly #bwrap: string;
  /** What runs first inside each exec (the egress forwarders of a `proxy` network). */
  readonly #prefix: readonly string[];
  readonly #args: readonly string[];
  readonly #tmpDir: string;
  readonly #applied: AppliedLimits | undefined;
  readonly #running = new Set<AbortController>();
  readonly #settled = new Set<Promise<unknown>>();
  #wallTimer: NodeJS.Timeout | undefined;
  #wallExpired = false;
  #closing: Promise<void> | undefined;

  constructor(init: {
    id: string;
    spec: SandboxSpec;
    bwrap: string;
    prefix?: readonly string[];
    args: readonly string[];
    tmpDir: string;
    seccomp?: Uint8Array;
    applied?: AppliedLimits;
    notEnforced: LimitName[];
    defaults: LimitName[];
  }) {
    this.id = init.id;
    this.extraFds = init.seccomp ? [init.seccomp] : [];
    this.#spec = init.spec;
    this.#bwrap = init.bwrap;
    this.#prefix = init.prefix ?? [];
    this.#args = init.args;
    this.#tmpDir = init.tmpDir;
    this.#applied = init.applied;
    const wall = init.spec.limits.wallSeconds;
    this.limits = {
      strategy: init.applied?.strategy ?? "none",
      enforced: [...(init.applied?.enforced ?? []), ...(wall ? (["wallSeconds"] as const) : [])],
      notEnforced: init.notEnforced,
      defaults: init.defaults,
    };
    if (wall) {
      this.#wallTimer = setTimeout(() => {
        this.#wallExpired = true;
        for (const controller of this.#running) controller.abort();
        void this.#applied?.killAll();
      }, wall * 1000);
      this.#wallTimer.unref();
    }
  }

  /** The full host argv of one exec (exposed for the benchmark and for debugging). */
  argvFor(argv: readonly string[], cwd = this.#spec.workspace.cwd): string[] {
    const full = [this.#bwrap, ...this.#args, "--chdir", cwd, "--", ...this.#prefix, ...argv];
    return this.#applied ? this.#applied.wrap(full) : full;
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (this.#closing) throw new SandboxError("This bwrap sandbox is closed.", { code: "E_SANDBOX_CLOSED", hint: "Create a new sandbox." });
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
    const execution = spawnStreaming(this.argvFor(argv, options.cwd), {
      ...options,
      cwd: "/",
      // The env goes through bwrap's own environment, never its argv: credentials stay out of `ps`.
      env: { ...this.#spec.env, ...options.env },
      extraFds: this.extraFds,
      signal: controller.signal,
    });
    this.#settled.add(execution);
    try {
      const result = await execution;
      // Stopped by the wall-clock limit rather than by the caller: report it as a timeout.
      if (this.#wallExpired && result.aborted && !options.signal?.aborted) return { ...result, aborted: false, timedOut: true };
      return result;
    } finally {
      this.#settled.delete(execution);
      this.#running.delete(controller);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Kills every exec, removes the cgroup and the sandbox's /tmp. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#wallTimer) clearTimeout(this.#wallTimer);
      for (const controller of this.#running) controller.abort();
      await Promise.allSettled([...this.#settled]);
      await this.#applied?.release().catch(() => {});
      await rm(this.#tmpDir, { recursive: true, force: true }).catch(() => {});
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
