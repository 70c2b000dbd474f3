import { setMaxListeners } from "node:events";
import { resolve } from "node:path";
import {
  AbortError,
  addUsage,
  budgetReached,
  budgetStopOf,
  BudgetStopReason,
  checkBudget,
  emptyUsage,
  linkAbort,
  newRunId,
  toCorralError,
  totalTokens,
  trapProcessSignals,
  UsageError,
  type CorralError,
  type FleetTaskSummary,
  type RunEvent,
  type RunEventBody,
  type RunResult,
  type TaskStatus,
  type Budget,
  type Usage,
} from "@corral/core";
import { configFor, type LoadedConfig } from "./config.js";
import { recordFleet } from "./journal/fleets.js";
import { journalLocation } from "./journal/root.js";
import { resolveRun, run, type CorralRunOptions } from "./run.js";
import type { Task } from "./tasks.js";

/** The options every task of `runMany` shares: `run()`'s, without the per-task ones (name, run id, prompt), plus the fleet's own. */
export interface RunManyOptions extends Omit<CorralRunOptions, "name" | "runId" | "prompt" | "promptFile" | "promptArgs" | "fleetId"> {
  /** How many tasks run at once. Default 4. */
  concurrency?: number;
  /** Stop every other task (and start no more) when one fails. Default false. */
  failFast?: boolean;
  /**
   * What the whole fleet may spend (tokens and cost summed over its tasks as they report them,
   * iterations started, seconds since it started). When one is reached no task starts any more
   * (`skipped`) and the running ones stop as their own budget would stop them (`incomplete`,
   * `stoppedBy.scope: "fleet"`). `budget` is each task's own.
   */
  fleetBudget?: Budget;
}

export type { TaskStatus };

/** What became of one task of a fleet. */
export interface TaskOutcome {
  /** The task's name. */
  name: string;
  /** How it ended. A task that never started is `skipped` (another one failed under failFast) or `aborted` (the fleet was interrupted first). */
  status: TaskStatus;
  /** The run's result, when `run()` returned; absent when it threw or never started. */
  result?: RunResult<unknown> & { logFile?: string };
  /** Why it failed or was aborted, when `run()` threw. */
  error?: CorralError;
  /** The task's `run.finished` event: its iterations, branch, commits and kept workspace, also when it failed. */
  finished?: Extract<RunEvent, { type: "run.finished" }>;
  /** How long the task took, in milliseconds; 0 when it never started. */
  durationMs: number;
  /** The agent plugin that ran it (from its `run.started`), when it started. */
  agent?: string;
  /** The model it was asked to use, else the one the agent reported in its session. */
  model?: string;
}

/** One summary row of a task, whatever became of it. */
export function summarizeTask(outcome: TaskOutcome): FleetTaskSummary {
  const finished = outcome.finished;
  const kept = finished?.workspace?.kept ? finished.workspace.path : undefined;
  return {
    name: outcome.name,
    status: outcome.status,
    ...(outcome.agent ? { agent: outcome.agent } : {}),
    ...(outcome.model ? { model: outcome.model } : {}),
    ...(finished ? { runId: finished.runId, iterations: finished.iterations, commits: finished.commits?.length ?? 0, tokens: totalTokens(finished.usage) } : {}),
    ...(finished?.usage.costUsd !== undefined ? { costUsd: finished.usage.costUsd } : {}),
    ...(finished?.branch ? { branch: finished.branch } : {}),
    ...(kept ? { keptPath: kept } : {}),
    durationMs: outcome.durationMs,
    ...(outcome.error && outcome.status !== "skipped" ? { error: outcome.error.toJSON() } : {}),
  };
}

/** One agent's share of a fleet: its tasks, and the tokens and cost they used together. */
export interface FleetAgentTotals {
  /** The agent plugin's name. */
  agent: string;
  /** How many of the fleet's tasks it ran. */
  tasks: number;
  /** How many of them succeeded. */
  succeeded: number;
  /** Tokens its tasks used (all kinds). */
  tokens: number;
  /** What its tasks cost in USD; absent when the agent reported no cost. */
  costUsd?: number;
}

/** The fleet's rows summed per agent, in the order the agents first appear (tasks that never started count for no agent). */
export function totalsByAgent(tasks: readonly FleetTaskSummary[]): FleetAgentTotals[] {
  const byAgent = new Map<string, FleetAgentTotals>();
  for (const task of tasks) {
    if (!task.agent) continue;
    const totals = byAgent.get(task.agent) ?? { agent: task.agent, tasks: 0, succeeded: 0, tokens: 0 };
    totals.tasks++;
    if (task.status === "succeeded") totals.succeeded++;
    totals.tokens += task.tokens ?? 0;
    if (task.costUsd !== undefined) totals.costUsd = (totals.costUsd ?? 0) + task.costUsd;
    byAgent.set(task.agent, totals);
  }
  return [...byAgent.values()];
}

