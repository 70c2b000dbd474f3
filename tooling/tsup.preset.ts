import { defineConfig, type Options } from "tsup";

/** The one tsup setup every published package uses: ESM, d.ts, Node 20 target, no bundled deps. */
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
    ...overrides,
  });
}
