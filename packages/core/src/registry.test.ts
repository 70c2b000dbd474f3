import { describe, expect, it } from "vitest";
import { z } from "zod";
import { hostSandbox } from "./builtins/host.js";
import { DuplicatePluginError, PluginApiVersionError, PluginNotFoundError, PluginOptionsError } from "./errors.js";
import { PLUGIN_API_VERSION, defineAgent, defineSandbox, instantiate } from "./plugin.js";
import { didYouMean, Registry } from "./registry.js";

const fake = (name: string, apiVersion = PLUGIN_API_VERSION) =>
  defineSandbox({
    name,
    version: "1.2.3",
    apiVersion,
    options: z.object({ memoryMb: z.number().int().positive().optional(), image: z.string() }).strict(),
    create: () => ({ name, check: async () => ({ available: true as const }), create: async () => { throw new Error("not used"); } }),
  });

describe("plugin registry", () => {
  it("registers, gets and lists by kind", () => {
    const r = new Registry().register(hostSandbox).register(fake("alpha"));
    expect(r.get("sandbox", "alpha").meta).toMatchObject({ name: "alpha", version: "1.2.3" });
    expect(r.list("sandbox").map((p) => p.meta.name)).toEqual(["alpha", "host"]);
    expect(r.list("agent")).toEqual([]);
  });

  it("an unknown first-party name lists the known names and the package to install", () => {
    const r = new Registry().register(hostSandbox);
    const error = (() => { try { r.get("sandbox", "docker"); } catch (e) { return e; } })() as PluginNotFoundError;
    expect(error).toBeInstanceOf(PluginNotFoundError);
    expect(error.message).toBe('Unknown sandbox "docker". Known sandboxes: host, bwrap (not installed), podman (not installed), docker (not installed).');
    expect(error.hint).toBe("Install it: npm install @corral/sandbox-docker");
  });

  it("a typo gets a did-you-mean (with the install command when the guess is not installed)", () => {
    const r = new Registry().register(fake("claude-like")).register(hostSandbox);
    expect(() => r.get("sandbox", "hots")).toThrow(expect.objectContaining({ hint: 'Did you mean "host"?' }));
    expect(() => r.get("sandbox", "dockr")).toThrow(expect.objectContaining({ hint: 'Did you mean "docker"? It needs @corral/sandbox-docker: npm install @corral/sandbox-docker' }));
    expect(didYouMean("claud", ["claude", "codex", "command"])).toBe("claude");
    expect(didYouMean("sandbx", ["sandbox", "isolation"])).toBe("sandbox");
    expect(didYouMean("xyz", ["claude", "codex"])).toBeUndefined();
    expect(didYouMean("ab", ["ac", "ad"])).toBeUndefined(); // a tie is no guess
  });

  it("an unknown third-party name points at the config's plugins list", () => {
    expect(() => new Registry().get("agent", "aider")).toThrow(expect.objectContaining({ name: "PluginNotFoundError", hint: expect.stringMatching(/"plugins" in corral\.config/) }));
  });

  it("refuses a plugin written for a newer or older plugin API", () => {
    expect(() => new Registry().register(fake("newer", PLUGIN_API_VERSION + 1))).toThrow(PluginApiVersionError);
    expect(() => new Registry().register(fake("older", 1))).toThrow(/supports v2 for sandbox plugins/);
    expect(() => new Registry().register(fake("newer", PLUGIN_API_VERSION + 1))).toThrow(expect.objectContaining({ hint: expect.stringMatching(/Upgrade @corral\/core/) }));
    expect(() => new Registry().register(fake("older", 0))).toThrow(expect.objectContaining({ hint: expect.stringMatching(/Upgrade the plugin/) }));
  });

  it("v2 changed only the sandbox and isolation contracts: a v1 agent still loads, a v1 sandbox does not", () => {
    const v1Agent = defineAgent({ name: "old-agent", version: "1.0.0", apiVersion: 1, create: () => ({ name: "old-agent", command: () => ({ argv: ["true"] }), parser: () => ({ parse: () => [] }) }) });
    expect(() => new Registry().register(v1Agent)).not.toThrow();
    expect(() => new Registry().register(fake("old-sandbox", 1))).toThrow(PluginApiVersionError);
  });

  it("refuses two plugins of one kind with the same name", () => {
    const r = new Registry().register(fake("same"));
    expect(() => r.register(fake("same"))).toThrow(DuplicatePluginError);
    expect(() => r.register(r.get("sandbox", "same"))).not.toThrow(); // the same object twice is fine
  });

  it("validates options before the plugin sees them, naming the plugin and the field", () => {
    const r = new Registry().register(fake("strict"));
    let error: PluginOptionsError | undefined;
    try { r.configure("sandbox", "strict", { memoryMb: -1 }); } catch (e) { error = e as PluginOptionsError; }
    expect(error).toBeInstanceOf(PluginOptionsError);
    expect(error!.message).toContain('sandbox plugin "strict"');
    expect(error!.issues.map((i) => i.path).sort()).toEqual(["image", "memoryMb"]);
    expect(() => r.configure("sandbox", "strict", { image: "x", bogus: 1 })).toThrow(/strict/);
    expect(r.configure("sandbox", "strict", { image: "x" }).options).toEqual({ image: "x" });
  });

  it("instantiate refuses a configured plugin of the wrong kind and an unsupported apiVersion", () => {
    expect(() => instantiate("agent", hostSandbox.configure({}) as never)).toThrow(/Expected a agent plugin/);
    const bad = { ...fake("x").configure({ image: "i" }), plugin: { ...fake("x"), apiVersion: 99 } };
    expect(() => instantiate("sandbox", bad as never)).toThrow(PluginApiVersionError);
  });
});
