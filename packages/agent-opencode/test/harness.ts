import { existsSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The real OpenCode CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
export const API_KEY = "sk-test-e2e-opencode-0123456789";

/**
 * What `opencode` really executes: `opencode-ai`'s `bin/opencode.exe`, which its postinstall replaces with the
 * platform package's native (Bun-compiled, glibc) binary. Undefined when it is not installed.
 */
export function nativeOpencode(): string | undefined {
  const exe = fileURLToPath(new URL("../node_modules/opencode-ai/bin/opencode.exe", import.meta.url));
  return existsSync(exe) ? realpathSync(exe) : undefined;
}
