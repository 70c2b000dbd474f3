import { UsageError, type Display, type MergeBackOutcome, type RunEvent } from "@corral/core";
import { inert, inertJson } from "@corral/core/plugin-kit";
import {
  boardDisplay,
  loadTasksFile,
  loadTasksFromCommand,
  ndjsonDisplay,
  reclaimInterrupted,
  RETRY_STATES,
  retryTasks,
  runMany,
  summarizeTask,
  terminalDisplay,
  totalsByAgent,
  type CorralRunOptions,
  type Task,
  type TaskOutcome,
} from "corral";
import { resolve } from "node:path";
import { numberFlag } from "../args.js";
import { usd } from "../format.js";
import { EXIT, type CliIO } from "../io.js";
import { reportError, reportJsonError } from "../report.js";
import { blockOnSlowReaders, budgetFromFlags, runOptionsFromFlags, trapInterrupts, type RunFlagValues } from "../run-options.js";

/** `corral run --tasks FILE | --tasks-cmd CMD [--parallel N]`: a fleet, a live board, a summary table. */
export async function runFleet(values: RunFlagValues, commandArgv: string[], io: CliIO): Promise<number> {
  if ([values.tasks, values["tasks-cmd"], values["retry-failed"]].filter((v) => v !== undefined).length > 1) throw new UsageError("Give one of --tasks, --tasks-cmd or --retry-failed.", { hint: "Drop the others." });
  if (values.resume !== undefined) throw new UsageError("--resume continues one run; a fleet's failed tasks run again with --retry-failed FLEET.", { hint: "Drop --resume." });
  if (values["include-incomplete"] !== undefined && values["retry-failed"] === undefined) throw new UsageError("--include-incomplete only goes with --retry-failed.", { hint: "Add --retry-failed FLEET, or drop it." });
  for (const flag of ["prompt", "prompt-file", "prompt-arg", "name"] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply to a fleet: each task has its own.`, { hint: `Put it in the task list, or drop --${flag}.` });
  }
  const concurrency = numberFlag("parallel", values.parallel, { integer: true, min: 1 }) ?? 4;
  const options = runOptionsFromFlags(values, commandArgv, io);
  const cwd = options.cwd ?? io.cwd;
  // The whole list is validated before anything starts.
  const tasks = values["retry-failed"] !== undefined ? await retried(values, options, io) : values.tasks !== undefined ? await loadTasksFile(resolve(io.cwd, values.tasks)) : await loadTasksFromCommand(values["tasks-cmd"]!, cwd);

  blockOnSlowReaders(io);
  const board = io.stderr.isTTY ? boardDisplay({ stream: io.stderr, tasks: tasks.map((t) => t.name) }) : undefined;
  const displays: Display[] = [board ?? terminalDisplay({ stream: io.stderr, summary: false })];
  if (values.json) displays.push(ndjsonDisplay(io.stdout));
  const controller = new AbortController();
  // Under a live board the interrupt notice goes above it, and the board is redrawn under it.
  const stop = trapInterrupts(controller, board ? { ...io, stderr: Object.assign(Object.create(io.stderr) as CliIO["stderr"], { write: (text: string) => (board.interrupted(text), true) }) } : io);
  let outcomes: TaskOutcome[];
  // Each task's merge-back, for the summary (a failed merge leaves no result to read it from).
  const merges = new Map<string, MergeBackOutcome>();
  const onEvent = (event: RunEvent) => {
    if (event.type === "workspace.released" && event.result.merge && event.name !== undefined) merges.set(event.name, event.result.merge);
  };
  try {
    const fleetBudget = budgetFromFlags(values, "fleet-");
    const fleet = runMany(tasks, { ...options, concurrency, failFast: values["fail-fast"] ?? false, ...(Object.keys(fleetBudget).length ? { fleetBudget } : {}), displays, onEvent, signal: controller.signal, handleProcessSignals: false });
    outcomes = await fleet.results;
  } catch (error) {
    if (values.json) reportJsonError(io, error);
    return reportError(io, error);
  } finally {
    stop();
    for (const display of displays) await display.close?.();
  }
  io.stderr.write(renderFleetSummary(outcomes, merges));
  for (const outcome of outcomes) {
    if (outcome.error && outcome.status === "failed") io.stderr.write(inert(`\n[${outcome.name}] ${outcome.error.message}${outcome.error.hint ? `\n  hint: ${outcome.error.hint}` : ""}\n`));
  }
  if (controller.signal.aborted && !outcomes.some((o) => o.status === "skipped")) return EXIT.interrupted;
  if (outcomes.every((o) => o.status === "succeeded")) return EXIT.ok;
  return outcomes.every((o) => o.status === "succeeded" || o.status === "incomplete") ? EXIT.incomplete : EXIT.failed;
}

/**
 * `--retry-failed FLEET`: the fleet's failed, aborted and interrupted tasks (and incomplete ones with
 * `--include-incomplete`), said before they start (on stderr; with --json also as a first `retry` line
 * on stdout); each continues its own branch (`branchExists: "reuse"`), interrupted ones reclaimed first.
 */
async function retried(values: RunFlagValues, options: CorralRunOptions, io: CliIO): Promise<Task[]> {
  const states = values["include-incomplete"] ? [...RETRY_STATES, "incomplete" as const] : RETRY_STATES;
  const { fleet, tasks, safety } = await retryTasks(values["retry-failed"]!, { ...(options.cwd ? { cwd: options.cwd } : {}), states, ...(options.agent !== undefined ? { agent: options.agent } : {}), caller: options });
  for (const { from } of tasks) await reclaimInterrupted(from, options);
  options.branchExists = "reuse";
  Object.assign(options, safety.options);
  if (safety.warnings.length) options.warnings = [...(options.warnings ?? []), ...safety.warnings];
  io.stderr.write(inert(`corral: retrying ${tasks.length} task(s) of fleet ${fleet}:\n${tasks.map(({ task, from }) => `  ${task.name}  ${from.state}  (run ${from.id})`).join("\n")}\n`));
  if (values.json) io.stdout.write(`${inertJson({ type: "retry", fleet, tasks: tasks.map(({ task, from }) => ({ name: task.name, runId: from.id, state: from.state, ...(from.branch ? { branch: from.branch } : {}) })) })}\n`);
  return tasks.map((t) => t.task);
}

/**
 * task, status, agent (and model), iterations, commits, branch, tokens, cost, duration — one row per
 * task, failed and aborted ones too — then the tokens and cost per agent, what each merge-back did, and
 * where kept work lies (inert: branches, paths and model names came from the runs).
 */
export function renderFleetSummary(outcomes: readonly TaskOutcome[], merges: ReadonlyMap<string, MergeBackOutcome> = new Map()): string {
  const tasks = outcomes.map(summarizeTask);
  const rows = [
    ["TASK", "STATUS", "AGENT", "ITER", "COMMITS", "BRANCH", "TOKENS", "COST", "DURATION"],
    ...tasks.map((t) => [
      t.name,
      t.status,
      t.agent ? `${t.agent}${t.model ? ` (${t.model})` : ""}` : "-",
      String(t.iterations ?? "-"),
      String(t.commits ?? "-"),
      t.branch ?? "-",
      String(t.tokens ?? "-"),
      usd(t.costUsd),
      `${(t.durationMs / 1000).toFixed(1)}s`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const succeeded = tasks.filter((t) => t.status === "succeeded").length;
  const table = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
  const agents = totalsByAgent(tasks);
  // Per agent only when the fleet mixed them: with one agent the last line says it all.
  const perAgent = agents.length > 1 ? `by agent:\n${agents.map((a) => `  ${a.agent}: ${a.succeeded}/${a.tasks} succeeded, ${a.tokens} tokens, cost ${usd(a.costUsd)}`).join("\n")}\n` : "";
  const kept = tasks.filter((t) => t.keptPath).map((t) => `  ${t.name}: ${t.keptPath}`);
  const merged = tasks.flatMap((t) => (merges.has(t.name) ? [`  ${t.name}: ${merges.get(t.name)!.message}`] : []));
  return inert(
    `\n${table}\n${succeeded}/${tasks.length} task(s) succeeded\n${perAgent}${merged.length ? `merge-back:\n${merged.join("\n")}\n` : ""}${kept.length ? `workspaces kept (uncommitted work, for inspection):\n${kept.join("\n")}\n` : ""}`,
  );
}
