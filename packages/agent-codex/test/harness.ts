import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run, type RunEvent, type RunOptions } from "@corral/core";
import type { MockModelApi } from "@corral/mock-model-api";
import { codex, type CodexOptionsInput } from "../src/index.js";

/** The real Codex CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
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

/** A model name unique to one test, so the process table can be searched for exactly its processes. */
export const uniqueModel = () => `gpt-e2e-${randomBytes(4).toString("hex")}`;

/** Runs the codex agent through core's run() against the mock API (no retries), collecting every event. */
export async function runCodex<T = undefined>(
  api: MockModelApi,
  options: Partial<RunOptions<T>> & { cwd: string; codex?: Partial<CodexOptionsInput>; path?: string },
  events: RunEvent[] = [],
) {
  // `path`: the sandbox's PATH (a container's own); default: the installed CLI first, then the host's.
  const { codex: codexOptions, path = `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, ...rest } = options;
  return run<T>({
    agent: codex({ model: uniqueModel(), baseUrl: `${api.url}/v1`, maxRetries: 0, ...codexOptions }),
    prompt: "Write hello.txt and commit it. Say <promise>COMPLETE</promise> when done.",
    handleProcessSignals: false,
    idleTimeout: 60,
    hostEnv: { PATH: path, OPENAI_API_KEY: API_KEY },
    onEvent: (event) => events.push(event),
    ...rest,
  });
}

export const COMMIT_SCRIPT = "printf 'hello from the agent\\n' > hello.txt && git add hello.txt && git commit -q -m 'agent: add hello.txt' && echo committed";
