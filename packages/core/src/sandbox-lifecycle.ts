import { linkAbort } from "./abort.js";
import { SandboxError } from "./errors.js";
import type { ExecOptions, ExecResult } from "./sandbox.js";

/** What a {@link HandleLifecycle} is told about its handle. */
export interface HandleLifecycleOptions {
  /** The sandbox's name, for its messages: "This bwrap sandbox is closed." */
  sandbox: string;
  /**
   * `limits.wallSeconds`, when the handle enforces it with the lifecycle's timer. Leave it out when
   * something else enforces it (a container's keeper ends the container itself).
   */
  wallSeconds?: number | undefined;
  /** Called once when the wall clock runs out, after every running exec was aborted (e.g. to kill a cgroup). */
  onWallClock?: () => void;
  /**
   * The handle's own cleanup, run once by the first `close()`: after the execs started with
   * `run()` are over (remove a cgroup, a folder), or as what ends them (remove a container).
   * Its rejection is `close()`'s.
   */
  teardown?: () => Promise<void>;
}

/**
 * The part of a `SandboxHandle` every sandbox shares, so each handle keeps only how it starts a
 * command and what it removes. It enforces these rules of the handle:
 *
 * - An exec after `close()` MUST fail with a SandboxError `E_SANDBOX_CLOSED` (`check`, `run`).
 * - An exec with an empty argv MUST fail (a TypeError) before anything runs.
 * - With a wall-clock limit (`wallSeconds`), when it passes every running exec MUST end and be
 *   reported `timedOut` (not `aborted`, unless the caller's own signal aborted it), and every exec
 *   after it MUST fail with `E_WALL_CLOCK`. The timer is unref'd: it never keeps the process alive.
 * - The caller's `signal` MUST stop the exec (`run` links it to the exec's own controller).
 * - `close()` MUST stop every running exec and is idempotent: every call returns the same promise,
 *   which settles only once the execs started with `run()` are over and the teardown is done.
 *   A handle's `[Symbol.asyncDispose]` is its `close()`.
 *
 * A handle whose commands are host processes starts each with `run()`. A handle whose commands end
 * only when its teardown removes their container starts them itself, after `check()`, and reads
 * `closed` to tell that close() ended them.
 */
export class HandleLifecycle {
  readonly #options: HandleLifecycleOptions;
  /** The controllers of the execs started with `run()` and not over yet. */
  readonly #running = new Set<AbortController>();
  /** Those execs themselves, which close() waits for. */
  readonly #settled = new Set<Promise<ExecResult>>();
  #wallTimer: NodeJS.Timeout | undefined;
  #wallExpired = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: HandleLifecycleOptions) {
    this.#options = options;
    if (options.wallSeconds) {
      this.#wallTimer = setTimeout(() => {
        this.#wallExpired = true;
        this.#abortAll();
        options.onWallClock?.();
      }, options.wallSeconds * 1000);
      this.#wallTimer.unref();
    }
  }

  /** Whether `close()` was called (true from the call on, before its promise settles). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the wall-clock limit has passed. */
  get wallClockExpired(): boolean {
    return this.#wallExpired;
  }

  /** Throws what an exec of `argv` must fail with now: `E_SANDBOX_CLOSED`, `E_WALL_CLOCK`, or a TypeError for an empty argv. */
  check(argv: readonly string[]): void {
    if (this.#closed) throw new SandboxError(`This ${this.#options.sandbox} sandbox is closed.`, { code: "E_SANDBOX_CLOSED", hint: "Create a new sandbox." });
    if (this.#wallExpired) {
      throw new SandboxError(`The sandbox used up its wall-clock limit (limits.wallSeconds = ${this.#options.wallSeconds}).`, {
        code: "E_WALL_CLOCK",
        hint: "Raise limits.wallSeconds or split the work into shorter runs.",
      });
    }
    if (argv.length === 0) throw new TypeError("exec needs a non-empty argv");
  }

  /**
   * Runs one exec of `argv`: `check`s it, then calls `start` (synchronously) with a signal that
   * aborts when the caller's `options.signal` does, when `close()` is called, or when the wall clock
   * runs out. `close()` waits for it. A result aborted by the wall clock (not by the caller) comes
   * back as `timedOut`.
   */
  async run(argv: readonly string[], options: ExecOptions, start: (signal: AbortSignal) => Promise<ExecResult>): Promise<ExecResult> {
    this.check(argv);
    const controller = new AbortController();
    const unlink = linkAbort(options.signal, controller);
    this.#running.add(controller);
    const execution = (async () => start(controller.signal))();
    this.#settled.add(execution);
    try {
      const result = await execution;
      // Stopped by the wall-clock limit rather than by the caller: report it as a timeout.
      if (this.#wallExpired && result.aborted && !options.signal?.aborted) return { ...result, aborted: false, timedOut: true };
      return result;
    } finally {
      this.#settled.delete(execution);
      this.#running.delete(controller);
      unlink();
    }
  }

  /** Stops the wall clock, aborts every running exec, waits for them, then runs the teardown. Idempotent: the same promise every time. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      if (this.#wallTimer) clearTimeout(this.#wallTimer);
      this.#abortAll();
      if (this.#settled.size > 0) await Promise.allSettled([...this.#settled]);
      await this.#options.teardown?.();
    })();
    return this.#closing;
  }

  #abortAll(): void {
    for (const controller of this.#running) controller.abort();
  }
}
