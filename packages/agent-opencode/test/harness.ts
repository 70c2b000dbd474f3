import { randomBytes } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run, type RunEvent, type RunOptions } from "@corral/core";
import type { MockModelApi } from "@corral/mock-model-api";
import { opencode, type OpencodeOptionsInput } from "../src/index.js";

/** The real OpenCode CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const API_KEY = "sk-test-e2e-opencode-0123456789";

/**
 * What `opencode` really executes: `opencode-ai`'s `bin/opencode.exe`, which its postinstall replaces with the
 * platform package's native (Bun-compiled, glibc) binary. Undefined when it is not installed.
 */
export function nativeOpencode(): string | undefined {
  const exe = fileURLToPath(new URL("../node_modules/opencode-ai/bin/opencode.exe", import.meta.url));
  return existsSync(exe) ? realpathSync(exe) : undefined;
}

export const haveOpencode = () => existsSync(join(BIN_DIR, "opencode"));

/** A model name unique to one test, so the process table can be searched for exactly its processes. */
export const uniqueModel = () => `oc-e2e-${randomBytes(4).toString("hex")}`;

/** Runs the opencode agent through core's run() against the mock's chat completions API, collecting every event. */
export async function runOpencode<T = undefined>(
  api: MockModelApi,
  options: Partial<RunOptions<T>> & { cwd: string; opencode?: Partial<OpencodeOptionsInput>; path?: string },
  events: RunEvent[] = [],
) {
  // `path`: the sandbox's PATH (a container's own); default: the installed CLI first, then the host's.
  const { opencode: opencodeOptions, path = `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, ...rest } = options;
  return run<T>({
    agent: opencode({ model: uniqueModel(), baseUrl: `${api.url}/v1`, ...opencodeOptions }),
    prompt: "Write hello.txt and commit it. Say <promise>COMPLETE</promise> when done.",
    handleProcessSignals: false,
    idleTimeout: 120,
    hostEnv: { PATH: path, OPENAI_API_KEY: API_KEY },
    onEvent: (event) => events.push(event),
    ...rest,
  });
}

export const COMMIT_SCRIPT = "printf 'hello from the agent\\n' > hello.txt && git add hello.txt && git commit -q -m 'agent: add hello.txt' && echo committed";
