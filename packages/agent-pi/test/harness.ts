import { randomBytes } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run, type Mount, type RunEvent, type RunOptions } from "@corral/core";
import type { MockModelApi } from "@corral/mock-model-api";
import { pi, type PiOptionsInput } from "../src/index.js";

/** The real pi CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const API_KEY = "sk-test-e2e-pi-0123456789abcdef";

export const havePi = () => existsSync(join(BIN_DIR, "pi"));

/** A model name unique to one test, so the process table can be searched for exactly its processes. */
export const uniqueModel = () => `pi-e2e-${randomBytes(4).toString("hex")}`;

/** Runs the pi agent through core's run() against the mock's chat completions API, collecting every event. */
export async function runPi<T = undefined>(
  api: MockModelApi,
  options: Partial<RunOptions<T>> & { cwd: string; pi?: Partial<PiOptionsInput>; path?: string },
  events: RunEvent[] = [],
) {
  // `path`: the sandbox's PATH (a container's own); default: the installed CLI first, then the host's.
  const { pi: piOptions, path = `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, ...rest } = options;
  return run<T>({
    agent: pi({ model: uniqueModel(), baseUrl: `${api.url}/v1`, ...piOptions }),
    prompt: "Write hello.txt and commit it. Say <promise>COMPLETE</promise> when done.",
    handleProcessSignals: false,
    idleTimeout: 120,
    hostEnv: { PATH: path, OPENAI_API_KEY: API_KEY },
    onEvent: (event) => events.push(event),
    ...rest,
  });
}

export const COMMIT_SCRIPT = "printf 'hello from the agent\\n' > hello.txt && git add hello.txt && git commit -q -m 'agent: add hello.txt' && echo committed";

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
