import type { AgentCommand, AgentCommandInput } from "@corral/core";
import { PROVIDER_ID } from "./setup.js";
import type { PiOptions } from "./options.js";

/**
 * Builds one iteration's `pi` invocation: print mode with the JSON event stream. The prompt goes
 * through stdin (pi reads piped stdin as the message), so it can be any size.
 */
export function piCommand(options: PiOptions, input: AgentCommandInput): AgentCommand {
  const argv = [options.executable, "--print", "--mode", "json", "--provider", PROVIDER_ID, "--model", options.model];
  if (options.thinking !== undefined) argv.push("--thinking", options.thinking);
  if (options.tools !== undefined) argv.push("--tools", options.tools.join(","));
  if (options.appendSystemPrompt !== undefined) argv.push("--append-system-prompt", options.appendSystemPrompt);
  if (input.resumeSessionId !== undefined) argv.push("--session", input.resumeSessionId);
  argv.push(...options.extraArgs);
  return { argv, stdin: input.prompt };
}
