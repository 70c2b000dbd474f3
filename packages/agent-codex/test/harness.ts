import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The real Codex CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
export const API_KEY = "sk-test-e2e-codex-0123456789";

const TRIPLES: Partial<Record<string, string>> = { x64: "x86_64-unknown-linux-musl", arm64: "aarch64-unknown-linux-musl" };

/**
 * What `codex` really executes: its `bin/codex.js` (Node) only finds the static musl binary in the
 * platform package (`@openai/codex-linux-<arch>`, an optional dependency) and execve()s it.
 * Undefined when that package is not installed (--no-optional, or not Linux x64/arm64).
 */
export function nativeCodex(): string | undefined {
  const triple = TRIPLES[process.arch];
  if (process.platform !== "linux" || !triple) return undefined;
  try {
    const fromCodex = createRequire(createRequire(import.meta.url).resolve("@openai/codex/package.json"));
    const exe = join(dirname(fromCodex.resolve(`@openai/codex-linux-${process.arch}/package.json`)), "vendor", triple, "bin", "codex");
    return existsSync(exe) ? exe : undefined;
  } catch {
    return undefined;
  }
}
