import { CorralError } from "../errors.js";
import type { Workspace } from "../isolation.js";
import type { SandboxHandle } from "../sandbox.js";
import { withProgram, type AgentProgram } from "./agent-program.js";
import type { LoopResult } from "./loop.js";
import type { RunScope } from "./scope.js";

/**
 * Phase "iterations" of an interactive run (`RunOptions.interactive`): one command with the caller's
 * terminal, in the sandbox the iterations would have had. The agent's own argv[0] (as the run found
 * it) and its per-exec env come from the command it would have built for iteration 1, so the env is
 * exactly an unattended run's; the prompt is the human's to type.
 */
export async function attachSession<T>(scope: RunScope<T>, run: { handle: SandboxHandle; workspace: Workspace; program: AgentProgram | undefined; home: string }): Promise<{ loop: LoopResult<T>; exitCode: number | null }> {
  const { handle, workspace } = run;
  if (!handle.attach || !scope.sandbox.capabilities?.attach) {
    throw new CorralError("E_ATTACH_UNSUPPORTED", `The ${scope.sandbox.name} sandbox cannot attach a terminal.`, { hint: "Use a sandbox that can (host, bwrap, podman, docker)." });
  }
  const command = withProgram(scope.agent, run.program).command({ prompt: "", iteration: 1, home: run.home, cwd: workspace.cwd });
  const argv = scope.options.interactive?.argv?.length ? [...scope.options.interactive.argv] : scope.agent.executable ? [command.argv[0]!] : undefined;
  if (!argv) throw new CorralError("E_SHELL_ARGV", `The ${scope.agent.name} agent names no program to open interactively.`, { hint: "Name the command: corral shell <run> -- sh" });
  scope.progress.iterations = 1;
  scope.emit({ type: "iteration.started", iteration: 1, maxIterations: 1 });
  const result = await handle.attach(argv, { cwd: workspace.cwd, ...(command.env ? { env: command.env } : {}), signal: scope.signal });
  scope.throwIfAborted();
  return { loop: { last: { text: [], usage: scope.progress.usage }, output: undefined as T }, exitCode: result.exitCode };
}
