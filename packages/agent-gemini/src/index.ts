/**
 * @corral/agent-gemini — the `gemini` agent plugin: runs Gemini CLI headless
 * (`gemini --output-format stream-json -p ""`, the prompt on stdin) with a per-run
 * ~/.gemini/settings.json, one iteration per exec, and parses its JSON lines into corral's AgentEvents.
 */
import { defineAgent, packageVersion, type Agent } from "@corral/core";
import { geminiCommand } from "./command.js";
import { geminiOptions, type GeminiOptionsInput } from "./options.js";
import { createGeminiParser } from "./parser.js";
import { geminiApi, geminiSetup } from "./setup.js";

/** The `gemini` agent plugin. */
export const geminiAgent = defineAgent({
  name: "gemini",
  version: packageVersion(import.meta.url),
  packageName: "@corral/agent-gemini",
  description: "Google Gemini CLI (gemini --output-format stream-json)",
  options: geminiOptions,
  create: (options): Agent => ({
    name: "gemini",
    env: { credentials: [options.envKey], passthrough: ["GOOGLE_GEMINI_BASE_URL"] },
    executable: { name: options.executable, option: "executable" },
    setup: (input) => geminiSetup(options, input),
    api: (env) => geminiApi(options, env),
    command: (input) => geminiCommand(options, input),
    parser: () => createGeminiParser(),
  }),
});

/** `run({ agent: gemini({ model: "gemini-2.5-pro" }) })`: the plugin with validated options. */
export const gemini = (options: GeminiOptionsInput = {}) => geminiAgent.configure(options);

export { geminiOptions, GEMINI_BASE_URL } from "./options.js";
export type { GeminiOptions, GeminiOptionsInput } from "./options.js";
export { createGeminiParser } from "./parser.js";
export { geminiSettings } from "./setup.js";
export default geminiAgent;
