/**
 * @corral/agent-pi — the `pi` agent plugin: runs the pi coding agent (`pi --print --mode json`), one
 * iteration per exec, against one OpenAI-compatible provider corral configures, and parses its JSON
 * event stream into corral's AgentEvents.
 */
import { defineAgent, packageVersion, type Agent } from "@corral/core";
import { piCommand } from "./command.js";
import { piOptions, type PiOptionsInput } from "./options.js";
import { createPiParser } from "./parser.js";
import { piApi, piSetup } from "./setup.js";

/** The `pi` agent plugin. */
export const piAgent = defineAgent({
  name: "pi",
  version: packageVersion(import.meta.url),
  packageName: "@corral/agent-pi",
  description: "pi coding agent CLI (pi --print --mode json)",
  options: piOptions,
  create: (options): Agent => ({
    name: "pi",
    env: { credentials: [options.envKey], passthrough: ["OPENAI_BASE_URL"] },
    executable: { name: options.executable, option: "executable" },
    setup: (input) => piSetup(options, input),
    api: (env) => piApi(options, env),
    command: (input) => piCommand(options, input),
    parser: createPiParser,
  }),
});

/** `run({ agent: pi({ model: "gpt-5" }) })`: the plugin with validated options. */
export const pi = (options: PiOptionsInput) => piAgent.configure(options);

export { piOptions, OPENAI_BASE_URL } from "./options.js";
export type { PiOptions, PiOptionsInput } from "./options.js";
export { createPiParser } from "./parser.js";
export { piModels, PROVIDER_ID } from "./setup.js";
export default piAgent;
