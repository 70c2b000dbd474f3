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
 * Fills `{{KEY}}` placeholders. Every placeholder must have a value. Inside a `` !`cmd` `` span the
 * value is shell-quoted, so an arg can never add shell syntax to a command the template runs.
 */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const missing = new Set<string>();
  const fill = (text: string, quote: boolean) =>
    text.replace(PLACEHOLDER, (match, key: string) => {
      const value = values[key];
      if (value === undefined) {
        missing.add(key);
        return match;
      }
      return quote ? shellQuote(value) : value;
    });
  let out = "";
  let last = 0;
  for (const match of template.matchAll(COMMAND)) {
    out += fill(template.slice(last, match.index), false);
    out += `!\`${fill(match[1] ?? "", true)}\``;
    last = match.index + match[0].length;
  }
  out += fill(template.slice(last), false);
  if (missing.size) {
    throw new PromptTemplateError(`The prompt template uses ${[...missing].map((k) => `{{${k}}}`).join(", ")} but no value was given.`, {
      hint: `Pass ${[...missing].map((k) => `--prompt-arg ${k}=…`).join(" ")} (or promptArgs in the library).`,
    });
  }
  return out;
}

/**
 * Runs every `` !`cmd` `` in the prompt inside the sandbox and puts its stdout in its place.
 * A non-zero exit or a timeout is an error: the agent never gets a silently truncated prompt.
 */
export async function expandCommands(
  prompt: string,
  sandbox: SandboxHandle,
  options: { cwd?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<string> {
  const matches = [...prompt.matchAll(COMMAND)];
  if (!matches.length) return prompt;
  let out = "";
  let last = 0;
  for (const match of matches) {
    const command = match[1] ?? "";
    const stdout: string[] = [];
    const tail = new TailBuffer(20);
    const result = await sandbox.exec(["sh", "-c", command], {
      ...(options.cwd ? { cwd: options.cwd } : {}),
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      onLine: (line, stream) => {
        if (stream === "stdout") stdout.push(line);
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
      throw new PromptExpansionError(
        command,
        `The prompt command \`${command}\` exited with ${result.exitCode ?? result.signal}:\n${tail.lines.join("\n")}`,
        { exitCode: result.exitCode ?? undefined, hint: "Fix the command in the prompt file; it runs inside the sandbox, in the workspace." },
      );
    }
    out += prompt.slice(last, match.index) + stdout.join("\n");
    last = match.index + match[0].length;
  }
  return out + prompt.slice(last);
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
