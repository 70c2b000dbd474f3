import type { AgentCommand, AgentCommandInput } from "@corral/core";
import { PROVIDER_ID } from "./setup.js";
import type { OpencodeOptions } from "./options.js";

/**
 * Builds one iteration's `opencode run` invocation. The prompt goes through stdin (`opencode run`
 * reads it when stdin is not a terminal), so it can be any size. `--title` names the session, which
 * saves the extra model request OpenCode otherwise spends on a title.
 */
export function opencodeCommand(options: OpencodeOptions, input: AgentCommandInput): AgentCommand {
  const argv = [options.executable, "run", "--format", "json", "--model", `${PROVIDER_ID}/${options.model}`, "--title", `corral iteration ${input.iteration}`];
  if (options.autoApprove) argv.push("--auto");
  if (options.agent !== undefined) argv.push("--agent", options.agent);
  if (options.variant !== undefined) argv.push("--variant", options.variant);
  if (input.resumeSessionId !== undefined) argv.push("--session", input.resumeSessionId);
  argv.push(...options.extraArgs);
  return { argv, stdin: input.prompt };
}
