import { existsSync, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Script } from "node:vm";
import { ConfigError, CORRAL_CONFIG_FILES, didYouMean, isConfigured, UsageError } from "@corral/core";
import { z } from "zod";

/** A plugin in config: its name, `{ name, options }`, or a configured plugin object (`bwrap({...})`). */
const pluginRef = z.union([
  z.string().min(1),
  z.object({ name: z.string().min(1), options: z.record(z.string(), z.unknown()).optional() }).strict(),
  z.custom<object>((value) => isConfigured(value), "expected a plugin name, { name, options } or a configured plugin"),
]);

const hookCommand = z.union([z.string().min(1), z.array(z.string()).min(1)]);
const hookSpec = z.union([
  hookCommand,
  z.object({ command: hookCommand, timeout: z.number().positive().optional(), continueOnError: z.boolean().optional() }).strict(),
]);
const hookList = z.union([hookSpec, z.array(hookSpec)]);
const budgetSchema = z
  .object({ tokens: z.number().int().positive().optional(), costUsd: z.number().positive().optional(), iterations: z.number().int().positive().optional(), wallSeconds: z.number().positive().optional() })
  .strict();

/**
 * The zod schema of corral.config.*: every key it may hold, checked strictly (an unknown key is an
 * error). `loadConfig` validates with it; `CorralConfig` is its input type.
 */
export const configSchema = z
  .object({
    agent: pluginRef.optional(),
    sandbox: pluginRef.optional(),
    isolation: pluginRef.optional(),
    /** Third-party plugin packages, resolved from your project. */
    plugins: z.array(z.string().min(1)).optional(),
    model: z.string().optional(),
    prompt: z.string().optional(),
    promptFile: z.string().optional(),
    promptArgs: z.record(z.string(), z.string()).optional(),
    maxIterations: z.number().int().positive().optional(),
    completionSignal: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
    idleTimeout: z.number().positive().optional(),
    completionTimeout: z.number().positive().optional(),
    /** Characters a line of the agent's output may have before it is cut (core checks the value). */
    maxLineChars: z.number().optional(),
    /** Names of host env vars to pass into the sandbox (their values are treated as secrets). */
    env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "not a valid env var name")).optional(),
    envFile: z.string().optional(),
    mounts: z.array(z.object({ host: z.string(), sandbox: z.string().optional(), readonly: z.boolean().optional() }).strict()).optional(),
    /** `none`, `host`, or an allowlist enforced by corral's egress proxy (docs/network.md). */
    network: z
      .union([
        z.enum(["host", "none"]),
        z.object({ allow: z.array(z.string().min(1)), deny: z.array(z.string().min(1)).optional(), hosts: z.record(z.string(), z.string()).optional() }).strict(),
      ])
      .optional(),
    /** `gateway`: the agent's API key stays on the host, corral's proxy adds it (needs the allowlist). */
    credentials: z.enum(["env", "gateway"]).optional(),
    limits: z
      .object({ memoryMb: z.number().positive().optional(), pids: z.number().int().positive().optional(), cpuPercent: z.number().positive().optional(), wallSeconds: z.number().positive().optional() })
      .strict()
      .optional(),
    copy: z.array(z.string().min(1)).optional(),
    /** When the branch a run's name gives exists already: `new` (default: another branch, said), `fail` (refuse), `reuse` (continue on it). */
    branchExists: z.enum(["fail", "new", "reuse"]).optional(),
    /** How the sandbox gets the workspace: `mount` (default), `copy` (docs/copied-workspaces.md), `auto` (copy when the engine is remote). */
    workspace: z.enum(["mount", "copy", "auto"]).optional(),
    /** What each run may spend: the first reached stops it cleanly (`incomplete`, `stoppedBy`). */
    budget: budgetSchema.optional(),
    /** What a whole fleet may spend (`corral run --tasks`, `runMany`). */
    fleetBudget: budgetSchema.optional(),
    /** Who the agent's commits are by: `"host"` (default: your git name and email, nothing else), `false`, or `{ name, email }`. */
    gitIdentity: z.union([z.literal("host"), z.literal(false), z.object({ name: z.string().min(1), email: z.string().min(1) }).strict()]).optional(),
    hooks: z
      .object({ onWorkspaceReady: hookList.optional(), onSandboxReady: hookList.optional(), beforeIteration: hookList.optional(), afterIteration: hookList.optional(), onRunFinished: hookList.optional() })
      .strict()
      .optional(),
    logFile: z.string().optional(),
    /** The run journal (`.corral/runs/<id>/`): false turns it off; `maxBytes` caps its size per run (default 64 MiB). */
    journal: z.union([z.boolean(), z.object({ maxBytes: z.number().int().positive().optional() }).strict()]).optional(),
  })
  .strict();

