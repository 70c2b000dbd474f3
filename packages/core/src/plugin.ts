import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { Agent } from "./agent.js";
import { PluginApiVersionError, PluginOptionsError, UsageError } from "./errors.js";
import type { Isolation } from "./isolation.js";
import type { Sandbox } from "./sandbox.js";

/** The plugin API this core speaks. A plugin stamps the version it was written against. */
export const PLUGIN_API_VERSION = 2;

/** What a plugin can be. Displays are not plugins: a run takes Display objects in `displays`. */
export type PluginKind = "agent" | "sandbox" | "isolation";

/**
 * Plugin API versions this core can load, per kind. v2 changed the git contract between isolations
 * and sandboxes (explicit `GitMount`s, `Isolation.collect`), so v1 sandboxes and isolations are
 * refused; agents did not change and load either way.
 */
export const SUPPORTED_PLUGIN_API_VERSIONS: Readonly<Record<PluginKind, readonly number[]>> = {
  agent: [1, 2],
  sandbox: [2],
  isolation: [2],
};

/** What a plugin of each kind makes: the interface its `create` MUST return. */
export interface PluginInstanceOf {
  /** An `agent` plugin makes an Agent. */
  agent: Agent;
  /** A `sandbox` plugin makes a Sandbox (the provider, not a live handle). */
  sandbox: Sandbox;
  /** An `isolation` plugin makes an Isolation. */
  isolation: Isolation;
}

/** Who a plugin is: what `corral plugins` lists and errors name. */
export interface PluginMeta {
  /** The name users type: `--sandbox bwrap`. */
  name: string;
  /** The plugin package's version. */
  version: string;
  /** The npm package that provides it, for install hints. */
  packageName?: string;
  /** One line for `corral plugins`. */
  description?: string;
}

/** A plugin: a plain object that the registry can check and that makes configured instances. */
export interface Plugin<K extends PluginKind = PluginKind, O = any> {
  /** Which seam it fills. */
  readonly kind: K;
  /** The plugin API it was written against; the registry refuses one this core does not support (`SUPPORTED_PLUGIN_API_VERSIONS`). */
  readonly apiVersion: number;
  /** Its name, version and package. */
  readonly meta: PluginMeta;
  /** Validates options before the factory ever sees them (Standard Schema: zod, valibot, arktype…). */
  readonly options?: StandardSchemaV1<unknown, O>;
  /** Makes an instance from validated options. */
  create(options: O): PluginInstanceOf[K];
  /** Validates `input` and returns a configured plugin, ready to hand to `run()`. */
  configure(input?: unknown): Configured<K, O>;
}

/** A plugin with validated options: what `run({ sandbox: bwrap({...}) })` receives. */
export interface Configured<K extends PluginKind = PluginKind, O = any> {
  /** The plugin's kind. */
  readonly kind: K;
  /** The plugin the options are for. */
  readonly plugin: Plugin<K, O>;
  /** The options, validated by the plugin's schema. */
  readonly options: O;
}

/**
 * What a plugin author writes: the argument of `defineAgent`, `defineSandbox` and `defineIsolation`.
 * `create` returns a fresh instance and should start nothing (no processes, containers or files):
 * that is for the instance's own methods (`check`, `create`, `acquire`, `setup`).
 */
export interface PluginDefinition<K extends PluginKind, O> {
  /** What users type (`--sandbox <name>`); unique per kind among installed plugins. */
  name: string;
  /** The package's version: `packageVersion(import.meta.url)`. */
  version: string;
  /** The npm package that provides it, for install hints. */
  packageName?: string;
  /** One line for `corral plugins`. */
  description?: string;
  /** Defaults to the API version of the core the plugin was built with. */
  apiVersion?: number;
  /** The options schema (Standard Schema: zod, valibot, arktype…); it MUST validate synchronously. `create` only ever sees options it accepted. */
  options?: StandardSchemaV1<unknown, O>;
  /** Makes an instance from validated options. */
  create(options: O): PluginInstanceOf[K];
}

function definePlugin<K extends PluginKind, O>(kind: K, definition: PluginDefinition<K, O>): Plugin<K, O> {
  const plugin: Plugin<K, O> = {
    kind,
    apiVersion: definition.apiVersion ?? PLUGIN_API_VERSION,
    meta: {
      name: definition.name,
      version: definition.version,
      ...(definition.packageName ? { packageName: definition.packageName } : {}),
      ...(definition.description ? { description: definition.description } : {}),
    },
    ...(definition.options ? { options: definition.options } : {}),
    create: (options) => definition.create(options),
    configure: (input) => ({ kind, plugin, options: validateOptions(plugin, input) }),
  };
  return Object.freeze(plugin);
}

