import { chmodSync, existsSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Mount } from "@corral/core";

/** The real pi CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const API_KEY = "sk-test-e2e-pi-0123456789abcdef";

export const havePi = () => existsSync(join(BIN_DIR, "pi"));

export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

const LIBS = ["/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libgcc_s.so.1"];

/**
 * pi is a Node program and the test image has no Node: the host's node (and the two C++ runtime libraries it
 * links that the image lacks) on the image's PATH, the package's and the repository's node_modules at their
 * host paths, read-only, and a `pi` shim on the image's PATH that starts the installed CLI with that node.
 * Undefined where the host has no such node.
 */
export function piContainerMounts(): Mount[] | undefined {
  if (!existsSync("/usr/bin/node") || !LIBS.every((lib) => existsSync(lib)) || !havePi()) return undefined;
  const nodeModules = [fileURLToPath(new URL("../node_modules", import.meta.url)), fileURLToPath(new URL("../../../node_modules", import.meta.url))];
  const cli = realpathSync(join(PACKAGE_DIR, "node_modules/@mariozechner/pi-coding-agent/dist/cli.js"));
  const shim = join(mkdtempSync(join(tmpdir(), "corral-pi-shim-")), "pi");
  writeFileSync(shim, `#!/bin/sh\nexec node ${cli} "$@"\n`);
  chmodSync(shim, 0o755);
  return [
    { host: realpathSync("/usr/bin/node"), sandbox: "/usr/local/bin/node" },
    ...LIBS.map((lib) => ({ host: realpathSync(lib), sandbox: lib })),
    ...nodeModules.map((host) => ({ host, readonly: true })),
    { host: shim, sandbox: "/usr/local/bin/pi" },
  ];
}
