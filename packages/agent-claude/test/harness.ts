import { closeSync, openSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run, type RunEvent, type RunOptions } from "@corral/core";
import type { MockModelApi } from "@corral/mock-model-api";
import { claude, type ClaudeOptionsInput } from "../src/index.js";

/** The real Claude Code CLI this package installs as a devDependency (put on PATH, never a plugin default). */
export const BIN_DIR = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
export const API_KEY = "sk-ant-test-e2e-0123456789";

/**
 * What `claude` really executes: the npm package's postinstall copies the platform's native binary
 * (glibc, no Node) over its `bin/claude.exe`, the file the `claude` bin names. Undefined when that
 * did not happen (installed with --ignore-scripts: the file is then a placeholder).
 */
export function nativeClaude(): string | undefined {
  try {
    const exe = join(dirname(createRequire(import.meta.url).resolve("@anthropic-ai/claude-code/package.json")), "bin", "claude.exe");
    return isElf(exe) ? exe : undefined;
  } catch {
    return undefined;
  }
}

function isElf(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString("latin1") === "\x7fELF";
  } finally {
    closeSync(fd);
  }
}

/** Runs the claude agent through core's run() against the mock API, collecting every event (for the cases the kit does not cover). */
export async function runClaude<T = undefined>(
  api: MockModelApi,
  options: Partial<RunOptions<T>> & { cwd: string; claude?: ClaudeOptionsInput },
  events: RunEvent[] = [],
) {
  const { claude: claudeOptions, ...rest } = options;
  return run<T>({
    agent: claude({ model: "claude-e2e-retries", ...claudeOptions }),
    prompt: "Write hello.txt and commit it. Say <promise>COMPLETE</promise> when done.",
    handleProcessSignals: false,
    idleTimeout: 60,
    hostEnv: { PATH: `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: api.url },
    env: { CLAUDE_CODE_MAX_RETRIES: "0" },
    onEvent: (event) => events.push(event),
    ...rest,
  });
}
