import { lstat, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { CorralError, SandboxError, type AttachOptions, type ExecOptions, type ExecResult, type SandboxHandle, type SandboxSpec } from "@corral/core";
import { extractTar, HandleLifecycle, packTar, safeArchivePath, spawnAttached, spawnStreaming, walkForTar } from "@corral/core/plugin-kit";
import { COPY_ROOT } from "./egress.js";
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
   * The host folder behind a sandbox path under the copied-workspace root (which is inside the
   * sandbox's /tmp, a private host folder of the run's). Every folder on the way is checked to be a
   * folder, not a symlink the agent made, so nothing outside the sandbox's /tmp is ever read or written.
   */
  async #hostPath(path: string): Promise<string> {
    if (this.#lifecycle.closed) throw new CorralError("E_SANDBOX_CLOSED", "This bwrap sandbox is closed.", { hint: "Create a new sandbox." });
    const rel = path.startsWith(`${COPY_ROOT}/`) || path === COPY_ROOT ? safeArchivePath(path.slice("/tmp/".length)) : undefined;
    if (!this.#spec.workspace.copy || !rel) throw new CorralError("E_SANDBOX_SPEC", `${path} is not under this sandbox's copied-workspace root ${COPY_ROOT}.`);
    let at = this.#tmpDir;
    const parts = rel.split("/");
    for (const [i, part] of parts.entries()) {
      at = join(at, part);
      const info = await lstat(at).catch(() => undefined);
      if (!info) {
        if (i === parts.length - 1) break;
        throw new CorralError("E_WORKSPACE_COPY", `${path} does not exist in the sandbox.`);
      }
      if (i < parts.length - 1 && !info.isDirectory()) throw new CorralError("E_ARCHIVE_UNSAFE", `${path} leads through something that is not a folder (a symlink the agent made?): nothing is read through it.`);
    }
    return at;
  }

  /** Unpacks corral's own archive into the sandbox's /tmp (`SandboxHandle.putArchive`). */
  async putArchive(tar: AsyncIterable<Uint8Array>, path: string): Promise<void> {
    const root = await this.#hostPath(path);
    await extractTar(tar, { place: (entry) => join(root, ...entry.path.split("/")), symlinks: "create" });
  }

  /** A file or folder of the sandbox's /tmp as a tar stream, walked without following symlinks (`SandboxHandle.getArchive`). */
  async getArchive(path: string): Promise<AsyncIterable<Uint8Array>> {
    const host = await this.#hostPath(path);
    await lstat(host).catch(() => {
      throw new CorralError("E_WORKSPACE_COPY", `${path} does not exist in the sandbox.`);
    });
    return packTar(walkForTar(host, basename(path)));
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
