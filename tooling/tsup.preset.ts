import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defineConfig, type Options } from "tsup";

/**
 * zod is loaded once per process, from core's bundled copy (`@corral/core/zod`, ADR 0730): a package
 * that has `@corral/core` among its dependencies or peers imports it from there instead of `zod`. The
 * sources and the declarations keep `import { z } from "zod"` (the types are zod's own); only the
 * built JavaScript is redirected (`noExternal` hands the import to this plugin, which runs after tsup's own).
 */
const sharedZod: NonNullable<Options["esbuildPlugins"]>[number] = {
  name: "corral-shared-zod",
  setup(build) {
    build.onResolve({ filter: /^zod$/ }, () => ({ path: "@corral/core/zod", external: true }));
  },
};

function usesCore(): boolean {
  const manifest = JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8")) as Record<string, Record<string, string> | string | undefined>;
  if (manifest.name === "@corral/core") return false;
  return ["dependencies", "peerDependencies"].some((field) => typeof manifest[field] === "object" && "@corral/core" in (manifest[field] as object));
}

/** The one tsup setup every published package uses: ESM, d.ts, Node 20 target, no bundled deps (core bundles zod, once). */
export function packageBuild(entry: Options["entry"], overrides: Options = {}) {
  return defineConfig({
    entry,
    format: ["esm"],
    target: "node20",
    platform: "node",
    dts: true,
    clean: true,
    sourcemap: true,
    splitting: true,
    treeshake: true,
    ...(usesCore() ? { noExternal: ["zod"], esbuildPlugins: [sharedZod] } : {}),
    ...overrides,
  });
}
