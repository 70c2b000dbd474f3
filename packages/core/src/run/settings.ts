import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { checkCopyPattern } from "../copy.js";
import { UsageError } from "../errors.js";
import { MAX_LINE_CHARS } from "../lines.js";
import { hookSpecs, type HookName, type HookSpec } from "../hooks.js";
import { parsePolicy } from "../network/policy.js";
import type { Mount, ResourceLimits } from "../sandbox.js";
import { checkBudget } from "./budget.js";
import type { RunOptions } from "./options.js";
import { BUILTIN_PROMPT_ARGS, checkPromptArgs, checkTemplate } from "../prompt.js";

export const DEFAULT_COMPLETION_SIGNAL = "<promise>COMPLETE</promise>";

/** The run's options, checked and with defaults applied. */
export interface Settings {
  cwd: string;
  maxIterations: number;
  signals: string[];
  idleTimeoutMs: number;
  completionTimeoutMs: number;
  promptCommandTimeoutMs: number;
  maxLineChars: number;
  prompt: string;
  template?: string;
  promptArgs: Record<string, string>;
  hooks: Record<HookName, HookSpec[]>;
}

/** The options the settings are made from. */
export type SettingsInput = Pick<
  RunOptions<unknown>,
  "cwd" | "prompt" | "promptFile" | "promptArgs" | "maxIterations" | "completionSignal" | "idleTimeout" | "completionTimeout" | "promptCommandTimeout" | "maxLineChars" | "hooks" | "copy" | "output" | "limits" | "mounts" | "network" | "budget" | "branchExists" | "workspace"
>;

/** Every option checked up front: bad input fails before anything is created. */
export function validateRunOptions(options: SettingsInput): Settings {
  const maxIterations = options.maxIterations ?? 1;
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new UsageError(`maxIterations must be a whole number of at least 1, got ${String(options.maxIterations)}.`, { hint: "Pass e.g. --max-iterations 5." });
  }
  const seconds = (name: string, value: number | undefined, fallback: number) => {
    const v = value ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new UsageError(`${name} must be a positive number of seconds, got ${String(value)}.`, { hint: `Pass e.g. ${name}: ${fallback}.` });
    }
    return Math.round(v * 1000);
  };
  const signals = [options.completionSignal ?? DEFAULT_COMPLETION_SIGNAL].flat();
  if (signals.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new UsageError("A completion signal must be a non-empty string.", { hint: "Pass e.g. --completion-signal '<promise>COMPLETE</promise>'." });
  }
  if (options.prompt !== undefined && options.promptFile !== undefined) {
    throw new UsageError("Give either a prompt or a prompt file, not both.", { hint: "Drop --prompt or --prompt-file." });
  }
  if (options.prompt === undefined && options.promptFile === undefined) {
    throw new UsageError("No prompt was given.", { hint: "Pass --prompt \"…\" or --prompt-file path/to/prompt.md." });
  }
  const promptArgs = options.promptArgs ?? {};
  checkPromptArgs(promptArgs, options.promptFile !== undefined);
  const cwd = resolve(options.cwd ?? process.cwd());
  const settings: Settings = {
    cwd,
    maxIterations,
    signals,
    idleTimeoutMs: seconds("idleTimeout", options.idleTimeout, 600),
    completionTimeoutMs: seconds("completionTimeout", options.completionTimeout, 60),
    promptCommandTimeoutMs: seconds("promptCommandTimeout", options.promptCommandTimeout, 60),
    maxLineChars: lineCap(options.maxLineChars),
    prompt: options.prompt ?? "",
    promptArgs,
    hooks: {
      onWorkspaceReady: hookSpecs("onWorkspaceReady", options.hooks?.onWorkspaceReady),
      onSandboxReady: hookSpecs("onSandboxReady", options.hooks?.onSandboxReady),
      beforeIteration: hookSpecs("beforeIteration", options.hooks?.beforeIteration),
      afterIteration: hookSpecs("afterIteration", options.hooks?.afterIteration),
      onRunFinished: hookSpecs("onRunFinished", options.hooks?.onRunFinished),
    },
  };
  for (const pattern of options.copy ?? []) checkCopyPattern(pattern);
  // What reaches a sandbox plugin is checked here once, so no plugin is handed a negative memory.
  checkLimits(options.limits);
  checkBudget(options.budget);
  if (options.branchExists !== undefined && !["fail", "new", "reuse"].includes(options.branchExists)) {
    throw new UsageError(`branchExists must be "fail", "new" or "reuse", not ${JSON.stringify(options.branchExists)}.`, { hint: "fail: refuse an existing branch; new: make another (the default); reuse: continue on it." });
  }
  if (options.workspace !== undefined && !["mount", "copy", "auto"].includes(options.workspace)) {
    throw new UsageError(`workspace must be "mount", "copy" or "auto", not ${JSON.stringify(options.workspace)}.`, { hint: "mount: the sandbox mounts the worktree (the default); copy: it gets a copy and the work comes back; auto: copy when the engine is remote." });
  }
  checkMounts(options.mounts);
  if (options.network !== undefined) parsePolicy(options.network);
  if (options.promptFile !== undefined) settings.template = readPromptFileSync(resolve(cwd, options.promptFile));
  // Unknown {{KEY}}s are found now, with placeholder built-ins, before any workspace exists.
  if (settings.template !== undefined) {
    checkTemplate(settings.template, { ...promptArgs, ...Object.fromEntries(BUILTIN_PROMPT_ARGS.map((k) => [k, ""])) });
  }
  if (options.output) {
    if (maxIterations !== 1) {
      throw new UsageError(`Structured output needs maxIterations 1 (got ${maxIterations}): only one final answer can be read.`, { hint: "Set maxIterations to 1 or drop output." });
    }
    const text = settings.template ?? settings.prompt;
    if (!text.includes(`<${options.output.tag}>`)) {
      throw new UsageError(`The prompt never mentions <${options.output.tag}>, so the agent cannot know to write it.`, {
        hint: `Tell the agent in the prompt to answer inside <${options.output.tag}>…</${options.output.tag}>.`,
      });
    }
  }
  return settings;
}

