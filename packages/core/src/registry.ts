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

  /** Whether a plugin of that kind and name is registered. */
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
    const guess = didYouMean(name, [...registered, ...Object.keys(FIRST_PARTY_PLUGINS[kind])]);
    throw new PluginNotFoundError(
      `Unknown ${kind} "${name}". Known ${kind === "sandbox" ? "sandboxes" : `${kind}s`}: ${known.length ? known.join(", ") : "none"}.`,
      {
        hint: pkg
          ? `Install it: ${installCommand(pkg)}`
          : guess
            ? `Did you mean "${guess}"?${registered.includes(guess) ? "" : ` It needs ${FIRST_PARTY_PLUGINS[kind][guess]}: ${installCommand(FIRST_PARTY_PLUGINS[kind][guess]!)}`}`
            : `Check the spelling, or add the package that provides it to "plugins" in corral.config.*.`,
      },
    );
  }

  /** Validates options and returns the configured plugin. */
  configure<K extends PluginKind>(kind: K, name: string, options?: unknown): Configured<K> {
    return this.get(kind, name).configure(options) as Configured<K>;
  }

  /** The registered plugins, of one kind or all. */
  list(kind?: PluginKind): Plugin[] {
    return [...this.#plugins.values()]
      .filter((p) => !kind || p.kind === kind)
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.meta.name.localeCompare(b.meta.name));
  }
}

function describe(plugin: Plugin): string {
  return `${plugin.meta.packageName ?? plugin.meta.name}@${plugin.meta.version}`;
}

/**
 * The one candidate a typo most likely meant (`claud` → `claude`, `sandbx` → `sandbox`), or undefined
 * when none is close: at most one edit per three letters (a swap of neighbours counts as one), ties refused.
 */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const wanted = input.toLowerCase();
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  const close = [...new Set(candidates)].map((name) => ({ name, d: editDistance(wanted, name.toLowerCase()) })).filter((c) => c.d <= limit);
  const min = Math.min(...close.map((c) => c.d));
  const best = close.filter((c) => c.d === min);
  return best.length === 1 ? best[0]!.name : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
