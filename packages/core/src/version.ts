import { readFileSync } from "node:fs";

/**
 * The version in a package's package.json, read relative to a module of that package that sits
 * directly in `src/` or `dist/` (pass its `import.meta.url`).
 */
export function packageVersion(moduleUrl: string): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", moduleUrl), "utf8")) as { version: string };
  return pkg.version;
}

export const CORE_VERSION = packageVersion(import.meta.url);