/**
 * What corral.config.* holds: default plugins (agent, sandbox, isolation), the prompt, loop limits, env,
 * mounts, network, hooks, journal. Every key is optional; a `run()` option or CLI flag overrides it.
 */
export type CorralConfig = z.input<typeof configSchema>;
export type PluginRefConfig = z.infer<typeof pluginRef>;

/** Typed identity for `corral.config.ts`: `export default defineConfig({ ... })`. */
export function defineConfig(config: CorralConfig): CorralConfig {
  return config;
}

/** The config file names, in the order they are looked for (core guards the same names in in-place runs). */
export const CONFIG_FILES: readonly string[] = CORRAL_CONFIG_FILES;

/** Finds the config file in `cwd` or the nearest parent that has one (stopping at a git root). */
export function findConfigFile(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    for (const name of CONFIG_FILES) {
      const candidate = join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
    if (existsSync(join(dir, ".git"))) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The config files beside `file` that lose to it (found first wins), for a warning. */
function shadowedBy(file: string): string[] {
  const dir = dirname(file);
  return CONFIG_FILES.map((name) => join(dir, name)).filter((candidate) => candidate !== file && existsSync(candidate));
}

/**
 * Throws a UsageError unless `dir` is an existing folder: a mistyped `--cwd` must say so, not
 * surface later as "no agent was chosen" (no config found there) or a git error.
 */
export function assertFolder(dir: string, flag = "--cwd"): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new UsageError(`The folder ${dir} does not exist.`, { hint: `Check the ${flag} path.` });
  }
  if (!isDir) throw new UsageError(`${dir} is not a folder.`, { hint: `Pass a folder to ${flag}.` });
}

/** The config a run uses: one already loaded, none (`config: false`), the file named, or the one found from cwd. */
export async function configFor(options: { cwd: string; config?: string | false; configData?: LoadedConfig }): Promise<LoadedConfig> {
  if (options.configData) return options.configData;
  assertFolder(options.cwd);
  if (options.config === false) return { config: {} };
  return loadConfig({ cwd: options.cwd, ...(options.config ? { file: options.config } : {}) });
}

/** A config as `loadConfig` returns it: validated, with where it came from. */
export interface LoadedConfig {
  /** The validated config; empty (`{}`) when no config file was found. */
  config: CorralConfig;
  /** The file it came from, if any. */
  file?: string;
  /** What the caller should show the user, e.g. a second config file beside the one used (library code never prints). */
  warnings?: string[];
}

/**
 * Loads and validates corral.config.{ts,mts,js,mjs,json}. A `.ts` config loads on Node 20 (via jiti,
 * imported only when needed). Parse and schema errors are ConfigErrors naming the file and field.
 */
export async function loadConfig(options: { cwd: string; file?: string }): Promise<LoadedConfig> {
  assertFolder(options.cwd);
  const file = options.file ? resolve(options.cwd, options.file) : findConfigFile(options.cwd);
  if (!file) return { config: {} };
  const shadowed = options.file ? [] : shadowedBy(file);
  const warnings = shadowed.length ? [`${file} is used; ${shadowed.join(" and ")} ${shadowed.length > 1 ? "are" : "is"} ignored (one config per folder: remove or merge the other).`] : [];
  if (!existsSync(file)) throw new ConfigError(`The config file ${file} does not exist.`, { hint: "Check the --config path." });
  let raw: unknown;
  try {
    if (file.endsWith(".json")) {
      raw = JSON.parse(await readFile(file, "utf8"));
    } else if (file.endsWith(".ts") || file.endsWith(".mts")) {
      const { createJiti } = await import("jiti");
      // `import { defineConfig } from "corral"` works even where only the CLI is installed (globally,
      // or under pnpm's strict layout): the config gets this very corral.
      const self = (() => {
        try {
          return createRequire(import.meta.url).resolve("corral");
        } catch {
          return undefined;
        }
      })();
      raw = await createJiti(import.meta.url, { interopDefault: true, moduleCache: false, ...(self ? { alias: { corral: self } } : {}) }).import(file, { default: true });
    } else {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      raw = mod.default;
    }
  } catch (cause) {
    const missingModule = /Cannot find (module|package) '([^']+)'/.exec((cause as Error).message)?.[2];
    const at = await syntaxErrorAt(file, cause);
    if (at) throw new ConfigError(`Cannot load ${file}:${at.line}:${at.column}: ${at.message}`, { hint: `Fix the syntax at line ${at.line} of the config file.`, cause });
    throw new ConfigError(`Cannot load ${file}: ${(cause as Error).message}`, {
      hint: missingModule ? `The config imports ${missingModule}, which is not installed here: npm install -D ${missingModule}` : "Fix the error in the config file.",
      cause,
    });
  }
  if (raw && typeof raw === "object" && "default" in raw && Object.keys(raw).length === 1) raw = (raw as { default: unknown }).default;
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const guesses: string[] = [];
    const problems = parsed.error.issues.flatMap((issue) => {
      const where = issue.path.map(String);
      if (issue.code !== "unrecognized_keys") return [`${where.join(".") || "(root)"}: ${issue.message}`];
      return issue.keys.map((key) => {
        const guess = didYouMean(key, keysAt(where));
        if (guess) guesses.push(`${[...where, key].join(".")} → ${[...where, guess].join(".")}`);
        return `${[...where, key].join(".")}: unknown key${guess ? ` (did you mean "${guess}"?)` : ""}`;
      });
    });
    throw new ConfigError(`Invalid config in ${file}: ${problems.join("; ")}`, {
      hint: guesses.length ? `Rename ${guesses.join(", ")}; then fix any other field named above (see docs/configuration.md).` : "Fix the fields named above (see docs/configuration.md).",
    });
  }
  return { config: parsed.data as CorralConfig, file, ...(warnings.length ? { warnings } : {}) };
}

