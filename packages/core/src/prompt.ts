import { PromptExpansionError, PromptTemplateError } from "./errors.js";
import { TailBuffer } from "./lines.js";
import type { SandboxHandle } from "./sandbox.js";

/** Template keys corral fills itself; user args may not shadow them. */
export const BUILTIN_PROMPT_ARGS = [
  "branch",
  "baseBranch",
  "runName",
  "runId",
  "iteration",
  "maxIterations",
  // The previous iteration's afterIteration hook output and exit code ("" in the first iteration).
  "afterIterationOutput",
  "afterIterationExitCode",
] as const;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;
const COMMAND = /!`([^`\n]+)`/g;

/** Checks user args against the built-ins before anything runs. */
export function checkPromptArgs(args: Record<string, string>, fromFile: boolean): void {
  const keys = Object.keys(args);
  if (keys.length && !fromFile) {
    throw new PromptTemplateError(`Prompt args (${keys.join(", ")}) were given with an inline prompt; only prompt files are templates.`, {
      hint: "Use --prompt-file for a template with {{KEY}} placeholders, or drop --prompt-arg.",
    });
  }
  const shadowed = keys.filter((key) => (BUILTIN_PROMPT_ARGS as readonly string[]).includes(key));
  if (shadowed.length) {
    throw new PromptTemplateError(`Prompt arg ${shadowed.map((k) => `"${k}"`).join(", ")} would shadow a built-in template value.`, {
      hint: `Rename it; built-ins are ${BUILTIN_PROMPT_ARGS.join(", ")}.`,
    });
  }
}

/**
 * Renders a prompt template: `{{KEY}}` placeholders are filled, and each `` !`cmd` `` of the
 * TEMPLATE is run (through `runCommand`) and replaced by its output. Values are never scanned for
 * `` !`cmd` `` themselves — an issue title containing one stays text — and inside a command they
 * are shell-quoted, so a value can never add shell syntax. Every placeholder must have a value.
 */
export async function renderTemplate(
  template: string,
  values: Record<string, string>,
  runCommand: (command: string) => Promise<string>,
): Promise<string> {
  // Every placeholder is checked before any command runs.
  checkTemplate(template, values);
  const fill = (text: string, quote: boolean) =>
    text.replace(PLACEHOLDER, (_match, key: string) => (quote ? shellQuote(values[key]!) : values[key]!));
  let out = "";
  let last = 0;
  for (const match of template.matchAll(COMMAND)) {
    out += fill(template.slice(last, match.index), false);
    out += await runCommand(fill(match[1] ?? "", true));
    last = match.index + match[0].length;
  }
  return out + fill(template.slice(last), false);
}

/** Every `{{KEY}}` of the template must have a value: checked without running anything. */
export function checkTemplate(template: string, values: Record<string, string>): void {
  const missing = new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((key) => values[key] === undefined));
  if (missing.size) {
    throw new PromptTemplateError(`The prompt template uses ${[...missing].map((k) => `{{${k}}}`).join(", ")} but no value was given.`, {
      hint: `Pass ${[...missing].map((k) => `--prompt-arg ${k}=…`).join(" ")} (or promptArgs in the library).`,
    });
  }
}

/**
 * Runs one `` !`cmd` `` of a prompt template inside the sandbox and returns its stdout. A non-zero
 * exit or a timeout is an error: the agent never gets a silently truncated prompt.
 */
/** The most a prompt command's output may add to a prompt. */
export const PROMPT_COMMAND_MAX_CHARS = 2 * 1024 * 1024;

export async function runPromptCommand(
  command: string,
  sandbox: SandboxHandle,
  options: { cwd?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<string> {
  const stdout: string[] = [];
  let kept = 0;
  let cut = false;
  const tail = new TailBuffer(20);
  const result = await sandbox.exec(["sh", "-c", command], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    onLine: (line, stream) => {
      if (stream === "stdout" && !cut) {
        // What goes into a prompt is bounded: a command printing without end cannot exhaust memory.
        kept += line.length + 1;
        if (kept > PROMPT_COMMAND_MAX_CHARS) {
          cut = true;
          stdout.push(`…[corral: the output of this command was cut at ${PROMPT_COMMAND_MAX_CHARS} characters]`);
        } else stdout.push(line);
      }
      tail.push(line);
    },
  });
  if (result.aborted) throw new PromptExpansionError(command, `The prompt command \`${command}\` was aborted.`);
  if (result.timedOut) {
    throw new PromptExpansionError(command, `The prompt command \`${command}\` did not finish within ${options.timeoutMs} ms.`, {
      hint: "Make the command faster or raise the expansion timeout.",
    });
  }
  if (result.exitCode !== 0) {
    throw new PromptExpansionError(command, `The prompt command \`${command}\` exited with ${result.exitCode ?? result.signal}:\n${tail.lines.join("\n")}`, {
      exitCode: result.exitCode ?? undefined,
      hint: "Fix the command in the prompt file; it runs inside the sandbox, in the workspace.",
    });
  }
  return stdout.join("\n");
}

/** `value` as one single-quoted POSIX shell word (ADR 0003). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
