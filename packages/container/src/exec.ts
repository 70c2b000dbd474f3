/**
 * What an exec's exit status means. Engines report a process killed by signal n as 128+n; when
 * corral stopped the exec (processes.ts), that is a kill by that signal, as on the host.
 */

const SIGNALS: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 9: "SIGKILL", 15: "SIGTERM" };

/** An exit status as the Sandbox interface reports it: 128+signal after corral stopped the exec is `exitCode: null, signal`. */
export function execStatus(code: number, stoppedByUs: boolean): { exitCode: number | null; signal: string | null } {
  const signal = code > 128 ? SIGNALS[code - 128] : undefined;
  if (stoppedByUs && signal) return { exitCode: null, signal };
  return { exitCode: code, signal: null };
}

/** When a container started at `startedAt` ends itself (the keeper's wall-clock limit), or undefined without one. */
export function wallClockDeadline(startedAt: number, wallSeconds: number | undefined): number | undefined {
  return wallSeconds === undefined ? undefined : startedAt + Math.ceil(wallSeconds) * 1000;
}

/** Whether an exec that was not stopped by corral ended because the wall-clock limit ended its container: killed, past the deadline. */
export function endedAtWallClock(deadline: number | undefined, code: number | null): boolean {
  return deadline !== undefined && Date.now() >= deadline && (code === null || code > 128);
}
