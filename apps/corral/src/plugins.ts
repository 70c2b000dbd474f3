import { existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  CorralError,
  FIRST_PARTY_PLUGINS,
  PluginNotFoundError,
  Registry,
  commandAgent,
  hostSandbox,
  inPlaceIsolation,
  installCommand,
  isPlugin,
  type Plugin,
  type PluginKind,
} from "@corral/core";

/**
 * Finds plugins. Built-ins are always there; a first-party plugin is imported only when its name
 * is asked for (or when listing), so `corral run --sandbox bwrap` never loads dockerode; third-party
 * plugins are the packages named in `plugins` of corral.config.*, resolved from the user's project.
 * Nothing scans node_modules.
 */
export class PluginLoader {
  /** The plugins loaded so far (built-ins from the start); `get` and `all` fill it as they import packages. */
  readonly registry = new Registry();
  readonly #cwd: string;
  readonly #thirdParty: readonly string[];
  #thirdPartyLoaded = false;

  constructor(options: { cwd: string; plugins?: readonly string[] }) {
    this.#cwd = options.cwd;
    this.#thirdParty = options.plugins ?? [];
    this.registry.register(hostSandbox).register(inPlaceIsolation).register(commandAgent);
  }

  /** The plugin for `name`, importing the package that provides it if needed. */
  async get<K extends PluginKind>(kind: K, name: string): Promise<Plugin<K>> {
    if (this.registry.has(kind, name)) return this.registry.get(kind, name);
    await this.#loadThirdParty();
    if (this.registry.has(kind, name)) return this.registry.get(kind, name);
    const pkg = FIRST_PARTY_PLUGINS[kind][name];
    if (pkg) {
      const loaded = await importInstalled(pkg, this.#cwd);
      if (!loaded) {
        throw new PluginNotFoundError(`The ${kind} "${name}" needs the package ${pkg}, which is not installed.`, {
          hint: `Install it: ${installCommand(pkg)}`,
        });
      }
      this.#registerAll(loaded, pkg);
    } else {
      // An unknown name (a typo?): import what is installed of this kind first, so the error lists
      // the true state ("claude", not "claude (not installed)"). Only this failing path pays for it.
      await this.#loadFirstParty(Object.values(FIRST_PARTY_PLUGINS[kind]));
    }
    return this.registry.get(kind, name); // throws with the known names, a did-you-mean and the install hint
  }

  /**
   * Every plugin that is installed: built-ins, first-party packages found, third-party from config.
   * With `kind`, only those of that kind (and only that kind's first-party packages are imported).
   */
  async all(kind?: PluginKind): Promise<Plugin[]> {
    await this.#loadThirdParty();
    const kinds = kind ? [kind] : (Object.keys(FIRST_PARTY_PLUGINS) as PluginKind[]);
    await this.#loadFirstParty(kinds.flatMap((k) => Object.values(FIRST_PARTY_PLUGINS[k])));
    return this.registry.list(kind);
  }

  /** Imports those of `packages` that are installed, side by side; registered in the given order so nothing depends on timing. */
  async #loadFirstParty(packages: string[]): Promise<void> {
    const unique = [...new Set(packages)];
    const loaded = await Promise.all(unique.map((pkg) => importInstalled(pkg, this.#cwd)));
    unique.forEach((pkg, i) => loaded[i] && this.#registerAll(loaded[i], pkg));
  }

  async #loadThirdParty(): Promise<void> {
    if (this.#thirdPartyLoaded) return;
    this.#thirdPartyLoaded = true;
    for (const pkg of this.#thirdParty) {
      const loaded = await importInstalled(pkg, this.#cwd, { projectOnly: true });
      if (!loaded) {
        throw new PluginNotFoundError(`The plugin package "${pkg}" named in your corral config is not installed in ${this.#cwd}.`, {
          hint: `Install it in your project: ${installCommand(pkg)}`,
        });
      }
      const count = this.#registerAll(loaded, pkg);
      if (count === 0) {
        throw new PluginNotFoundError(`The package "${pkg}" does not export a corral plugin.`, {
          hint: "Its default export must be a plugin made with defineSandbox/defineAgent/defineIsolation (or a list of them).",
        });
      }
    }
  }

  /** Registers the module's default export (a plugin or a list of them); returns how many. */
  #registerAll(mod: Record<string, unknown>, pkg: string): number {
    const exported = mod.default ?? mod.plugin ?? mod.plugins;
    const plugins = (Array.isArray(exported) ? exported : [exported]).filter(isPlugin);
    for (const plugin of plugins) {
      if (this.registry.has(plugin.kind, plugin.meta.name) && this.registry.get(plugin.kind, plugin.meta.name) === plugin) continue;
      this.registry.register(plugin.meta.packageName ? plugin : { ...plugin, meta: { ...plugin.meta, packageName: pkg } });
    }
    return plugins.length;
  }
}

/**
 * Imports an installed package: resolved from the user's project (`cwd`) first, then from corral's
 * own install, then from the running program's (the CLI installed beside its plugins, globally or in
 * a monorepo). Undefined when it is not installed, so the caller can name the install command; any
 * other failure is real and is thrown. `projectOnly` looks in the project alone (third-party plugins).
 */
export async function importInstalled<T = Record<string, unknown>>(pkg: string, cwd: string, options: { projectOnly?: boolean } = {}): Promise<T | undefined> {
  const program = process.argv[1] && existsSync(process.argv[1]) ? realpathSync(process.argv[1]) : undefined;
  const dirs = [cwd, ...(options.projectOnly ? [] : [dirname(fileURLToPath(import.meta.url)), ...(program ? [dirname(program)] : [])])];
  for (const dir of dirs) {
    const owner = installedFrom(dir, pkg);
    if (!owner) continue;
    const resolved = createRequire(join(owner, "noop.js")).resolve(pkg);
    try {
      return (await import(pathToFileURL(resolved).href)) as T;
    } catch (error) {
      throw olderCore(error, pkg) ?? error;
    }
  }
  return undefined;
}

/**
 * A plugin built against a newer core imports an entry point the installed one lacks (`@corral/core/zod`):
 * Node's ERR_PACKAGE_PATH_NOT_EXPORTED, said as what it is, before the registry's apiVersion check could.
 */
function olderCore(error: unknown, pkg: string): CorralError | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== "ERR_PACKAGE_PATH_NOT_EXPORTED" || typeof message !== "string") return undefined;
  const entry = /'(\.\/[^']+)' is not defined by "exports" in (\S*@corral\/core\/package\.json)/.exec(message);
  if (!entry) return undefined;
  return new CorralError("E_PLUGIN_API_VERSION", `The plugin package ${pkg} needs a newer @corral/core: the installed one has no ${entry[1]} entry point.`, {
    hint: `Upgrade @corral/core (and corral) to the release ${pkg} came with, or install the version of ${pkg} that matches your core.`,
  });
}

/**
 * The folder whose node_modules holds `pkg`, walking up from `dir` the way Node does — but never
 * through NODE_PATH or global folders: a plugin counts as installed only if the project has it.
 */
function installedFrom(dir: string, pkg: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, "node_modules", pkg, "package.json"))) return current;
    if (dirname(current) === current) return undefined;
  }
}
