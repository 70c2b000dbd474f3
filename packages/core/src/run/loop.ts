import { StructuredOutputError } from "../errors.js";
import type { HookSpec } from "../hooks.js";
import type { Workspace } from "../isolation.js";
import { extractOutput } from "../output.js";
import { renderTemplate, runPromptCommand } from "../prompt.js";
import type { SandboxHandle } from "../sandbox.js";
import { addUsage, emptyUsage } from "../usage.js";
import { withProgram, type AgentProgram } from "./agent-program.js";
import { BudgetExceededError, budgetStopOf, describeBudgetStop } from "./budget.js";
import { runIteration, type IterationContext, type IterationOutcome } from "./iteration.js";
import type { RunScope } from "./scope.js";
import { plainSessionId } from "./session.js";
import type { Settings } from "./settings.js";
import type { HookRunner } from "./setup.js";

/** How the loop ended: the last iteration's outcome, the signal that ended it (if one did), the structured output. */
export interface LoopResult<T> {
  last: IterationOutcome;
  completion?: string;
  output: T;
}

/**
 * Phase "iterations" and "output": up to maxIterations turns of the agent, each with its prompt
 * (the template rendered, `` !`cmd` `` run inside the sandbox) and hooks, until the completion
 * signal; then the structured output, read from the last answer and asked for again in the same
 * session while it is invalid.
 */
export async function iterate<T>(scope: RunScope<T>, run: { handle: SandboxHandle; workspace: Workspace; hook: HookRunner; program: AgentProgram | undefined; home: string }): Promise<LoopResult<T>> {
  const { options, settings, emit, progress } = scope;
  const { handle, workspace, hook } = run;
  const ctx: IterationContext = {
    agent: withProgram(scope.agent, run.program),
    handle,
    settings,
    home: run.home,
    cwd: scope.held.copy?.cwd ?? workspace.cwd,
    limits: options.limits ?? {},
    redactor: scope.redactor,
    signal: scope.signal,
    emit,
    account: (spent) => (progress.usage = addUsage(progress.usage, spent)),
    checkBudget: scope.checkBudget,
    keepText: options.output !== undefined,
  };
  let afterIteration = { output: "", exitCode: "" };
  const promptFor = async (iteration: number): Promise<string> => {
    if (settings.template === undefined) return settings.prompt;
    const builtins = promptBuiltins({ workspace, runId: scope.runId, name: options.name, iteration, settings, afterIteration });
    return renderTemplate(settings.template, { ...settings.promptArgs, ...builtins }, (command) =>
      runPromptCommand(command, handle, { cwd: scope.held.copy?.cwd ?? workspace.cwd, timeoutMs: settings.promptCommandTimeoutMs, signal: scope.signal }),
    );
  };
  let last: IterationOutcome = { text: [], usage: emptyUsage() };
  let completion: string | undefined;
  // A resumed run's first iteration continues the earlier run's session; an id that is not plain is not passed on.
  // Only an agent that says where its sessions live (`sessionFiles`) can find one in this run's new HOME.
  let resumeSession = scope.agent.sessionFiles ? plainSessionId(options.resume?.sessionId) : undefined;
  if (options.resume?.sessionId !== undefined && resumeSession === undefined) {
    const why = scope.agent.sessionFiles ? `the session id run ${options.resume.runId} reported is not a plain id` : `the ${scope.agent.name} agent does not say where its CLI keeps sessions (sessionFiles)`;
    emit({ type: "log", level: "warn", message: `This run starts a new agent session: ${why}.` });
  }
  for (let iteration = 1; iteration <= settings.maxIterations; iteration++) {
    progress.iterations = iteration;
    scope.checkBudget();
    if (budgetStopOf(scope.signal)) {
      progress.iterations = iteration - 1; // never started
      break;
    }
    scope.throwIfAborted();
    emit({ type: "iteration.started", iteration, maxIterations: settings.maxIterations });
    for (const spec of settings.hooks.beforeIteration) await hook("beforeIteration", spec, handle);
    last = await runIteration(ctx, iteration, await promptFor(iteration), resumeSession);
    resumeSession = undefined;
    if (budgetStopOf(scope.signal)) break;
    if (settings.hooks.afterIteration.length) afterIteration = await runAfterIteration(settings.hooks.afterIteration, (spec) => hook("afterIteration", spec, handle));
    if (last.signal !== undefined) {
      completion = last.signal;
      break;
    }
  }

  let output = undefined as T;
  const stop = budgetStopOf(scope.signal);
  if (options.output && stop) {
    throw new BudgetExceededError(`The run stopped before its structured answer: ${describeBudgetStop(stop)}.`, stop);
  }
  if (options.output) {
    const spec = options.output;
    for (let retries = 0; ; ) {
      try {
        output = await extractOutput(spec, last.text.join("\n"));
        break;
      } catch (error) {
        if (!(error instanceof StructuredOutputError) || retries >= spec.maxRetries || !last.sessionId) throw error;
        retries++;
        emit({ type: "log", level: "warn", message: `Structured output invalid (${error.message}); asking the agent again (${retries}/${spec.maxRetries}).` });
        const feedback = `Your answer could not be used: ${error.message}\nReply again with only a <${spec.tag}>…</${spec.tag}> block${spec.kind === "object" ? " containing JSON that matches the requested schema" : ""}.`;
        last = await runIteration(ctx, progress.iterations, feedback, last.sessionId);
      }
    }
  }
  return { last, ...(completion !== undefined ? { completion } : {}), output };
}

async function runAfterIteration(specs: HookSpec[], run: (spec: HookSpec) => Promise<{ exitCode: number | null; output: string[] }>): Promise<{ output: string; exitCode: string }> {
  const outputs: string[] = [];
  let exitCode: number | null = 0;
  for (const spec of specs) {
    const result = await run(spec);
    outputs.push(...result.output);
    if (result.exitCode !== 0) exitCode = result.exitCode;
  }
  return { output: outputs.join("\n"), exitCode: String(exitCode ?? "killed") };
}

/** The `{{…}}` values every prompt template can use. */
function promptBuiltins(input: { workspace: Workspace; runId: string; name: string | undefined; iteration: number; settings: Settings; afterIteration: { output: string; exitCode: string } }): Record<string, string> {
  return {
    branch: input.workspace.branch ?? "",
    baseBranch: input.workspace.baseBranch ?? "",
    runName: input.name ?? input.runId,
    runId: input.runId,
    iteration: String(input.iteration),
    maxIterations: String(input.settings.maxIterations),
    afterIterationOutput: input.afterIteration.output,
    afterIterationExitCode: input.afterIteration.exitCode,
  };
}
