import type { AgentCommand, AgentCommandInput } from "@corral/core";
import type { CopilotOptions } from "./options.js";
import { USAGE_FILE } from "./parser.js";

/**
 * Builds one iteration's `copilot` invocation: non-interactive (the prompt is piped on stdin, which
 * Copilot CLI takes as `-p`, so it can be any size), JSON Lines on stdout, no question to a person,
 * no self-update. A resume names the session (`--resume=<id>`, one argv word so an id can never be
 * read as a flag).
 */
export function copilotCommand(options: CopilotOptions, input: AgentCommandInput): AgentCommand {
  const argv = [
    options.executable,
    "--output-format",
    "json",
    options.permissions === "all" ? "--allow-all" : "--allow-all-tools",
    "--no-ask-user",
    "--no-auto-update",
    "--no-color",
    "--model",
    options.model,
  ];
  // The tokens: written at exit to a file in the per-run HOME (Agent.execReport), never on stdout.
  argv.push("--usage-output-file", `${input.home}/${USAGE_FILE}`);
  if (options.reasoningEffort !== undefined) argv.push("--reasoning-effort", options.reasoningEffort);
  if (options.agent !== undefined) argv.push(`--agent=${options.agent}`);
  if (input.resumeSessionId !== undefined) argv.push(`--resume=${input.resumeSessionId}`);
  argv.push(...options.extraArgs);
  return { argv, stdin: input.prompt };
}
