import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Node } from "yaml";
import { z } from "zod";
import { UsageError } from "@corral/core";

const require = createRequire(import.meta.url);

const name = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-' (it names a branch and a folder)");

/** One task of a fleet. Everything but `name` and the prompt falls back to the fleet's options. */
export const taskSchema = z
  .object({
    name,
    prompt: z.string().min(1).optional(),
    promptFile: z.string().min(1).optional(),
    promptArgs: z.record(z.string(), z.string()).optional(),
    agent: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    sandbox: z.string().min(1).optional(),
    maxIterations: z.number().int().positive().optional(),
  })
  .strict()
  .refine((t) => (t.prompt === undefined) !== (t.promptFile === undefined), { message: "give exactly one of prompt or promptFile" });

/** One task of a fleet (`runMany`, `corral run --tasks`): a unique `name` and exactly one of `prompt` or `promptFile`. */
export type Task = z.infer<typeof taskSchema>;

/**
 * Validates a whole task list. Every problem is reported at once — with the file's line where it
 * is known, else the task's index — and nothing starts unless the list is valid.
 */
export function validateTasks(value: unknown, source: string, lineOf: (index: number, key?: string) => number | undefined = () => undefined): Task[] {
  if (!Array.isArray(value)) {
    throw new UsageError(`${source}: the task list must be a list of tasks.`, { hint: 'e.g. [{ "name": "fix-42", "prompt": "Fix issue 42" }]' });
  }
  const problems: string[] = [];
  const tasks: Task[] = [];
  const seen = new Map<string, number>();
  value.forEach((raw, index) => {
    const where = (key?: string) => {
      const line = lineOf(index, key);
      return line ? `${source}:${line} (task ${index + 1})` : `${source} task ${index + 1}`;
    };
    // Duplicate names are reported even for a task with other problems.
    const name = raw && typeof raw === "object" && typeof (raw as { name?: unknown }).name === "string" ? (raw as { name: string }).name : undefined;
    if (name !== undefined) {
      const first = seen.get(name);
      if (first !== undefined) problems.push(`${where("name")}: the name "${name}" is already used by task ${first + 1}`);
      else seen.set(name, index);
    }
    const parsed = taskSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const key = issue.path[0] === undefined ? undefined : String(issue.path[0]);
        problems.push(`${where(key)}: ${key ? `${issue.path.join(".")}: ` : ""}${issue.message}`);
      }
      return;
    }
    tasks.push(parsed.data);
  });
  if (value.length === 0) problems.push(`${source}: the task list is empty`);
  if (problems.length) {
    throw new UsageError(`The task list is invalid; nothing was started:\n  ${problems.join("\n  ")}`, { hint: "Fix every problem listed, then run again." });
  }
  return tasks;
}

/** Reads a JSON or YAML task file (by content: JSON is YAML too), with line numbers for errors. */
export async function loadTasksFile(path: string): Promise<Task[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new UsageError(`Cannot read the tasks file ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}.`, { hint: "Check the --tasks path.", cause });
  }
  return parseTasks(text, path);
}

/**
 * Parses and validates a task list given as JSON or YAML text. `source` names it in errors (a
 * file path, or e.g. "stdin"); a syntax or schema error is a UsageError, with line numbers.
 */
export function parseTasks(text: string, source: string): Task[] {
  // yaml is loaded on the first task list, not with the library (it is most of a run's import time).
  const { LineCounter, parseDocument, isSeq } = require("yaml") as typeof import("yaml");
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    const problems = doc.errors.map((e) => `${source}:${e.linePos?.[0]?.line ?? "?"}: ${e.message.split("\n")[0]}`);
    throw new UsageError(`The tasks file does not parse; nothing was started:\n  ${problems.join("\n  ")}`, { hint: "Fix the syntax (JSON or YAML)." });
  }
  const root = doc.contents;
  const lineOf = (index: number, key?: string): number | undefined => {
    if (!isSeq(root)) return undefined;
    const item = root.items[index] as Node | undefined;
    const node = key && item && "get" in item ? ((item as unknown as { get(k: string, keep: true): Node | undefined }).get(key, true) ?? item) : item;
    return node?.range ? lines.linePos(node.range[0]).line : undefined;
  };
  return validateTasks(doc.toJS(), source, lineOf);
}

/** Runs a command (`sh -c`, the user's own) and reads the task list from its JSON stdout. */
export async function loadTasksFromCommand(command: string, cwd: string): Promise<Task[]> {
  const { execa } = await import("execa");
  const result = await execa("sh", ["-c", command], { cwd, reject: false, stdin: "ignore" });
  if (result.exitCode !== 0) {
    throw new UsageError(`The tasks command \`${command}\` exited with ${result.exitCode}: ${String(result.stderr).trim().split("\n").slice(-5).join(" / ")}`, {
      hint: "Run the command yourself to see what is wrong.",
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(String(result.stdout));
  } catch (cause) {
    throw new UsageError(`The tasks command \`${command}\` did not print JSON: ${(cause as Error).message}`, { hint: "It must print a JSON list of tasks on stdout.", cause });
  }
  return validateTasks(value, `output of \`${command}\``);
}
