import { existsSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The real Copilot CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
export const API_KEY = "sk-test-e2e-copilot-0123456789";

const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const LIBS = ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1", "/usr/lib/x86_64-linux-gnu/libutil.so.1"];

/**
 * What `copilot` really executes: `@github/copilot`'s npm-loader.js (Node) starts the platform
 * package's native binary (a Node single-executable application, glibc), which needs nothing else.
 */
export function nativeCopilot(): string | undefined {
  try {
    const loader = realpathSync(fileURLToPath(new URL("../node_modules/@github/copilot", import.meta.url)));
    const exe = fileURLToPath(new URL(`../copilot-linux-${process.arch}/copilot`, `file://${loader}/`));
    return existsSync(exe) ? realpathSync(exe) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The container test image has no C++ runtime: the native binary is mounted as `/usr/local/bin/copilot`
 * with the libraries it and its runtime addon link (libstdc++, libgcc_s, libutil), read-only. Undefined where either is missing.
 */
export function containerMounts(): Array<{ host: string; sandbox?: string }> | undefined {
  const exe = nativeCopilot();
  if (!exe || !LIBS.every(existsSync)) return undefined;
  return [
    { host: exe, sandbox: "/usr/local/bin/copilot" },
    ...LIBS.map((host) => ({ host: realpathSync(host), sandbox: host })),
    // Its HTTP client wants trust roots as soon as a proxy is set (the container's egress proxy), even for http://.
    ...(existsSync(CA_BUNDLE) ? [{ host: realpathSync(CA_BUNDLE), sandbox: CA_BUNDLE }] : []),
  ];
}