/** The smallest line cap: a cut must leave room for a usable line (and the marker). */
const MIN_LINE_CHARS = 1024;

function lineCap(value: number | undefined): number {
  if (value === undefined) return MAX_LINE_CHARS;
  if (typeof value !== "number" || !Number.isInteger(value) || value < MIN_LINE_CHARS) {
    throw new UsageError(`maxLineChars must be a whole number of at least ${MIN_LINE_CHARS}, got ${JSON.stringify(value)}.`, {
      hint: `e.g. maxLineChars: ${MAX_LINE_CHARS} (8 MiB, the default); a longer line is cut there.`,
    });
  }
  return value;
}

const LIMIT_RULES: Record<keyof ResourceLimits, { integer: boolean; example: string }> = {
  memoryMb: { integer: false, example: "memoryMb: 4096" },
  pids: { integer: true, example: "pids: 1024" },
  cpuPercent: { integer: false, example: "cpuPercent: 200 (two cores)" },
  wallSeconds: { integer: false, example: "wallSeconds: 3600" },
};

function checkLimits(limits: ResourceLimits | undefined): void {
  if (limits === undefined) return;
  if (typeof limits !== "object" || limits === null || Array.isArray(limits)) {
    throw new UsageError(`limits must be an object, got ${JSON.stringify(limits)}.`, { hint: "e.g. limits: { memoryMb: 4096, pids: 1024 }" });
  }
  for (const [key, value] of Object.entries(limits)) {
    const rule = LIMIT_RULES[key as keyof ResourceLimits];
    if (!rule) throw new UsageError(`Unknown limit "${key}".`, { hint: `The limits are ${Object.keys(LIMIT_RULES).join(", ")}.` });
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || (rule.integer && !Number.isInteger(value))) {
      throw new UsageError(`limits.${key} must be a positive ${rule.integer ? "whole " : ""}number, got ${JSON.stringify(value)}.`, { hint: `e.g. ${rule.example}` });
    }
  }
}

function checkMounts(mounts: Mount[] | undefined): void {
  if (mounts === undefined) return;
  if (!Array.isArray(mounts)) throw new UsageError(`mounts must be a list, got ${JSON.stringify(mounts)}.`, { hint: 'e.g. mounts: [{ host: "~/.cache/pip", sandbox: "/root/.cache/pip" }]' });
  for (const mount of mounts) {
    const shown = JSON.stringify(mount);
    if (typeof mount !== "object" || mount === null || typeof mount.host !== "string" || mount.host === "") {
      throw new UsageError(`A mount needs a host path, got ${shown}.`, { hint: 'e.g. { host: "./fixtures" } (read-only, at the same path)' });
    }
    const unknown = Object.keys(mount).filter((key) => key !== "host" && key !== "sandbox" && key !== "readonly");
    if (unknown.length) throw new UsageError(`Unknown mount field "${unknown[0]}" in ${shown}.`, { hint: "A mount has host, sandbox (optional) and readonly (optional, default true)." });
    if (mount.sandbox !== undefined && (typeof mount.sandbox !== "string" || !mount.sandbox.startsWith("/"))) {
      throw new UsageError(`A mount's sandbox path must be absolute, got ${shown}.`, { hint: 'e.g. { host: "~/.cache/pip", sandbox: "/root/.cache/pip" }' });
    }
    if (mount.readonly !== undefined && typeof mount.readonly !== "boolean") {
      throw new UsageError(`A mount's readonly must be true or false, got ${shown}.`, { hint: "Leave it out for read-only; readonly: false to let the agent write." });
    }
  }
}

function readPromptFileSync(path: string): string {
  try {
    // Sync on purpose: validation must finish before anything async is started.
    return readFileSync(path, "utf8");
  } catch (cause) {
    throw new UsageError(`Cannot read the prompt file ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}.`, {
      hint: "Check the path (relative paths are resolved from --cwd).",
      cause,
    });
  }
}
