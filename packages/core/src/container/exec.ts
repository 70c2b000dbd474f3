/**
 * Engines have no "kill this exec" call, so every exec runs under a tiny sh wrapper that writes
 * its pid (which runc makes a session and process-group leader) to a file on the container's
 * tmpfs, then execs the real argv. Stopping an exec is then a second exec that signals that
 * whole process group inside the container: the agent really stops, not just our stream.
 */

/** The argv that runs `argv` and records its pid under `id`. */
export function wrapExec(argv: readonly string[], id: string): string[] {
  return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', pidFile(id), ...argv];
}

/** The argv that sends `signal` to the process group of the exec `id` (and removes its pid file on KILL). */
export function killExecArgv(id: string, signal: "TERM" | "KILL"): string[] {
  return ["/bin/sh", "-c", `p=$(cat "$0" 2>/dev/null) || exit 0; kill -${signal} -"$p" 2>/dev/null || kill -${signal} "$p" 2>/dev/null; exit 0`, pidFile(id)];
}

function pidFile(id: string): string {
  // Straight in /tmp (the container's own tmpfs): no mkdir, so no extra process per exec.
  return `/tmp/.corral-exec-${id.replace(/[^a-zA-Z0-9_-]/g, "_")}.pid`;
}

const SIGNALS: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 9: "SIGKILL", 15: "SIGTERM" };

/**
 * An exit status as the Sandbox interface reports it: when corral stopped the exec and the
 * status is 128+signal, the process was killed by that signal (exitCode null), as on the host.
 */
export function execStatus(code: number, stoppedByUs: boolean): { exitCode: number | null; signal: string | null } {
  const signal = code > 128 ? SIGNALS[code - 128] : undefined;
  if (stoppedByUs && signal) return { exitCode: null, signal };
  return { exitCode: code, signal: null };
}

export interface ExecStopper {
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** True once corral asked the process to stop. */
  readonly stopping: boolean;
  /** Clears the timers; call when the exec is over. */
  dispose(): void;
}

/**
 * Watches an exec's timeout and abort signal and, when either fires, stops the process inside
 * the container: SIGTERM to its group, then SIGKILL after `graceMs`. `kill` runs the engine's exec.
 */
export function watchExec(options: { timeoutMs?: number; signal?: AbortSignal; graceMs: number; kill: (signal: "TERM" | "KILL") => Promise<void> }): ExecStopper {
  const state = { timedOut: false, aborted: false, stopping: false };
  let grace: NodeJS.Timeout | undefined;
  const stop = () => {
    if (state.stopping) return;
    state.stopping = true;
    void options.kill("TERM").catch(() => {});
    grace = setTimeout(() => void options.kill("KILL").catch(() => {}), options.graceMs);
  };
  const onAbort = () => {
    state.aborted = true;
    stop();
  };
  const timer =
    options.timeoutMs && options.timeoutMs > 0
      ? setTimeout(() => {
          state.timedOut = true;
          stop();
        }, options.timeoutMs)
      : undefined;
  options.signal?.addEventListener("abort", onAbort, { once: true });
  return {
    get timedOut() {
      return state.timedOut;
    },
    get aborted() {
      return state.aborted;
    },
    get stopping() {
      return state.stopping;
    },
    dispose() {
      if (timer) clearTimeout(timer);
      if (grace) clearTimeout(grace);
      options.signal?.removeEventListener("abort", onAbort);
    },
  };
}