/** A fleet in progress: iterate it for outcomes as tasks finish, or await `results` for all of them, in task order. */
export interface Fleet extends AsyncIterable<TaskOutcome> {
  /** Every outcome, in task order, once all tasks have ended; rejects if the fleet itself fails (e.g. a bad config). */
  readonly results: Promise<TaskOutcome[]>;
}

/**
 * Runs many tasks, each on its own worktree, branch and sandbox, `concurrency` at a time.
 * Outcomes stream out as tasks finish; a failed task never stops the others unless `failFast`.
 */
export function runMany(tasks: readonly Task[], options: RunManyOptions = {}): Fleet {
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`concurrency must be a whole number of at least 1, got ${concurrency}.`, { hint: "e.g. runMany(tasks, { concurrency: 4 }), or --parallel 4." });
  const names = new Set(tasks.map((t) => t.name));
  if (names.size !== tasks.length) throw new UsageError("Task names must be unique: each names a branch and a worktree.", { hint: "Rename the tasks that share a name." });

  if ("runId" in options) throw new UsageError("runMany gives every task its own run id; do not pass runId.", { hint: "Drop runId from the shared options." });
  checkBudget(options.fleetBudget, "fleetBudget");

  const controller = new AbortController();
  const fleetStarted = performance.now();
  // Fleet events (a task never started, the fleet's end) go to the same displays, under the fleet's own id.
  const fleetId = newRunId();
  const emitFleet = (body: RunEventBody, name?: string) => {
    const event = { runId: fleetId, ...(name !== undefined ? { name } : {}), time: new Date().toISOString(), ...body } as RunEvent;
    for (const observe of [...(options.displays ?? []).map((d) => (e: RunEvent) => d.onEvent(e)), ...(options.onEvent ? [options.onEvent] : [])]) {
      try {
        observe(event);
      } catch {
        // a display never breaks the fleet
      }
    }
  };
  // Every running task listens to the fleet's signal.
  setMaxListeners(Math.max(10, concurrency * 4), controller.signal);

  const finished: TaskOutcome[] = [];
  const byTask: TaskOutcome[] = new Array(tasks.length);
  let wake: Array<() => void> = [];
  let done = false;
  let failure: unknown;
  let failFastTripped = false;
  const notify = () => {
    const waiters = wake;
    wake = [];
    for (const resume of waiters) resume();
  };
  const publish = (index: number, outcome: TaskOutcome) => {
    finished.push(outcome);
    byTask[index] = outcome;
    notify();
  };

  // Set once the config is read (its fleetBudget counts when the options give none).
  let spending = fleetSpending(undefined, fleetStarted, controller);

  const results = (async () => {
    const stopOnSignal = linkAbort(options.signal, controller);
    // Ctrl-C stops the whole fleet (running tasks and the queue), not only the tasks running now.
    const releaseProcessSignals = options.handleProcessSignals === false ? () => {} : trapProcessSignals(controller);
    try {
      const cwd = resolve(options.cwd ?? process.cwd());
      // The config is loaded once for the whole fleet.
      const loaded: LoadedConfig = await configFor({ ...options, cwd });
      spending = fleetSpending(options.fleetBudget ?? loaded.config?.fleetBudget, fleetStarted, controller);
      const optionsFor = (task: Task): CorralRunOptions => ({
        ...options,
        config: false,
        configData: loaded,
        cwd,
        name: task.name,
        fleetId,
        signal: controller.signal,
        handleProcessSignals: false,
        ...(task.prompt !== undefined ? { prompt: task.prompt } : {}),
        ...(task.promptFile !== undefined ? { promptFile: resolve(cwd, task.promptFile) } : {}),
        ...(task.promptArgs ? { promptArgs: task.promptArgs } : {}),
        ...(task.agent ? { agent: task.agent } : {}),
        ...(task.model ? { model: task.model } : {}),
        ...(task.sandbox ? { sandbox: task.sandbox } : {}),
        ...(task.maxIterations ? { maxIterations: task.maxIterations } : {}),
      });
      // Every task's plugins and options are resolved before any starts: bad input starts nothing.
      for (const task of tasks) await resolveRun(optionsFor(task));
      // The journal records the fleet (`corral runs fleets`, `corral runs logs --fleet -f` know when it is over), as runJournal decides for its tasks.
      const journal = options.journal ?? loaded.config.journal;
      const location = journal === false ? undefined : await journalLocation(cwd);
      const fleetRoot = location && (journal !== undefined || location.repoRoot !== undefined) ? location.root : undefined;
      const fleetRecord = { id: fleetId, tasks: tasks.map((t) => t.name), started: new Date().toISOString() };
      if (fleetRoot) recordFleet(fleetRoot, fleetRecord);
      try {
        await runTasks(optionsFor, loaded.config.model);
      } finally {
        if (fleetRoot) recordFleet(fleetRoot, fleetRecord, new Date().toISOString());
      }
      const tasksSummary = byTask.map(summarizeTask);
      emitFleet({
        type: "fleet.finished",
        tasks: tasksSummary,
        succeeded: tasksSummary.filter((t) => t.status === "succeeded").length,
        durationMs: Math.round(performance.now() - fleetStarted),
        interrupted: controller.signal.aborted && !failFastTripped && !budgetStopOf(controller.signal),
      });
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      done = true;
      spending.stop();
      stopOnSignal();
      releaseProcessSignals();
      notify();
    }
    return byTask; // in task order; the iterator gives finish order
  })();
  // Consumers of the iterator get the failure there; an unobserved `results` must not crash the process.
  results.catch(() => {});

  async function runTasks(optionsFor: (task: Task) => CorralRunOptions, loadedModel: string | undefined): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) {
        const index = next++;
        const task = tasks[index]!;
        const started = performance.now();
        if (controller.signal.aborted) {
          const budgetStop = budgetStopOf(controller.signal);
          const status = failFastTripped || budgetStop ? "skipped" : "aborted";
          const reason = failFastTripped ? "another task failed (--fail-fast)" : budgetStop ? "the fleet's budget was reached before it started" : "the fleet was interrupted before it started";
          emitFleet({ type: "task.skipped", status, reason }, task.name);
          publish(index, { name: task.name, status, durationMs: 0 });
          continue;
        }
        // The task's run.finished says what it left (branch, commits, kept work), also when it throws.
        let finished: TaskOutcome["finished"];
        // Which agent (and model) did the task: a task list may name a different one per task.
        let agent: string | undefined;
        let model = task.model ?? options.model ?? loadedModel;
        const taskOptions = optionsFor(task);
        const onEvent = (event: RunEvent) => {
          if (event.type === "run.finished") finished = event;
          else if (event.type === "run.started") agent = event.agent;
          else if (event.type === "agent" && event.event.type === "session" && event.event.model) model ??= event.event.model;
          spending.observe(index, event);
          options.onEvent?.(event);
        };
        const who = () => ({ ...(agent ? { agent } : {}), ...(model ? { model } : {}) });
        try {
          const result = await run({ ...taskOptions, onEvent });
          publish(index, { name: task.name, status: result.status, result, ...(finished ? { finished } : {}), durationMs: Math.round(performance.now() - started), ...who() });
        } catch (error) {
          const corralError = toCorralError(error);
          const status: TaskStatus = corralError instanceof AbortError ? "aborted" : "failed";
          publish(index, { name: task.name, status, error: corralError, ...(finished ? { finished } : {}), durationMs: Math.round(performance.now() - started), ...who() });
          if (status === "failed" && options.failFast && !controller.signal.aborted) {
            failFastTripped = true;
            controller.abort("another task failed (failFast)");
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  }

  return {
    results,
    [Symbol.asyncIterator]: () => {
      let index = 0;
      return {
        next: async (): Promise<IteratorResult<TaskOutcome>> => {
          // Each iterator keeps its own place, so several consumers each see every outcome.
          while (index >= finished.length && !done) await new Promise<void>((resume) => wake.push(resume));
          if (index < finished.length) return { value: finished[index++]!, done: false };
          if (failure !== undefined) throw failure;
          return { value: undefined, done: true };
        },
      };
    },
  };
}


/**
 * The fleet budget's meter: each task's usage as its events report it (finished iterations, plus the
 * running one's usage and cost so far), summed; the first budget reached aborts the fleet with it.
 */
function fleetSpending(budget: Budget | undefined, started: number, controller: AbortController): { observe: (task: number, event: RunEvent) => void; stop: () => void } {
  if (!budget) return { observe: () => {}, stop: () => {} };
  const tasks = new Map<number, { done: Usage; current: Usage; iterations: number }>();
  const check = () => {
    if (controller.signal.aborted) return;
    let usage = emptyUsage();
    let iterations = 0;
    for (const task of tasks.values()) {
      usage = addUsage(addUsage(usage, task.done), task.current);
      iterations += task.iterations;
    }
    const stop = budgetReached(budget, { usage, iterations, elapsedMs: performance.now() - started }, "fleet");
    if (stop) controller.abort(new BudgetStopReason(stop));
  };
  const wall = budget.wallSeconds !== undefined ? setTimeout(check, budget.wallSeconds * 1000) : undefined;
  return {
    observe: (index, event) => {
      const task = tasks.get(index) ?? { done: emptyUsage(), current: emptyUsage(), iterations: 0 };
      tasks.set(index, task);
      if (event.type === "iteration.started") {
        task.iterations++;
        task.current = emptyUsage();
      } else if (event.type === "iteration.finished") {
        task.done = addUsage(task.done, event.usage);
        task.current = emptyUsage();
      } else if (event.type === "agent" && event.event.type === "usage") {
        task.current = addUsage(task.current, event.event.usage);
      } else if (event.type === "agent" && event.event.type === "result" && event.event.costUsd !== undefined && task.current.costUsd === undefined) {
        task.current = { ...task.current, costUsd: event.event.costUsd };
      } else {
        return;
      }
      check();
    },
    stop: () => clearTimeout(wall),
  };
}
