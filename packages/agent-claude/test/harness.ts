import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { run, type RunEvent, type RunOptions } from "@corral/core";
import type { MockModelApi } from "@corral/mock-model-api";
import { claude, type ClaudeOptionsInput } from "../src/index.js";

/** The real Claude Code CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const API_KEY = "sk-ant-test-e2e-0123456789";

/** A model name unique to one test, so the process table can be searched for exactly its processes. */
export const uniqueModel = () => `claude-e2e-${randomBytes(4).toString("hex")}`;

/** Runs the claude agent through core's run() against the mock API, collecting every event. */
export async function runClaude<T = undefined>(
  api: MockModelApi,
  options: Partial<RunOptions<T>> & { cwd: string; claude?: ClaudeOptionsInput },
  events: RunEvent[] = [],
) {
  const { claude: claudeOptions, ...rest } = options;
  return run<T>({
    agent: claude({ model: uniqueModel(), ...claudeOptions }),
    prompt: "Write hello.txt and commit it. Say <promise>COMPLETE</promise> when done.",
    handleProcessSignals: false,
    idleTimeout: 60,
    hostEnv: { PATH: `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: api.url },
    env: { CLAUDE_CODE_MAX_RETRIES: "0" },
    onEvent: (event) => events.push(event),
    ...rest,
  });
}

export const COMMIT_SCRIPT = "printf 'hello from the agent\\n' > hello.txt && git add hello.txt && git commit -q -m 'agent: add hello.txt' && echo committed";
