import type { ErrorCode } from "./error-codes.js";
import { redact } from "./redact.js";

/**
 * Every error corral throws is a CorralError: a stable `code` for programs, a message and a
 * `hint` that says what to do, and the underlying `cause`. Messages are redacted on creation.
 */
export class CorralError extends Error {
  /** Stable, for programs (`ERROR_CODES`, docs/errors.md): one code per condition. */
  readonly code: ErrorCode;
  /** What the user can do about it, one sentence; redacted. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint === undefined ? undefined : redact(options.hint);
  }

  /** A plain, redacted object for events, logs and NDJSON. */
  toJSON(): { name: string; code: ErrorCode; message: string; hint?: string } {
    return { name: this.name, code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

/** Bad options, flags or config: the caller must change their input. CLI exit code 2. */
export class UsageError extends CorralError {
  constructor(message: string, options: { hint?: string; cause?: unknown; code?: ErrorCode } = {}) {
    super(options.code ?? "E_USAGE", message, options);
  }
}

/** `corral.config.*` does not load or does not match the schema (`E_CONFIG`). */
export class ConfigError extends UsageError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, code: "E_CONFIG" });
  }
}

/** No installed plugin has that name (`E_PLUGIN_NOT_FOUND`); the hint is the install command or a did-you-mean. */
export class PluginNotFoundError extends UsageError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, code: "E_PLUGIN_NOT_FOUND" });
  }
}

/** A plugin was written for a plugin API this core does not support (`E_PLUGIN_API_VERSION`); the hint says which side to upgrade. */
export class PluginApiVersionError extends UsageError {
  constructor(message: string, options: { hint?: string } = {}) {
    super(message, { ...options, code: "E_PLUGIN_API_VERSION" });
  }
}

/** A plugin's options do not match its schema (`E_PLUGIN_OPTIONS`). */
export class PluginOptionsError extends UsageError {
  /** Every bad field: its dotted path and the schema's message. */
  readonly issues: ReadonlyArray<{ path: string; message: string }>;
  constructor(message: string, issues: ReadonlyArray<{ path: string; message: string }>, options: { hint?: string } = {}) {
    super(message, { ...options, code: "E_PLUGIN_OPTIONS" });
    this.issues = issues;
  }
}

/** Two installed plugins of one kind have the same name (`E_PLUGIN_DUPLICATE`). */
export class DuplicatePluginError extends UsageError {
  constructor(message: string, options: { hint?: string } = {}) {
    super(message, { ...options, code: "E_PLUGIN_DUPLICATE" });
  }
}

/** A prompt template that cannot be filled: unknown `{{KEY}}`, shadowed built-in, args without a template. */
export class PromptTemplateError extends UsageError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, code: "E_PROMPT_TEMPLATE" });
  }
}

/** A `` !`cmd` `` in a prompt failed or timed out inside the sandbox. */
export class PromptExpansionError extends CorralError {
  /** The command as written in the prompt. */
  readonly command: string;
  /** Its exit code, when it ran to an end. */
  readonly exitCode: number | undefined;
  constructor(command: string, message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super("E_PROMPT_EXPANSION", message, options);
    this.command = command;
    this.exitCode = options.exitCode;
  }
}

/** The agent went silent for longer than `idleTimeout`. */
export class IdleTimeoutError extends CorralError {
  /** How long it was silent for. */
  readonly timeoutMs: number;
  constructor(timeoutMs: number, iteration: number) {
    super("E_IDLE_TIMEOUT", `The agent printed nothing for ${formatMs(timeoutMs)} in iteration ${iteration}, so it was stopped.`, {
      hint: "Raise idleTimeout (--idle-timeout) if the agent legitimately works quietly for long, or check that the model API answers.",
    });
    this.timeoutMs = timeoutMs;
  }
}

/** The run was aborted by its AbortSignal, SIGINT or SIGTERM. */
export class AbortError extends CorralError {
  constructor(reason?: unknown) {
    super("E_ABORTED", `The run was aborted${typeof reason === "string" ? `: ${reason}` : "."}`, {
      hint: "Nothing was lost: the branch and any uncommitted work are kept.",
      cause: reason instanceof Error ? reason : undefined,
    });
  }
}