/** The keys the schema knows at `path` (an object inside optional/union wrappers), for a did-you-mean. */
function keysAt(path: readonly string[]): string[] {
  let schemas: z.ZodType[] = [configSchema];
  for (const key of [...path, undefined]) {
    const objects: z.ZodObject[] = [];
    const open = (schema: z.ZodType): void => {
      if (schema instanceof z.ZodOptional) open(schema.unwrap() as z.ZodType);
      else if (schema instanceof z.ZodUnion) for (const option of schema.options) open(option as z.ZodType);
      else if (schema instanceof z.ZodObject) objects.push(schema);
    };
    schemas.forEach(open);
    if (key === undefined) return objects.flatMap((o) => Object.keys(o.shape));
    schemas = objects.map((o) => o.shape[key] as z.ZodType | undefined).filter((s): s is z.ZodType => s !== undefined);
  }
  return [];
}

/**
 * Where a config file's syntax error is, when the loader can tell: jiti names `file:line:col` (TS,
 * and JS re-read through it, since Node's ESM loader gives no position); JSON is compiled as a JS
 * expression, whose error names the line. Undefined for any other failure.
 */
async function syntaxErrorAt(file: string, cause: unknown): Promise<{ line: number; column: number; message: string } | undefined> {
  const text = (cause as Error)?.message ?? "";
  const fromJiti = (message: string) => {
    const m = /^(?:ParseError: )?([\s\S]*?)\s*\n?\s*\S+:(\d+):(\d+)\s*$/.exec(message);
    return m ? { line: Number(m[2]), column: Number(m[3]), message: m[1]!.trim() || "syntax error" } : undefined;
  };
  if (file.endsWith(".ts") || file.endsWith(".mts")) return text.includes("ParseError") ? fromJiti(text) : undefined;
  if (file.endsWith(".json")) {
    if ((cause as Error)?.name !== "SyntaxError") return undefined;
    try {
      new Script(`(${readFileSync(file, "utf8")}\n)`, { filename: file });
    } catch (error) {
      const [first = "", , caret = ""] = String((error as Error).stack).split("\n");
      const line = Number(/:(\d+)$/.exec(first)?.[1]);
      if (line) return { line, column: Math.max(1, caret.indexOf("^") + 1), message: "not valid JSON" };
    }
    const position = Number(/at position (\d+)/.exec(text)?.[1]);
    if (!Number.isInteger(position)) return undefined;
    const before = readFileSync(file, "utf8").slice(0, position).split("\n");
    return { line: before.length, column: before.at(-1)!.length + 1, message: "not valid JSON" };
  }
  // Any failure to load a JS config: parse it (jiti's transform, never run a second time); a clean parse means it was something else.
  const { createJiti } = await import("jiti");
  const code = createJiti(import.meta.url, { moduleCache: false, fsCache: false }).transform({ source: readFileSync(file, "utf8"), filename: file });
  const found = /__JITI_ERROR__ = (\{.*\})/.exec(code)?.[1];
  if (!found) return undefined;
  const error = JSON.parse(found) as { line?: number; column?: number; message?: string };
  return error.line ? { line: error.line, column: error.column ?? 1, message: error.message?.trim() || "syntax error" } : undefined;
}
