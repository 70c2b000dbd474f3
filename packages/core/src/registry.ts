import { FIRST_PARTY_PLUGINS, installCommand } from "./catalog.js";
import { DuplicatePluginError, PluginNotFoundError } from "./errors.js";
import { assertSupportedApiVersion, type Configured, type Plugin, type PluginKind } from "./plugin.js";

/** Plugins by kind and name. The CLI and config loading resolve names through one of these. */
export class Registry {
  readonly #plugins = new Map<string, Plugin>();

  /** Adds a plugin. Refuses an unsupported apiVersion and a name already taken for that kind. */
  register(plugin: Plugin): this {
    assertSupportedApiVersion(plugin);
    const key = `${plugin.kind}:${plugin.meta.name}`;
    const existing = this.#plugins.get(key);
    if (existing) {
      if (existing === plugin) return this;
      throw new DuplicatePluginError(
        `Two ${plugin.kind} plugins are named "${plugin.meta.name}" (${describe(existing)} and ${describe(plugin)}).`,
        { hint: "Remove one of them from your config, or uninstall the package you do not use." },
      );
    }
    this.#plugins.set(key, plugin);
    return this;
  }

  has(kind: PluginKind, name: string): boolean {
    return this.#plugins.has(`${kind}:${name}`);
  }

  /** The plugin, or a PluginNotFoundError listing the known names and what to install. */
  get<K extends PluginKind>(kind: K, name: string): Plugin<K> {
    const plugin = this.#plugins.get(`${kind}:${name}`);
    if (plugin) return plugin as Plugin<K>;
    const registered = this.list(kind).map((p) => p.meta.name);
    // First-party names are listed too, so a name that only needs installing is not a mystery.
    const installable = Object.keys(FIRST_PARTY_PLUGINS[kind]).filter((n) => !registered.includes(n)).map((n) => `${n} (not installed)`);
    const known = [...registered, ...installable];
    const pkg = FIRST_PARTY_PLUGINS[kind][name];
    throw new PluginNotFoundError(
      `Unknown ${kind} "${name}". Known ${kind === "sandbox" ? "sandboxes" : `${kind}s`}: ${known.length ? known.join(", ") : "none"}.`,
      {
        hint: pkg
          ? `Install it: ${installCommand(pkg)}`
          : `Check the spelling, or add the package that provides it to "plugins" in corral.config.*.`,
      },
    );
  }

  /** Validates options and returns the configured plugin. */
  configure<K extends PluginKind>(kind: K, name: string, options?: unknown): Configured<K> {
    return this.get(kind, name).configure(options) as Configured<K>;
  }

  list(kind?: PluginKind): Plugin[] {
    return [...this.#plugins.values()]
      .filter((p) => !kind || p.kind === kind)
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.meta.name.localeCompare(b.meta.name));
  }
}

function describe(plugin: Plugin): string {
  return `${plugin.meta.packageName ?? plugin.meta.name}@${plugin.meta.version}`;
}
