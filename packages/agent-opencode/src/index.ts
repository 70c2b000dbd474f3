/**
 * @corral/agent-opencode — the `opencode` agent plugin: runs OpenCode's `opencode run --format json`,
 * one iteration per exec, against one OpenAI-compatible provider corral configures, and parses its
 * JSON events into corral's AgentEvents.
 */
import { defineAgent, packageVersion, type Agent } from "@corral/core";
import { opencodeCommand } from "./command.js";
import { opencodeOptions, type OpencodeOptionsInput } from "./options.js";
import { createOpencodeParser } from "./parser.js";
import { opencodeApi, opencodeSetup } from "./setup.js";

/** The `opencode` agent plugin. */
export const opencodeAgent = defineAgent({
  name: "opencode",
  version: packageVersion(import.meta.url),
  packageName: "@corral/agent-opencode",
  description: "OpenCode CLI (opencode run --format json)",
  options: opencodeOptions,
  create: (options): Agent => ({
    name: "opencode",
    env: { credentials: [options.envKey], passthrough: ["OPENAI_BASE_URL"] },
    executable: { name: options.executable, option: "executable" },
    setup: (input) => opencodeSetup(options, input),
    api: (env) => opencodeApi(options, env),
    command: (input) => opencodeCommand(options, input),
    parser: createOpencodeParser,
  }),
});

/** `run({ agent: opencode({ model: "gpt-5" }) })`: the plugin with validated options. */
export const opencode = (options: OpencodeOptionsInput) => opencodeAgent.configure(options);

export { opencodeOptions, OPENAI_BASE_URL } from "./options.js";
export type { OpencodeOptions, OpencodeOptionsInput } from "./options.js";
export { createOpencodeParser } from "./parser.js";
export { opencodeConfig, PROVIDER_ID } from "./setup.js";
export default opencodeAgent;
