import type { AgentCommand, AgentCommandInput } from "@corral/core";
import type { CodexOptions } from "./options.js";

/**
 * Builds one iteration's `codex exec` invocation. The prompt goes through stdin (`-`), so it can
 * be any size. A resume is `codex exec [flags] resume <id> -`: the flags belong to `exec`.
 */
export function codexCommand(options: CodexOptions, input: AgentCommandInput): AgentCommand {
  const argv = [options.executable, "exec", "--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "-m", options.model];
  if (options.effort !== undefined) argv.push("-c", `model_reasoning_effort="${options.effort}"`);
  argv.push(...options.extraArgs);
  if (input.resumeSessionId !== undefined) argv.push("resume", input.resumeSessionId);
  argv.push("-");
  return { argv, stdin: input.prompt };
}
