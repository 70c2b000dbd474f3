import { instantiate, isConfigured, type Configured, type PluginInstanceOf, type PluginKind } from "@corral/core";
import type { PluginLoader } from "corral/internal";

/**
 * The installed plugin `name` as an instance, for calling one of its optional capabilities
 * (`reap`, `buildImage`, `reclaim`…): made with the config's options when the config names the
 * same plugin (the podman binary, the image), else with its defaults. Found through the registry,
 * so a third party's plugin named in the config takes part like ours.
 */
export async function pluginInstance<K extends PluginKind>(loader: PluginLoader, kind: K, name: string, configured?: unknown): Promise<PluginInstanceOf[K]> {
  if (isConfigured(configured) && configured.kind === kind && configured.plugin.meta.name === name) return instantiate(kind, configured as Configured<K>);
  const options = configured && typeof configured === "object" && "name" in configured && configured.name === name ? (configured as { options?: unknown }).options : undefined;
  return instantiate(kind, (await loader.get(kind, name)).configure(options ?? {}) as Configured<K>);
}

/** The name of the plugin a config entry (`"docker"`, `{ name, options }`, `docker({...})`) refers to. */
export function configuredName(ref: unknown): string | undefined {
  if (typeof ref === "string") return ref;
  if (isConfigured(ref)) return ref.plugin.meta.name;
  if (ref && typeof ref === "object" && "name" in ref && typeof ref.name === "string") return ref.name;
  return undefined;
}

/**
 * Every installed plugin of `kind` whose instance has `capability`, made as `pluginInstance` makes
 * one (the config's options when it names the plugin). A plugin that cannot be made without
 * options it was not given cannot be asked, and is left out.
 */
export async function pluginsWith<K extends PluginKind, C extends keyof PluginInstanceOf[K]>(
  loader: PluginLoader,
  kind: K,
  capability: C,
  configured?: unknown,
): Promise<Array<{ name: string; instance: PluginInstanceOf[K] & Required<Pick<PluginInstanceOf[K], C>> }>> {
  const found: Array<{ name: string; instance: PluginInstanceOf[K] & Required<Pick<PluginInstanceOf[K], C>> }> = [];
  for (const plugin of await loader.all(kind)) {
    const instance = await pluginInstance(loader, kind, plugin.meta.name, configured).catch(() => undefined);
    if (instance && typeof instance[capability] === "function") found.push({ name: plugin.meta.name, instance: instance as PluginInstanceOf[K] & Required<Pick<PluginInstanceOf[K], C>> });
  }
  return found;
}
