import { HookError, UsageError } from "./errors.js";
import { TailBuffer } from "./lines.js";
import { spawnStreaming } from "./process.js";
import type { ExecResult, SandboxHandle } from "./sandbox.js";

/** A command the user wrote: a command line (run with `sh -c`) or an argv. */
export type HookCommand = string | string[];

/** A hook command with its settings. */
export interface HookSpec {
  /** A command line (`sh -c`) or an argv. */
  command: HookCommand;
  /** Seconds; default 600 (60 for onRunFinished). */
  timeout?: number;
  /** Keep going when it fails (e.g. tests whose result feeds the next prompt). Default false. */
  continueOnError?: boolean;
}

/**
 * Commands around the run. `onWorkspaceReady` runs on the host in the new workspace (e.g.
 * `pnpm install --offline`); the others run inside the sandbox, in the agent's working directory.
 * The output of `afterIteration` reaches the next prompt as `{{afterIterationOutput}}`.
 */
export interface Hooks {
  /** On the host, in the new workspace, before the sandbox starts (install dependencies). */
  onWorkspaceReady?: HookEntry;
  /** Inside the sandbox, once, before the first iteration. */
  onSandboxReady?: HookEntry;
  /** Inside the sandbox, before each iteration. */
  beforeIteration?: HookEntry;
  /** Inside the sandbox, after each iteration; its output reaches the next prompt as `{{afterIterationOutput}}`. */
  afterIteration?: HookEntry;
  /**
   * On the host, in the folder the run started from, once the run has ended (whatever its end) and
   * before its `run.finished` event: that event as JSON on stdin, and `CORRAL_RUN_*` env vars (id,
   * name, status, branch, commits, tokens, cost, error code, the budget that stopped it). A desktop
   * notification, a chat webhook or a CI annotation in one line. A failure is a warning: it never
   * changes the run's result. Default timeout 60 s.
   */
  onRunFinished?: HookEntry;
}

/** One hook (a command line, `{ command, timeout, continueOnError }`) or a list of them; an argv is a nested array. */
export type HookEntry = string | HookSpec | Array<HookCommand | HookSpec>;

export type HookName = keyof Hooks;

export interface HookRunResult {
  exitCode: number | null;
  /** stdout and stderr lines, in order, capped to the last 200. */
  output: string[];
}

/**
 * Normalises a hook entry. A top-level array is always a list of hooks (`["pnpm install", "pnpm
 * build"]`); an argv is written as a nested array or `{ command: [...] }`. Empty commands are refused
 * before anything runs.
 */
export function hookSpecs(name: HookName, value: Hooks[HookName]): HookSpec[] {
  if (value === undefined) return [];
  const entries: Array<HookCommand | HookSpec> = Array.isArray(value) ? value : [value];
  return entries.map((entry) => {
    const spec: HookSpec = typeof entry === "string" || Array.isArray(entry) ? { command: entry } : entry;
    const empty = typeof spec.command === "string" ? spec.command.trim() === "" : !spec.command[0];
    if (empty) throw new UsageError(`The ${name} hook has an empty command.`, { hint: `Give ${name} a command line or an argv.` });
    if (spec.timeout !== undefined && !(spec.timeout > 0)) {
      throw new UsageError(`The ${name} hook's timeout must be a positive number of seconds.`, { hint: "e.g. { command: \"pnpm install\", timeout: 300 }" });
    }
    return spec;
  });
}

/** Seconds a hook may take unless it says otherwise: a notification is quick; an install is not. */
const DEFAULT_TIMEOUT: Record<HookName, number> = { onWorkspaceReady: 600, onSandboxReady: 600, beforeIteration: 600, afterIteration: 600, onRunFinished: 60 };

export function hookArgv(command: HookCommand): string[] {
  return typeof command === "string" ? ["sh", "-c", command] : command;
}

export function describeHook(command: HookCommand): string {
  return typeof command === "string" ? command : command.join(" ");
}

/**
 * Runs one hook on the host (`sandbox` undefined) or in the sandbox, streaming its lines to
 * `onLine`. A failure throws HookError with the command, exit code and output tail, unless
 * the hook says `continueOnError`.
 */
export async function runHook(
  name: HookName,
  spec: HookSpec,
  where: { sandbox?: SandboxHandle; cwd: string; env?: Record<string, string>; stdin?: string; signal: AbortSignal },
  onLine: (line: string, stream: "stdout" | "stderr") => void,
): Promise<HookRunResult> {
  const tail = new TailBuffer(200);
  const timeout = spec.timeout ?? DEFAULT_TIMEOUT[name];
  const timeoutMs = Math.round(timeout * 1000);
  const options = {
    cwd: where.cwd,
    timeoutMs,
    signal: where.signal,
    onLine: (line: string, stream: "stdout" | "stderr") => {
      tail.push(line);
      onLine(line, stream);
    },
  };
  const argv = hookArgv(spec.command);
  const result: ExecResult = where.sandbox
    ? await where.sandbox.exec(argv, options)
    : await spawnStreaming(argv, { ...options, env: where.env ?? {}, ...(where.stdin !== undefined ? { stdin: where.stdin } : {}) });
  const command = describeHook(spec.command);
  if (result.aborted) throw new HookError(name, command, `The ${name} hook \`${command}\` was aborted.`, { outputTail: tail.lines.slice(-50) });
  if (result.timedOut) {
    throw new HookError(name, command, `The ${name} hook \`${command}\` did not finish within ${timeout} s.`, { outputTail: tail.lines.slice(-50) });
  }
  if (result.exitCode !== 0 && !spec.continueOnError) {
    throw new HookError(name, command, `The ${name} hook \`${command}\` failed with ${result.exitCode === null ? `signal ${result.signal}` : `exit code ${result.exitCode}`}.`, {
      ...(result.exitCode !== null ? { exitCode: result.exitCode } : {}),
      outputTail: tail.lines.slice(-50),
    });
  }
  return { exitCode: result.exitCode, output: tail.lines };
}
