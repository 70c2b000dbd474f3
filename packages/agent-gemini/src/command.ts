import type { AgentCommand, AgentCommandInput } from "@corral/core";
import type { GeminiOptions } from "./options.js";

/**
 * Builds one iteration's `gemini` invocation: headless (`-p ""` with the prompt on stdin, which
 * Gemini CLI reads first, so it can be any size), streaming JSON, every tool approved (`--yolo`:
 * the sandbox is the boundary), the workspace trusted for this session. A resume names the session.
 */
export function geminiCommand(options: GeminiOptions, input: AgentCommandInput): AgentCommand {
  const argv = [options.executable, "--output-format", "stream-json", "--yolo", "--skip-trust"];
  if (options.model !== undefined) argv.push("-m", options.model);
  if (input.resumeSessionId !== undefined) argv.push("--resume", input.resumeSessionId);
  argv.push(...options.extraArgs, "-p", "");
  return { argv, stdin: input.prompt };
}
