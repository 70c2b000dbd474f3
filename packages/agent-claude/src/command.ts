import type { AgentCommand, AgentCommandInput } from "@corral/core";
import type { ClaudeOptions } from "./options.js";

/**
 * Builds one iteration's `claude` invocation. The prompt always goes through stdin (print mode
 * reads it from there), so it can be any size: Linux caps a single argv string at 128 KiB.
 */
export function claudeCommand(options: ClaudeOptions, input: AgentCommandInput): AgentCommand {
  const argv = [options.executable, "--print", "--output-format", "stream-json", "--verbose", "--model", options.model];
  argv.push(...(options.permissionMode === "bypassPermissions" ? ["--dangerously-skip-permissions"] : ["--permission-mode", options.permissionMode]));
  if (options.maxTurns !== undefined) argv.push("--max-turns", String(options.maxTurns));
  if (options.appendSystemPrompt !== undefined) argv.push("--append-system-prompt", options.appendSystemPrompt);
  if (options.effort !== undefined) argv.push("--effort", options.effort);
  if (input.resumeSessionId !== undefined) argv.push("--resume", input.resumeSessionId);
  argv.push(...options.extraArgs);
  return { argv, stdin: input.prompt };
}
