import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, CORRAL_CONFIG_FILES, isConfigured } from "@corral/core";
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
    /** Who the agent's commits are by: `"host"` (default: your git name and email, nothing else), `false`, or `{ name, email }`. */
    gitIdentity: z.union([z.literal("host"), z.literal(false), z.object({ name: z.string().min(1), email: z.string().min(1) }).strict()]).optional(),
    hooks: z
      .object({ onWorkspaceReady: hookList.optional(), onSandboxReady: hookList.optional(), beforeIteration: hookList.optional(), afterIteration: hookList.optional() })
      .strict()
      .optional(),
    logFile: z.string().optional(),
    /** The run journal (`.corral/runs/<id>/`): false turns it off; `maxBytes` caps its size per run (default 64 MiB). */
    journal: z.union([z.boolean(), z.object({ maxBytes: z.number().int().positive().optional() }).strict()]).optional(),
  })
  .strict();

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

/** The config a run uses: one already loaded, none (`config: false`), the file named, or the one found from cwd. */
export async function configFor(options: { cwd: string; config?: string | false; configData?: LoadedConfig }): Promise<LoadedConfig> {
  if (options.configData) return options.configData;
  if (options.config === false) return { config: {} };
  return loadConfig({ cwd: options.cwd, ...(options.config ? { file: options.config } : {}) });
}

export interface LoadedConfig {
  config: CorralConfig;
  /** The file it came from, if any. */
  file?: string;
}

/**
 * Loads and validates corral.config.{ts,mts,js,mjs,json}. A `.ts` config loads on Node 20 (via jiti,
 * imported only when needed). Parse and schema errors are ConfigErrors naming the file and field.
 */
export async function loadConfig(options: { cwd: string; file?: string }): Promise<LoadedConfig> {
  const file = options.file ? resolve(options.cwd, options.file) : findConfigFile(options.cwd);
  if (!file) return { config: {} };
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
    throw new ConfigError(`Cannot load ${file}: ${(cause as Error).message}`, {
      hint: missingModule ? `The config imports ${missingModule}, which is not installed here: npm install -D ${missingModule}` : "Fix the error in the config file.",
      cause,
    });
  }
  if (raw && typeof raw === "object" && "default" in raw && Object.keys(raw).length === 1) raw = (raw as { default: unknown }).default;
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new ConfigError(`Invalid config in ${file}: ${problems.join("; ")}`, { hint: "Fix the fields named above (see docs/configuration.md)." });
  }
  return { config: parsed.data as CorralConfig, file };
}
