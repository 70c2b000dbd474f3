/**
 * How corral stops what the agent runs in a container (ADR 0404). The agent controls its process
 * tree and every file in the container: it can leave its process group (`setsid`), double-fork to
 * PID 1, ignore SIGTERM, rewrite any pid file. What it cannot change is its uid (every capability
 * dropped, no-new-privileges). So corral treats every process of the agent's user as one unit:
 *
 * - a stop (timeout, abort) sends SIGTERM to all of them, then SIGKILL after the grace period, or
 *   as soon as the stopped exec is over;
 * - when the last running exec is over, whatever it left behind is killed, so nothing an iteration
 *   started in the background runs into the next one (unless the user asked to keep it).
 *
 * Each signal is one `kill -1` from an exec corral starts as the agent's user: the kernel sends it
 * to every process that user may signal except PID 1 and the sender, atomically against fork. The
 * container's keeper runs as another user (keeper.ts), out of the agent's reach and of the sweep's.
 */

export type SweepSignal = "TERM" | "KILL";

/** The argv of a sweep: signals every process of the user it runs as, except PID 1 and itself. */
export function sweepArgv(signal: SweepSignal): string[] {
  return ["/bin/sh", "-c", `kill -${signal} -1 2>/dev/null; exit 0`];
}

/** How an `AgentProcesses` reaches into one container: the plugin supplies the engine calls. */
export interface AgentProcessesOptions {
  /** Runs `sweepArgv(signal)` as the agent's user in the container; resolves when it is over. */
  sweep: (signal: SweepSignal) => Promise<void>;
  /**
   * Whether the agent has any process left in the container, as the host kernel reports it
   * (cgroup.ts); undefined or absent when that cannot be told, and then corral sweeps anyway.
   */
  leftovers?: () => Promise<boolean | undefined>;
  /** SIGTERM → SIGKILL. */
  graceMs: number;
  /** Leave what an exec started in the background running for the next one. */
  keepBackground: boolean;
}

/** One exec, as the plugin sees it while it runs. */
export interface ExecWatch {
  /** Its `timeoutMs` passed and its processes were stopped: the plugin reports the exec as timed out. */
  readonly timedOut: boolean;
  /** Its signal aborted (before or while it ran): the plugin reports the exec as aborted. */
  readonly aborted: boolean;
  /**
   * corral signalled this exec's processes: its own stop, or another exec's (they share a user).
   * A plugin checks it just before starting the exec in the engine, and starts nothing when set.
   */
  readonly stopped: boolean;
  /** Call once, when the exec is over (also when it failed): when it was the last one, sweeps what it left. */
  end(): Promise<void>;
}

/** After the SIGKILL sweep, an exec whose stream still has not ended is cut loose by the plugin. */
const CUT_AFTER_KILL_MS = 5000;

interface Running {
  timedOut: boolean;
  aborted: boolean;
  stopped: boolean;
  cut?: () => void;
  cutTimer?: NodeJS.Timeout;
}

/** The agent's processes in one container: every exec begins and ends here. */
export class AgentProcesses {
  readonly #options: AgentProcessesOptions;
  readonly #running = new Set<Running>();
  /** A stop or a sweep under way; an exec that begins meanwhile waits for it, or it would be killed too. */
  #busy: Promise<void> | undefined;
  /** The stop under way: `endGrace` sends its SIGKILL now, `done` resolves after it. */
  #stopping: { endGrace: () => void; done: Promise<void> } | undefined;

  constructor(options: AgentProcessesOptions) {
    this.#options = options;
  }

  /**
   * Registers an exec about to start and watches its timeout and abort signal. `cut` ends the
   * plugin's side of the exec (its stream, its client) if that outlives the SIGKILL sweep.
   */
  async begin(options: { timeoutMs?: number; signal?: AbortSignal; cut?: () => void } = {}): Promise<ExecWatch> {
    while (this.#busy) await this.#busy;
    const state: Running = { timedOut: false, aborted: false, stopped: false, ...(options.cut ? { cut: options.cut } : {}) };
    this.#running.add(state);
    const onAbort = () => {
      state.aborted = true;
      this.#stop();
    };
    const timer =
      options.timeoutMs && options.timeoutMs > 0
        ? setTimeout(() => {
            state.timedOut = true;
            this.#stop();
          }, options.timeoutMs)
        : undefined;
    // Aborted while it waited: it never starts (the plugin checks `stopped`), so there is nothing to stop.
    if (options.signal?.aborted) Object.assign(state, { aborted: true, stopped: true });
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    let ended: Promise<void> | undefined;
    return {
      get timedOut() {
        return state.timedOut;
      },
      get aborted() {
        return state.aborted;
      },
      get stopped() {
        return state.stopped;
      },
      end: () =>
        (ended ??= (async () => {
          if (timer) clearTimeout(timer);
          if (state.cutTimer) clearTimeout(state.cutTimer);
          options.signal?.removeEventListener("abort", onAbort);
          this.#running.delete(state);
          await this.#afterExec();
        })()),
    };
  }

  /** SIGTERM to every process of the agent now; SIGKILL after the grace period, or when the last exec is over. */
  #stop(): void {
    for (const running of this.#running) running.stopped = true;
    if (this.#stopping) return; // the stop under way covers every exec
    const term = this.#options.sweep("TERM").catch(() => {});
    let endGrace!: () => void;
    const grace = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#options.graceMs);
      endGrace = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    const done = (async () => {
      await Promise.all([term, grace]);
      this.#stopping = undefined;
      await this.#options.sweep("KILL").catch(() => {});
      for (const running of this.#running) {
        if (running.stopped && running.cut && !running.cutTimer) {
          running.cutTimer = setTimeout(running.cut, CUT_AFTER_KILL_MS);
          running.cutTimer.unref();
        }
      }
    })();
    this.#stopping = { endGrace, done };
    this.#track(done);
  }

  /** When the last exec is over: finish a stop at once, or sweep what the exec left behind. */
  async #afterExec(): Promise<void> {
    if (this.#running.size > 0) return;
    if (this.#stopping) {
      this.#stopping.endGrace();
      return this.#stopping.done;
    }
    if (this.#options.keepBackground) return;
    const left = await (this.#options.leftovers?.() ?? Promise.resolve(undefined)).catch(() => undefined);
    if (left === false) return;
    const sweep = this.#options.sweep("KILL").catch(() => {});
    this.#track(sweep);
    await sweep;
  }

  /** Marks the container busy until `work` is done. */
  #track(work: Promise<void>): void {
    const busy = work.finally(() => {
      if (this.#busy === busy) this.#busy = undefined;
    });
    this.#busy = busy;
  }
}