/** The agent process failed: non-zero exit, or the agent reported an error result. */
export class AgentExecutionError extends CorralError {
  /** The agent's exit code (undefined when it reported an error result, or was killed). */
  readonly exitCode: number | undefined;
  /** The last lines the agent printed (stdout and stderr), redacted. */
  readonly outputTail: readonly string[];
  constructor(message: string, options: { exitCode?: number; outputTail?: readonly string[]; hint?: string; cause?: unknown } = {}) {
    const tail = (options.outputTail ?? []).map((line) => redact(line));
    super("E_AGENT_EXECUTION", tail.length ? `${message}\n--- last output ---\n${tail.join("\n")}` : message, options);
    this.exitCode = options.exitCode;
    this.outputTail = tail;
  }
}

/** The agent's credentials are missing: raised before anything is spawned. */
export class MissingCredentialsError extends UsageError {
  constructor(message: string, options: { hint?: string } = {}) {
    super(message, { ...options, code: "E_MISSING_CREDENTIALS" });
  }
}

/** The agent's program (or the runtime its `#!` line names) cannot be found where the sandbox looks: raised before the run starts. */
export class AgentNotFoundError extends UsageError {
  /** Every path looked at, in order. */
  readonly searched: readonly string[];
  constructor(agent: string, program: string, searched: readonly string[], options: { option: string; needs?: string; sandbox: string }) {
    const what = options.needs ? `The ${agent} agent's program \`${options.needs}\` needs \`${program}\` (its #! line), which` : `The ${agent} agent's program \`${program}\``;
    super(`${what} was not found for the ${options.sandbox} sandbox. Looked for: ${searched.join(", ")}.`, {
      code: "E_AGENT_NOT_FOUND",
      hint: `Install it where one of those paths is, set the ${agent} agent's \`${options.option}\` option to its absolute path, or show its folder inside the sandbox with \`mounts\` (read-only).`,
    });
    this.searched = [...searched];
  }
}

/** The structured output tag was missing or its content did not match the schema. */
export class StructuredOutputError extends CorralError {
  /** The tag the output was looked for in. */
  readonly tag: string;
  /** What the agent gave (the tag's content, or its last text), redacted. */
  readonly raw: string;
  constructor(tag: string, raw: string, message: string, options: { cause?: unknown; hint: string }) {
    super("E_STRUCTURED_OUTPUT", message, options);
    this.tag = tag;
    this.raw = redact(raw);
  }
}

/** The requested sandbox cannot run here. corral never falls back to less isolation. */
export class SandboxUnavailableError extends CorralError {
  constructor(sandbox: string, reason: string, options: { hint?: string; cause?: unknown; code?: ErrorCode } = {}) {
    super(options.code ?? "E_SANDBOX_UNAVAILABLE", `The ${sandbox} sandbox is not available: ${reason}`, options);
  }
}

/** A `check()` that failed on an error: its message, hint and (if more precise than unavailable) code, so the run reports what `create()` would. */
export function unavailableBecause(error: unknown): { available: false; reason: string; hint?: string; code?: ErrorCode } {
  const e = toCorralError(error);
  return { available: false, reason: e.message, ...(e.hint ? { hint: e.hint } : {}), ...(e.code !== "E_INTERNAL" && e.code !== "E_SANDBOX" ? { code: e.code } : {}) };
}

