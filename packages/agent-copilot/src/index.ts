/**
 * @corral/agent-copilot — the `copilot` agent plugin: runs GitHub Copilot CLI non-interactively
 * (`--output-format json`), one iteration per exec, against your own OpenAI-compatible (or Azure,
 * Anthropic) provider in offline mode, and parses its JSON Lines into corral's AgentEvents.
 */
import { defineAgent, packageVersion, type Agent } from "@corral/core";
import { copilotCommand } from "./command.js";
import { KEY_ENV, copilotOptions, type CopilotOptionsInput } from "./options.js";
import { createCopilotParser, parseCopilotUsageFile, USAGE_FILE } from "./parser.js";
import { copilotApi, copilotSetup } from "./setup.js";

/** The `copilot` agent plugin. */
export const copilotAgent = defineAgent({
  name: "copilot",
  version: packageVersion(import.meta.url),
  packageName: "@corral/agent-copilot",
  description: "GitHub Copilot CLI (copilot --output-format json, bring your own key)",
  options: copilotOptions,
  create: (options): Agent => ({
    name: "copilot",
    env: { credentials: [KEY_ENV], passthrough: ["COPILOT_PROVIDER_BASE_URL", "OPENAI_BASE_URL"] },
    executable: { name: options.executable, option: "executable" },
    // What `--resume=<id>` needs in a new HOME (checked: the session-state folder alone resumes with its history),
    // and the last usage report: Copilot reports the session's totals, so the next exec counts from it.
    sessionFiles: [".copilot/session-state", USAGE_FILE],
    setup: (input) => copilotSetup(options, input),
    api: (env) => copilotApi(options, env),
    command: (input) => copilotCommand(options, input),
    parser: createCopilotParser,
    // Its tokens are never printed: `--usage-output-file` writes them when the exec ends, read as data.
    execReport: { file: USAGE_FILE, parse: parseCopilotUsageFile },
  }),
});

/** `run({ agent: copilot({ model: "gpt-5" }) })`: the plugin with validated options. */
export const copilot = (options: CopilotOptionsInput) => copilotAgent.configure(options);

export { copilotOptions, KEY_ENV, OPENAI_BASE_URL } from "./options.js";
export type { CopilotOptions, CopilotOptionsInput } from "./options.js";
export { createCopilotParser, parseCopilotUsageFile } from "./parser.js";
export default copilotAgent;
