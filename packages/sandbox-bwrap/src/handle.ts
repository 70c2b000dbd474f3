import { rm } from "node:fs/promises";
import { SandboxError, type AttachOptions, type ExecOptions, type ExecResult, type SandboxHandle, type SandboxSpec } from "@corral/core";
import { HandleLifecycle, spawnAttached, spawnStreaming } from "@corral/core/plugin-kit";
import type { AppliedLimits, LimitName } from "./limits.js";

/** Which limits are in force for a sandbox, and by what. */
export interface LimitsInForce {
  /** The mechanism enforcing them; `none` when no mechanism is in use (nothing to limit, or best effort found none). */
  strategy: AppliedLimits["strategy"] | "none";
  /** The limits actually in force; `wallSeconds` is listed when the run set one (the handle's own clock enforces it). */
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
  /** This sandbox's id (`bwrap-<run id>-<pid>-<n>`), unique on this host: what events and the limit's cgroup or unit are named by. */
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
  readonly #lifecycle: HandleLifecycle;

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
    this.#lifecycle = new HandleLifecycle({
      sandbox: "bwrap",
      wallSeconds: wall,
      onWallClock: () => void this.#applied?.killAll(),
      // After every exec is over: the cgroup and the sandbox's /tmp.
      teardown: async () => {
        await this.#applied?.release().catch(() => {});
        await rm(this.#tmpDir, { recursive: true, force: true }).catch(() => {});
      },
    });
  }

  /** The full host argv of one exec (exposed for the benchmark and for debugging). */
  argvFor(argv: readonly string[], cwd = this.#spec.workspace.cwd, args = this.#args): string[] {
    const full = [this.#bwrap, ...args, "--chdir", cwd, "--", ...this.#prefix, ...argv];
    return this.#applied ? this.#applied.wrap(full) : full;
  }

  /**
   * Runs `argv` in the sandbox as one bwrap process, under the limits in force, streaming its lines
   * (`SandboxHandle.exec`). The env reaches it through bwrap's environment, never its argv. Refused
   * after `close()` or past the wall clock.
   */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.#lifecycle.run(argv, options, (signal) =>
      spawnStreaming(this.argvFor(argv, options.cwd), {
        ...options,
        cwd: "/",
        // The env goes through bwrap's own environment, never its argv: credentials stay out of `ps`.
        env: { ...this.#spec.env, ...options.env },
        extraFds: this.extraFds,
        signal,
      }),
    );
  }

  /**
   * Runs `argv` with the caller's terminal (`SandboxHandle.attach`): the same bwrap, mounts, env and
   * limits as `exec`, without `--new-session` (a new session has no controlling terminal, so no
   * job control or TUI). What `--new-session` guards against, the command pushing keystrokes into the
   * caller's terminal (TIOCSTI), the seccomp filter refuses; without the filter, attach is refused.
   */
  attach(argv: readonly string[], options: AttachOptions = {}): Promise<ExecResult> {
    const sessionless = this.#args.includes("--new-session");
    if (sessionless && !this.#args.includes("--seccomp")) {
      return Promise.reject(
        new SandboxError("bwrap cannot attach a terminal here: without --new-session only the seccomp filter stops the command pushing input into your terminal (TIOCSTI), and it is off.", {
          code: "E_ATTACH_UNSUPPORTED",
          hint: "Turn the bwrap option seccomp back on.",
        }),
      );
    }
    const args = sessionless ? this.#args.filter((arg) => arg !== "--new-session") : this.#args;
    return this.#lifecycle.run(argv, options.signal ? { signal: options.signal } : {}, (signal) =>
      spawnAttached(this.argvFor(argv, options.cwd, args), { cwd: "/", env: { ...this.#spec.env, ...options.env }, extraFds: this.extraFds, signal }),
    );
  }

  /** Kills every exec, removes the cgroup and the sandbox's /tmp. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