/** A host-side git command failed: its exit code and output are kept for the caller to look at. */
export class GitError extends CorralError {
  /** git's exit code. */
  readonly exitCode: number;
  /** What git printed on stdout. */
  readonly stdout: string;
  /** What git printed on stderr. */
  readonly stderr: string;
  constructor(args: readonly string[], result: { exitCode: number; stdout: string; stderr: string }) {
    super("E_GIT", `git ${args.join(" ")} failed (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`, {
      hint: "Read git's message above; run the same git command in the repository to see more.",
    });
    this.exitCode = result.exitCode;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

/**
 * A sandbox failed while creating, running or closing, or cannot enforce what the spec asks: what a
 * sandbox plugin throws (`E_SANDBOX`, or the precise code, e.g. `E_SANDBOX_UNSUPPORTED`).
 */
export class SandboxError extends CorralError {
  constructor(message: string, options: { hint?: string; cause?: unknown; code?: ErrorCode } = {}) {
    super(options.code ?? "E_SANDBOX", message, options);
  }
}

/** The isolation could not give or take back a workspace: what an isolation plugin throws (`E_ISOLATION`, or a precise code). */
export class IsolationError extends CorralError {
  constructor(message: string, options: { hint?: string; cause?: unknown; code?: ErrorCode } = {}) {
    super(options.code ?? "E_ISOLATION", message, options);
  }
}

/**
 * The run's work could not be brought back safely, or the run did what it must not (rewrote history
 * it did not make, planted a corral config, left a branch that is not a commit). Nothing unsafe was
 * applied; each problem says what was kept and where.
 */
export class IntegrityError extends CorralError {
  /** Each problem found, with what was kept and where; redacted. */
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[]) {
    super("E_INTEGRITY", message, { hint: "Nothing unsafe reached your repository; read each problem above for what was kept and where." });
    this.problems = problems.map((problem) => redact(problem));
  }
}

/** A user hook (setup command) failed; the workspace and branch are kept. */
export class HookError extends CorralError {
  /** Which hook: `onWorkspaceReady`, `onSandboxReady`, … */
  readonly hook: string;
  /** The command that failed, as configured. */
  readonly command: string;
  /** Its exit code, when it ran to an end. */
  readonly exitCode: number | undefined;
  /** The last lines it printed, redacted. */
  readonly outputTail: readonly string[];
  constructor(hook: string, command: string, message: string, options: { exitCode?: number; outputTail?: readonly string[]; cause?: unknown } = {}) {
    const tail = (options.outputTail ?? []).map((line) => redact(line));
    super("E_HOOK", tail.length ? `${message}\n--- last output ---\n${tail.join("\n")}` : message, {
      hint: "Fix the hook command in your config (or --setup); the worktree and branch were kept for inspection.",
      cause: options.cause,
    });
    this.hook = hook;
    this.command = command;
    this.exitCode = options.exitCode;
    this.outputTail = tail;
  }
}

/**
 * Applies a run's redactor — the one that knows the run's secret values, not only secret shapes —
 * to an error's message, stack and string fields (hint, outputTail, raw…) before it leaves the run.
 */
export function redactError<E extends CorralError>(error: E, redactor: (text: string) => string): E {
  const fields = error as unknown as Record<string, unknown>;
  error.message = redactor(error.message);
  if (error.stack) error.stack = redactor(error.stack);
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (typeof value === "string") fields[key] = redactor(value);
    else if (Array.isArray(value)) fields[key] = value.map((item: unknown) => (typeof item === "string" ? redactor(item) : item));
  }
  return error;
}

/** Whether `error` is a CorralError (of this core: plugins peer-depend on core so there is one). */
export function isCorralError(error: unknown): error is CorralError {
  return error instanceof CorralError;
}

/** Any thrown value as a CorralError, so callers can always read `code` and `hint`. */
export function toCorralError(error: unknown): CorralError {
  if (error instanceof CorralError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // A full disk is the machine's condition, not a bug, wherever corral was writing when it struck.
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (errno === "ENOSPC" || errno === "EDQUOT") return diskFull(error);
  return new CorralError("E_INTERNAL", message, {
    cause: error,
    hint: "This is unexpected; please report it with the run's log file.",
  });
}

/** `E_DISK_FULL` for an ENOSPC/EDQUOT error (`path` when the error does not name it). */
export function diskFull(error: unknown, path?: string): CorralError {
  const where = (error as NodeJS.ErrnoException | undefined)?.path ?? path;
  return new CorralError("E_DISK_FULL", `No space left on the disk${where ? ` of ${where}` : ""} (${(error as NodeJS.ErrnoException).code}).`, {
    cause: error,
    hint: "Free some space there (`df -h` shows it; old runs' worktrees: `corral worktrees prune`, journals: .corral/runs), then run again.",
  });
}

/** `850 ms`, `2 s`, `1.5 s`: a duration for messages. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s} s` : `${s.toFixed(1)} s`;
}