/** Makes an agent plugin: a frozen plain object with `configure(options)`; export it as the package's default. */
export const defineAgent = <O = Record<string, never>>(d: PluginDefinition<"agent", O>) => definePlugin("agent", d);
/** Makes a sandbox plugin: a frozen plain object with `configure(options)`; export it as the package's default. See `Sandbox` for what its instances MUST do. */
export const defineSandbox = <O = Record<string, never>>(d: PluginDefinition<"sandbox", O>) => definePlugin("sandbox", d);
/** Makes an isolation plugin: a frozen plain object with `configure(options)`; export it as the package's default. See `Isolation` for what its instances MUST do. */
export const defineIsolation = <O = Record<string, never>>(d: PluginDefinition<"isolation", O>) => definePlugin("isolation", d);

/** Refuses a plugin written against an API version this core does not support. */
export function assertSupportedApiVersion(plugin: Pick<Plugin, "apiVersion" | "meta" | "kind">): void {
  const supported = SUPPORTED_PLUGIN_API_VERSIONS[plugin.kind] ?? [];
  if (supported.includes(plugin.apiVersion)) return;
  const newer = plugin.apiVersion > PLUGIN_API_VERSION;
  const pkg = plugin.meta.packageName ?? `the ${plugin.kind} plugin "${plugin.meta.name}"`;
  throw new PluginApiVersionError(
    `The ${plugin.kind} plugin "${plugin.meta.name}" ${plugin.meta.version} uses plugin API v${plugin.apiVersion}, but this @corral/core supports v${supported.join(", v")} for ${plugin.kind} plugins.`,
    {
      hint: newer
        ? "Upgrade @corral/core (and the corral CLI) to a version that supports it: npm install @corral/core@latest"
        : `Upgrade the plugin: npm install ${pkg}@latest`,
    },
  );
}

/**
 * Validates plugin options synchronously with the plugin's Standard Schema. The error names the
 * plugin and every bad field. Async schemas are not supported for options.
 */
export function validateOptions<O>(plugin: Pick<Plugin<PluginKind, O>, "kind" | "meta" | "options">, input: unknown): O {
  const schema = plugin.options;
  if (!schema) return (input ?? {}) as O;
  const result = schema["~standard"].validate(input ?? {});
  if (result instanceof Promise) {
    throw new PluginOptionsError(`The ${plugin.kind} plugin "${plugin.meta.name}" has an async options schema; corral needs a synchronous one.`, [], { hint: "This is a bug in the plugin: tell its author (its options schema must validate synchronously)." });
  }
  if (result.issues) {
    const issues = result.issues.map((issue) => ({ path: issuePath(issue) || "(options)", message: issue.message }));
    const list = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
    throw new PluginOptionsError(`Invalid options for the ${plugin.kind} plugin "${plugin.meta.name}": ${list}`, issues, {
      hint: `Fix the ${issues.length === 1 ? "field" : "fields"} named above in your config or flags.`,
    });
  }
  return result.value;
}

function issuePath(issue: StandardSchemaV1.Issue): string {
  return (issue.path ?? [])
    .map((segment) => (typeof segment === "object" && segment !== null && "key" in segment ? segment.key : segment))
    .map(String)
    .join(".");
}

/** Whether `value` is a configured plugin (`plugin.configure(...)`), as opposed to a bare instance. */
export function isConfigured(value: unknown): value is Configured {
  return typeof value === "object" && value !== null && "plugin" in value && "kind" in value && "options" in value;
}

/** Whether `value` looks like a plugin object (what a plugin package's default export must be). */
export function isPlugin(value: unknown): value is Plugin {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Plugin).kind === "string" &&
    typeof (value as Plugin).apiVersion === "number" &&
    typeof (value as Plugin).meta?.name === "string" &&
    typeof (value as Plugin).create === "function"
  );
}

/** Makes the instance of a configured plugin (or passes an instance through). */
export function instantiate<K extends PluginKind>(kind: K, ref: Configured<K> | PluginInstanceOf[K]): PluginInstanceOf[K] {
  if (!isConfigured(ref)) return ref as PluginInstanceOf[K];
  if (ref.kind !== kind) throw new UsageError(`Expected a ${kind} plugin, got the ${ref.kind} plugin "${ref.plugin.meta.name}".`, { hint: `Pass it as the ${ref.kind}, and a ${kind} plugin as the ${kind}.` });
  assertSupportedApiVersion(ref.plugin);
  return ref.plugin.create(ref.options);
}
