import { execa } from "execa";
import { LineSplitter } from "./lines.js";
import type { ExecOptions, ExecResult } from "./sandbox.js";

/** How `spawnStreaming` runs a host process: `ExecOptions`, with the child's whole env. */
export interface SpawnOptions extends ExecOptions {
  /** The full environment of the child. Nothing is inherited from the orchestrator. */
  env?: Record<string, string>;
  /** Grace period between SIGTERM and SIGKILL when stopping the process group. */
  killGraceMs?: number;
  /**
   * Data the child reads on file descriptors 3, 4, … in order: one pipe each, closed after the data
   * (e.g. the seccomp program for `bwrap --seccomp 3`). Without it only stdio is set up.
   */
  extraFds?: readonly Uint8Array[];
}

/**
 * Runs one argv (never a shell string) in its own process group and streams its stdout and
 * stderr line by line. On abort or timeout the whole group gets SIGTERM, then SIGKILL, so
 * nothing the command started outlives it. This is the one process runner core and the
 * CLI-driven sandbox plugins share.
 */
export async function spawnStreaming(argv: readonly string[], options: SpawnOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) throw new TypeError("spawnStreaming needs a non-empty argv");
  if (options.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true };

  const started = performance.now();
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env ?? {},
    extendEnv: false,
    detached: true, // a new process group, so we can kill everything the command starts
    // stdio as one list, so extra fds can follow stdin, stdout and stderr.
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe", ...(options.extraFds ?? [])],
    ...(options.stdin === undefined ? {} : { input: options.stdin }),
    buffer: false,
    reject: false,
    stripFinalNewline: false,
    encoding: "buffer",
  });

  let timedOut = false;
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stopGroup = () => {
    killGroup(child.pid, "SIGTERM");
    killTimer ??= setTimeout(() => killGroup(child.pid, "SIGKILL"), options.killGraceMs ?? 2000);
  };
  const onAbort = () => {
    aborted = true;
    stopGroup();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const timeout =
    options.timeoutMs && options.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          stopGroup();
        }, options.timeoutMs)
      : undefined;

  const streams = (["stdout", "stderr"] as const).map(
    (name) =>
      new Promise<void>((resolve) => {
        const stream = child[name];
        if (!stream) return resolve();
        const splitter = new LineSplitter((line) => options.onLine?.(line, name));
        stream.on("data", (chunk: Buffer) => splitter.push(chunk));
        stream.on("end", () => {
          splitter.end();
          resolve();
        });
        stream.on("error", () => resolve());
      }),
  );

  try {
    const result = await child;
    await Promise.all(streams);
    // The leader is gone; make sure no straggler in its group lingers (e.g. `sleep &`).
    killGroup(child.pid, "SIGKILL");
    if (result.failed && result.exitCode === undefined && !result.signal && !aborted && !timedOut) {
      // Could not start at all (ENOENT, EACCES): report as 127 like a shell, with the reason.
      options.onLine?.(`corral: cannot run ${file}: ${result.originalMessage ?? result.shortMessage}`, "stderr");
      return { exitCode: 127, signal: null, timedOut, aborted, durationMs: performance.now() - started };
    }
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      timedOut,
      aborted,
      durationMs: performance.now() - started,
    };
  } finally {
    if (timeout) clearTimeout(timeout);
    if (killTimer) clearTimeout(killTimer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** Signals a whole process group; a group that is already gone is fine. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left to kill.
  }
}
