/**
 * @corral/agent-codex — the `codex` agent plugin: runs `codex exec --json` with a per-run
 * CODEX_HOME, one iteration per exec, and parses its JSONL events into corral's AgentEvents.
 */
import { defineAgent, packageVersion, type Agent } from "@corral/core";
import { codexCommand } from "./command.js";
import { codexOptions, type CodexOptionsInput } from "./options.js";
import { createCodexParser } from "./parser.js";
import { codexApi, codexSetup } from "./setup.js";
import { keptThreadTotals } from "./kept-threads.js";
import { ThreadUsage } from "./usage.js";

/** The `codex` agent plugin. */
export const codexAgent = defineAgent({
  name: "codex",
  version: packageVersion(import.meta.url),
  packageName: "@corral/agent-codex",
  description: "OpenAI Codex CLI (codex exec --json)",
  options: codexOptions,
  create: (options): Agent => {
    const threads = new ThreadUsage();
    return {
      name: "codex",
      env: { credentials: [options.envKey], passthrough: ["OPENAI_BASE_URL"] },
      executable: { name: options.executable, option: "executable" },
      // Codex keeps its threads under CODEX_HOME (~/.codex)/sessions: `exec resume` reads them there.
      sessionFiles: [".codex/sessions"],
      setup: async (input) => {
        // A resumed run's HOME holds the threads an earlier run kept: their totals are where its first exec starts.
        for (const [thread, total] of await keptThreadTotals(input.home)) threads.remember(thread, total);
        return codexSetup(options, input);
      },
      api: (env) => codexApi(options, env),
      command: (input) => codexCommand(options, input),
      // A resumed exec reports the thread's total usage: its parser subtracts what the thread had.
      parser: (input) => createCodexParser({ threads, ...(input.resumeSessionId !== undefined ? { resumedThreadId: input.resumeSessionId } : {}) }),
    };
  },
});

/** `run({ agent: codex({ model: "gpt-5-codex" }) })`: the plugin with validated options. */
export const codex = (options: CodexOptionsInput) => codexAgent.configure(options);

export { codexOptions, OPENAI_BASE_URL } from "./options.js";
export type { CodexOptions, CodexOptionsInput } from "./options.js";
export { createCodexParser } from "./parser.js";
export type { CodexParserOptions } from "./parser.js";
export { codexConfig } from "./setup.js";
export default codexAgent;
