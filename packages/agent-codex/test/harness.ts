import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { run, type RunEvent, type RunOptions } from "@corral/core";
import type { MockModelApi } from "@corral/mock-model-api";
import { codex, type CodexOptionsInput } from "../src/index.js";

/** The real Codex CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const API_KEY = "sk-test-e2e-codex-0123456789";

/** A model name unique to one test, so the process table can be searched for exactly its processes. */
export const uniqueModel = () => `gpt-e2e-${randomBytes(4).toString("hex")}`;

/** Runs the codex agent through core's run() against the mock API (no retries), collecting every event. */
export async function runCodex<T = undefined>(
  api: MockModelApi,
  options: Partial<RunOptions<T>> & { cwd: string; codex?: Partial<CodexOptionsInput> },
  events: RunEvent[] = [],
) {
  const { codex: codexOptions, ...rest } = options;
  return run<T>({
    agent: codex({ model: uniqueModel(), baseUrl: `${api.url}/v1`, maxRetries: 0, ...codexOptions }),
    prompt: "Write hello.txt and commit it. Say <promise>COMPLETE</promise> when done.",
    handleProcessSignals: false,
    idleTimeout: 60,
    hostEnv: { PATH: `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, OPENAI_API_KEY: API_KEY },
    onEvent: (event) => events.push(event),
    ...rest,
  });
}

export const COMMIT_SCRIPT = "printf 'hello from the agent\\n' > hello.txt && git add hello.txt && git commit -q -m 'agent: add hello.txt' && echo committed";
