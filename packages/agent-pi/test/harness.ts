import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Mount } from "@corral/core";

/** The real pi CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
export const API_KEY = "sk-test-e2e-pi-0123456789abcdef";
/** pnpm's `pi` shim, by its absolute path: the containers see it where the host does. */
export const PI_SHIM = join(BIN_DIR, "pi");

const LIBS = ["/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libgcc_s.so.1"];

/**
 * pi is a Node program and the test image has no Node: the host's node (and the two C++ runtime libraries it
 * links that the image lacks) on the image's PATH, and the package's and the repository's node_modules at their
 * host paths, read-only, so pnpm's shim runs as on the host. Undefined where the host has no such node.
 */
export function piContainerMounts(): Mount[] | undefined {
  if (!existsSync("/usr/bin/node") || !LIBS.every((lib) => existsSync(lib))) return undefined;
  const nodeModules = [fileURLToPath(new URL("../node_modules", import.meta.url)), fileURLToPath(new URL("../../../node_modules", import.meta.url))];
  return [
    { host: realpathSync("/usr/bin/node"), sandbox: "/usr/local/bin/node" },
    ...LIBS.map((lib) => ({ host: realpathSync(lib), sandbox: lib })),
    ...nodeModules.map((host) => ({ host, readonly: true })),
  ];
}
