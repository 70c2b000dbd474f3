import { spawn, type ChildProcess } from "node:child_process";
import type { Writable } from "node:stream";
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
  // corral's own lines (a command that cannot run) go the way the output goes: blocks or lines.
  const say = (line: string) => (options.onLines ? options.onLines(`${line}\n`, "stderr") : options.onLine?.(line, "stderr"));
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? {},
      detached: true, // a new process group, so we can kill everything the command starts
      // stdio as one list, so extra fds can follow stdin, stdout and stderr.
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe", ...(options.extraFds ?? []).map(() => "pipe" as const)],
    });
  } catch (error) {
    // Synchronous refusals (an argument with a NUL byte, a bad cwd type): the command never ran.
    say(`corral: cannot run ${file}: ${(error as Error).message}`);
    return { exitCode: 127, signal: null, timedOut: false, aborted: false, durationMs: performance.now() - started };
  }
  // Data for stdin and the extra fds: written once, then closed. A child that exits without
  // reading gets EPIPE on our side, which is not an error of the run.
  const feed = (stream: Writable | null | undefined, data: string | Uint8Array) => {
    if (!stream) return;
    stream.on("error", () => {});
    stream.end(data);
  };
  if (options.stdin !== undefined) feed(child.stdin, options.stdin);
  options.extraFds?.forEach((data, i) => feed(child.stdio[3 + i] as Writable | null, data));

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
        const splitter = lineSplitterFor(options, name);
        stream.on("data", (chunk: Buffer) => splitter.push(chunk));
        stream.on("end", () => {
          splitter.end();
          resolve();
        });
        stream.on("error", () => resolve());
      }),
  );
  // "close" comes after the exit and after stdio closed; "error" alone when it never started.
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: Error }>((resolve) => {
    child.once("error", (error) => resolve({ error }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });

  try {
    const result = await ended;
    if ("error" in result) {
      // Could not start at all (ENOENT, EACCES): report as 127 like a shell, with the reason.
      child.stdout?.destroy();
      child.stderr?.destroy();
      if (!aborted && !timedOut) {
        say(`corral: cannot run ${file}: ${result.error.message}`);
        return { exitCode: 127, signal: null, timedOut, aborted, durationMs: performance.now() - started };
      }
      return { exitCode: null, signal: null, timedOut, aborted, durationMs: performance.now() - started };
    }
    await Promise.all(streams);
    // The leader is gone; make sure no straggler in its group lingers (e.g. `sleep &`).
    killGroup(child.pid, "SIGKILL");
    return {
      exitCode: result.code,
      signal: result.signal,
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

/**
 * The splitter for one output stream of an exec: it hands the lines to `options.onLines` in blocks
 * when given (ADR 0720), to `options.onLine` one by one otherwise, cut at `options.maxLineChars`.
 * The one way a sandbox turns a stream of bytes into what `ExecOptions` asks for.
 */
export function lineSplitterFor(options: Pick<ExecOptions, "onLine" | "onLines" | "maxLineChars">, stream: "stdout" | "stderr"): LineSplitter {
  const cap = options.maxLineChars === undefined ? {} : { maxLineChars: options.maxLineChars };
  const { onLines, onLine } = options;
  if (onLines) return LineSplitter.blocks((block) => onLines(block, stream), cap);
  return new LineSplitter(onLine ? (line) => onLine(line, stream) : () => {}, cap);
}

/** What `capture` returns: the child's whole stdout and stderr, and how it ended. */
export interface Captured {
  stdout: string;
  stderr: string;
  /** The exit code; null when killed by a signal or when it could not start. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why it could not start (ENOENT, EACCES), if it did not. */
  error?: Error;
}

/**
 * Runs one argv to completion and returns its output as text (the final newline kept): for the
 * short host-side tools core runs (git, cp). Only `env` reaches the child; stdin is `input` or
 * nothing. Output for the agent's commands goes through `spawnStreaming` instead.
 */
export function capture(argv: readonly string[], options: { cwd?: string; env: Record<string, string>; input?: string }): Promise<Captured> {
  const [file, ...args] = argv;
  if (!file) throw new TypeError("capture needs a non-empty argv");
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let child: ChildProcess;
    try {
      child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    } catch (error) {
      resolve({ stdout: "", stderr: "", exitCode: null, signal: null, error: error as Error });
      return;
    }
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    if (options.input !== undefined && child.stdin) {
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString("utf8");
    child.once("error", (error) => resolve({ stdout: text(out), stderr: text(err), exitCode: null, signal: null, error }));
    child.once("close", (exitCode, signal) => resolve({ stdout: text(out), stderr: text(err), exitCode, signal }));
  });
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

/** What `spawnAttached` takes: where, with what env, the extra fds (as `spawnStreaming`), and the signal that ends it. */
export interface AttachedSpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  extraFds?: readonly Uint8Array[];
  signal?: AbortSignal;
  killGraceMs?: number;
}

/**
 * Runs `argv` with this process's stdin, stdout and stderr (a human at the terminal), in this
 * process's group so it is the terminal's foreground job. Ctrl-C reaches it from the terminal; this
 * process ignores SIGINT meanwhile (its other listeners still hear it). Abort ends it (SIGTERM, then
 * SIGKILL): a sandbox that needs everything it started ended kills them by its own means.
 */
export async function spawnAttached(argv: readonly string[], options: AttachedSpawnOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) throw new TypeError("spawnAttached needs a non-empty argv");
  if (options.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true };
  const started = performance.now();
  const ignore = () => {};
  process.on("SIGINT", ignore);
  try {
    let child: ChildProcess;
    try {
      child = spawn(file, args, { cwd: options.cwd, env: options.env ?? {}, stdio: ["inherit", "inherit", "inherit", ...(options.extraFds ?? []).map(() => "pipe" as const)] });
    } catch (error) {
      process.stderr.write(`corral: cannot run ${file}: ${(error as Error).message}\n`);
      return { exitCode: 127, signal: null, timedOut: false, aborted: false, durationMs: performance.now() - started };
    }
    options.extraFds?.forEach((data, i) => {
      const stream = child.stdio[3 + i] as Writable | null;
      stream?.on("error", () => {});
      stream?.end(data);
    });
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      aborted = true;
      child.kill("SIGTERM");
      killTimer ??= setTimeout(() => child.kill("SIGKILL"), options.killGraceMs ?? 2000);
    };
    options.signal?.addEventListener("abort", stop, { once: true });
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once("error", () => resolve([127, null]));
      child.once("exit", (code, sig) => resolve([code, sig]));
    });
    clearTimeout(killTimer);
    options.signal?.removeEventListener("abort", stop);
    return { exitCode, signal, timedOut: false, aborted, durationMs: performance.now() - started };
  } finally {
    process.off("SIGINT", ignore);
  }
}
