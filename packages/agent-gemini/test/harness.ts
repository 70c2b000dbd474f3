import { chmodSync, existsSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The real Gemini CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
export const API_KEY = "gm-test-e2e-gemini-0123456789";

const NODE = "/usr/bin/node";
const LIBS = ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"];
const ROOT_NODE_MODULES = fileURLToPath(new URL("../../../node_modules", import.meta.url));

/**
 * Gemini CLI is a Node program and the container test image has no Node: the host's node (and the
 * two C++ runtime libraries it links that the image lacks), the installed CLI (at its own path, so
 * pnpm's links resolve) and a `gemini` shim that starts it are mounted read-only. Undefined where
 * the host's node is not the glibc build at /usr/bin/node.
 */
export function containerMounts(): Array<{ host: string; sandbox?: string }> | undefined {
  if (![NODE, ...LIBS].every(existsSync) || !existsSync(join(BIN_DIR, "gemini"))) return undefined;
  const cli = realpathSync(join(PACKAGE_DIR, "node_modules/@google/gemini-cli"));
  const shim = join(mkdtempSync(join(tmpdir(), "corral-gemini-shim-")), "gemini");
  writeFileSync(shim, `#!/bin/sh\nexec node ${cli}/bundle/gemini.js "$@"\n`);
  chmodSync(shim, 0o755);
  return [
    { host: NODE, sandbox: "/usr/local/bin/node" },
    ...LIBS.map((host) => ({ host: realpathSync(host), sandbox: host })),
    { host: ROOT_NODE_MODULES },
    { host: shim, sandbox: "/usr/local/bin/gemini" },
  ];
}
