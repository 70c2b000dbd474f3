/**
 * @corral/agent-claude — the `claude` agent plugin: runs the Claude Code CLI in print mode with
 * stream-json output, one iteration per exec, and parses what it says into corral's AgentEvents.
 */
import { defineAgent, packageVersion, type Agent } from "@corral/core";
import { claudeCommand } from "./command.js";
import { claudeOptions, type ClaudeOptionsInput } from "./options.js";
import { createClaudeParser } from "./parser.js";
import { CLAUDE_CREDENTIALS, CLAUDE_PASSTHROUGH, claudeApi, claudeSetup } from "./setup.js";

/** The `claude` agent plugin. */
export const claudeAgent = defineAgent({
  name: "claude",
  version: packageVersion(import.meta.url),
  packageName: "@corral/agent-claude",
  description: "Claude Code CLI (claude --print, stream-json)",
  options: claudeOptions,
  create: (options): Agent => ({
    name: "claude",
    env: { credentials: [...CLAUDE_CREDENTIALS], passthrough: [...CLAUDE_PASSTHROUGH] },
    executable: { name: options.executable, option: "executable" },
    // Claude Code keeps each session's transcript under ~/.claude/projects/<cwd>/<session>.jsonl: `--resume` reads it there.
    sessionFiles: [".claude/projects"],
    setup: (input) => claudeSetup(options, input),
    api: claudeApi,
    command: (input) => claudeCommand(options, input),
    parser: createClaudeParser,
  }),
});

/** `run({ agent: claude({ model: "opus" }) })`: the plugin with validated options. */
export const claude = (options?: ClaudeOptionsInput) => claudeAgent.configure(options);

export { claudeOptions, DEFAULT_MODEL } from "./options.js";
export type { ClaudeOptions, ClaudeOptionsInput } from "./options.js";
export { createClaudeParser } from "./parser.js";
export { CLAUDE_CREDENTIALS } from "./setup.js";
export default claudeAgent;
