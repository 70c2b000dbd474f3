import { randomBytes } from "node:crypto";
import { linkAbort, trapProcessSignals } from "./abort.js";
import { hostSandbox } from "./builtins/host.js";
import { inPlaceIsolation } from "./builtins/in-place.js";
import { AbortError, CorralError, redactError, toCorralError } from "./errors.js";
import { joinedOutputOf, setJoinedOutput, setLazyOutput, type RunEvent, type RunEventBody, type RunStatus } from "./events.js";
import type { ReleaseResult } from "./isolation.js";
import { instantiate } from "./plugin.js";
import { createRedactor, mayRedactAny, mayRedactLines, redactDeep, type Redactor } from "./redact.js";
import { budgetReached, budgetStopOf, BudgetStopReason, type BudgetStop } from "./run/budget.js";
import { attachSession } from "./run/attach.js";
import { abortReason } from "./run/iteration.js";
import { notifyRunFinished } from "./run/notify.js";
import { iterate, type LoopResult } from "./run/loop.js";
import type { RunOptions, RunResult } from "./run/options.js";
import type { Emit, RunScope } from "./run/scope.js";
import { DEFAULT_COMPLETION_SIGNAL, validateRunOptions } from "./run/settings.js";
import { openSandbox, prepareEnvironment, prepareWorkspace } from "./run/setup.js";
import { integrityError, keptWorkspace, releaseFailure, shutdown } from "./run/shutdown.js";
import { isolatesFilesystem } from "./sandbox.js";
import { addUsage, emptyUsage, type Usage } from "./usage.js";

export { DEFAULT_COMPLETION_SIGNAL };

/** An interactive run leaves Ctrl-C to the terminal's program (a shell's Ctrl-C ends its command, not the run). */
const INTERACTIVE_SIGNALS: NodeJS.Signals[] = ["SIGTERM", "SIGHUP"];
export { RUN_ID_ENV } from "./run/setup.js";
export type { ResumeFrom, RunOptions, RunResult, WorkspaceMode } from "./run/options.js";

/**
 * Runs an agent in a loop, in a sandbox, on an isolated workspace, in phases (each in run/):
 * settings → plugins → env → workspace → sandbox → iterations → output → shutdown. Shutdown is one
 * path for success, failure, timeout and abort alike: close the sandbox (nothing can write the
 * workspace any more), then release the workspace (which brings the run's work back), then remove
 * the per-run HOME.
 */
export async function run<T = undefined>(options: RunOptions<T>): Promise<RunResult<T>> {
  const started = performance.now();
  const runId = options.runId ?? newRunId();
  // Settings: every option checked before anything is created.
  const settings = validateRunOptions(options);
  const redactor = createRedactor();

  // Plugins: instantiated (and their apiVersion checked) before anything touches the disk.
  const agent = instantiate("agent", options.agent);
  const sandbox = instantiate("sandbox", options.sandbox ?? hostSandbox.configure({}));
  const isolation = instantiate("isolation", options.isolation ?? inPlaceIsolation.configure({}));

  const controller = new AbortController();
  const stopOnSignal = linkAbort(options.signal, controller);
  const releaseProcessSignals = options.handleProcessSignals === false ? () => {} : trapProcessSignals(controller, options.interactive ? INTERACTIVE_SIGNALS : undefined);
  const scope: RunScope<T> = {
    runId,
    options,
    settings,
    agent,
    sandbox,
    isolation,
    hostEnv: options.hostEnv ?? process.env,
    redactor,
    emit: eventEmitter(runId, options, redactor),
    signal: controller.signal,
    throwIfAborted: () => {
      if (controller.signal.aborted) throw new AbortError(abortReason(controller.signal));
    },
    held: {},
    progress: { usage: emptyUsage(), iterations: 0 },
    checkBudget: (pending?: Usage) => {
      if (controller.signal.aborted) return;
      const spent = { usage: pending ? addUsage(scope.progress.usage, pending) : scope.progress.usage, iterations: scope.progress.iterations, elapsedMs: performance.now() - started };
      const stop = budgetReached(options.budget, spent);
      if (stop) controller.abort(new BudgetStopReason(stop));
    },
  };
  const { emit, held, progress } = scope;
  // The wall-clock budget needs no event to be checked: it ends the run when its time is up.
  const wallBudget = options.budget?.wallSeconds !== undefined ? setTimeout(() => scope.checkBudget(), options.budget.wallSeconds * 1000) : undefined;

  let status: RunStatus = "failed";
  let failure: CorralError | undefined;
  let finished: LoopResult<T> | undefined;
  let release: ReleaseResult | undefined;
  let stoppedBy: BudgetStop | undefined;
  try {
    try {
      scope.throwIfAborted();
      emit({ type: "run.started", agent: agent.name, sandbox: sandbox.name, isolation: isolation.name, maxIterations: settings.maxIterations, cwd: settings.cwd, ...(options.resume ? { resumedFrom: options.resume.runId } : {}) });
      if (!isolatesFilesystem(sandbox)) {
        emit({ type: "log", level: "warn", message: "No sandbox: the agent runs on the host with your user's full access (choose one with --sandbox)." });
      }
      for (const message of options.warnings ?? []) emit({ type: "log", level: "warn", message });

      const environment = await prepareEnvironment(scope);
      const { workspace, hook } = await prepareWorkspace(scope);
      const handle = await openSandbox(scope, environment, workspace, hook);
      if (options.interactive) {
        // A human at the terminal in place of the iterations: done when they leave (exit 0).
        const session = await attachSession(scope, { handle, workspace, program: environment.program, home: environment.home });
        finished = session.loop;
        status = session.exitCode === 0 ? "succeeded" : "incomplete";
      } else {
        finished = await iterate(scope, { handle, workspace, hook, program: environment.program, home: environment.home });
        // Iterations used up without the signal is not a completion; a structured answer is one.
        status = finished.completion === undefined && (!options.output || budgetStopOf(controller.signal)) ? "incomplete" : "succeeded";
      }
    } catch (error) {
      if (budgetStopOf(controller.signal) && !options.output) {
        // A budget reached before the loop (or a fleet's, mid-step) still ends the run cleanly.
        finished = { last: { text: [], usage: emptyUsage() }, output: undefined as T };
        status = "incomplete";
      } else {
        // Once aborted, whatever broke (a killed exec, a half-expanded prompt) is the abort's doing.
        failure = redactError(controller.signal.aborted && !budgetStopOf(controller.signal) ? new AbortError(abortReason(controller.signal)) : toCorralError(error), redactor);
        status = failure instanceof AbortError ? "aborted" : "failed";
      }
    }
    clearTimeout(wallBudget);
    stoppedBy = status === "incomplete" ? budgetStopOf(controller.signal) : undefined;

    // Shutdown, one path: the sandbox closes before anything reads what the agent left.
    const shut = await shutdown(held, { isolation, status, failure, emit, keepSession: options.keepSession, sessionFiles: agent.sessionFiles });
    release = shut.release;
    const ended = status === "succeeded" || status === "incomplete";
    const problem = shut.problem ?? (ended && release?.problems?.length ? integrityError(release.problems) : undefined) ?? (ended && release?.failures?.length ? releaseFailure(release.failures) : undefined);
    if (ended && problem) {
      failure = redactError(problem, redactor);
      status = "failed";
    }
    const finishedBody = {
      type: "run.finished" as const,
      status,
      iterations: progress.iterations,
      usage: progress.usage,
      durationMs: Math.round(performance.now() - started),
      ...(finished?.completion !== undefined ? { completionSignal: finished.completion } : {}),
      ...(stoppedBy && status === "incomplete" ? { stoppedBy } : {}),
      ...(held.workspace?.branch ? { branch: held.workspace.branch } : {}),
      commits: release?.commits ?? [],
      ...(held.workspace && release ? { workspace: keptWorkspace(held.workspace, release) } : {}),
      ...(failure ? { error: failure.toJSON() } : {}),
      ...(shut.teardownIncomplete ? { teardownIncomplete: shut.teardownIncomplete } : {}),
    };
    // The user's notifier hears of the end first, so its failure can still be said before the last event.
    const event = redactDeep({ runId, ...(options.name ? { name: options.name } : {}), time: new Date().toISOString(), ...finishedBody }, redactor);
    await notifyRunFinished(settings.hooks.onRunFinished, event, { cwd: settings.cwd, hostEnv: scope.hostEnv, emit });
    emit(finishedBody);
  } finally {
    clearTimeout(wallBudget);
    stopOnSignal();
    releaseProcessSignals();
  }

  if (failure || !finished || !release || !held.workspace) throw failure ?? new CorralError("E_INTERNAL", "The run ended without a result.");
  const workspace = held.workspace;
  // What leaves the run passes its redactor, like every event: commit subjects and output included.
  return redactDeep({
    runId,
    ...(options.name ? { name: options.name } : {}),
    status: status === "incomplete" ? "incomplete" : "succeeded",
    iterations: progress.iterations,
    ...(finished.completion !== undefined ? { completionSignal: finished.completion } : {}),
    ...(stoppedBy ? { stoppedBy } : {}),
    commits: release.commits,
    ...(workspace.branch ? { branch: workspace.branch } : {}),
    ...(workspace.baseCommit ? { baseCommit: workspace.baseCommit } : {}),
    usage: progress.usage,
    output: finished.output,
    ...(finished.last.sessionId ? { sessionId: finished.last.sessionId } : {}),
    workspace: { path: workspace.path, cwd: workspace.cwd, release },
    durationMs: Math.round(performance.now() - started),
  } satisfies RunResult<T>, redactor) as RunResult<T>;
}

/** Every event gets the run's id, name and time, and passes the run's redactor before anyone sees it. */
function eventEmitter<T>(runId: string, options: RunOptions<T>, redactor: Redactor): Emit {
  const observers = [...(options.displays ?? []).map((display) => (e: RunEvent) => display.onEvent(e)), ...(options.onEvent ? [options.onEvent] : [])];
  // One ISO time per piece of work (a task or microtask: the lines of one pipe read), not per event:
  // an agent printing short lines makes thousands in one read. A microtask marks the time stale again.
  let time = "";
  let stale = true;
  const expire = () => {
    stale = true;
  };
  return (body, checked) => {
    if (stale) {
      stale = false;
      queueMicrotask(expire);
      time = new Date().toISOString();
    }
    // The time is ours and cannot hold a secret; everything else passes the redactor.
    const id = redactor(runId);
    const name = options.name ? redactor(options.name) : undefined;
    const text = checked ? undefined : unredactedText(body, redactor);
    const output = text === undefined ? redactOutput(body, redactor, checked) : undefined;
    // The same keys in the same order either way (the journal keeps events as they come).
    const event = (
      text !== undefined
        ? lazyOutputEvent(id, name, time, body as Extract<RunEventBody, { type: "agent.output" }>, text)
        : output
          ? name !== undefined
          ? { runId: id, name, time, ...output }
          : { runId: id, time, ...output }
        : { runId: id, ...(name !== undefined ? { name } : {}), time, ...(checked ? body : (redactDeep(body, redactor) as RunEventBody)) }
    ) as RunEvent;
    if (output) keepJoined(event, body, output);
    // Displays and onEvent observe; a throwing one must never break the run or skip its cleanup.
    for (const observe of observers) {
      try {
        observe(event);
      } catch {
        // ignored on purpose
      }
    }
  };
}

/**
 * The agent's output (`agent.output`: by far the most of a run's text), redacted without
 * `redactDeep`'s walk: made anew from the fields its type has, each line through the redactor
 * (the type, kind and stream are ours or checked: shorter than any secret). Undefined for any other body.
 * `checked`: its lines were looked at already (`Emit`), and are taken as they are.
 */
function redactOutput(body: RunEventBody, redactor: Redactor, checked = false): Extract<RunEventBody, { type: "agent.output" }> | undefined {
  if (body.type !== "agent.output") return undefined;
  const { lines } = body;
  // Copied only from the first line the redactor changed: the batch is core's own array, held by no one else.
  let redacted: string[] | undefined;
  // Most batches hold no line it would change: one look at them all says so.
  const mayChange = !checked && mayRedactAny(redactor, lines);
  for (let i = 0; mayChange && i < lines.length; i++) {
    const line = lines[i]!;
    const out = redactor(line);
    if (redacted) redacted.push(out);
    else if (out !== line) {
      redacted = lines.slice(0, i);
      redacted.push(out);
    }
  }
  return { type: "agent.output", iteration: body.iteration, kind: body.kind === "raw" ? "raw" : "text", stream: body.stream === "stderr" ? "stderr" : "stdout", lines: redacted ?? lines };
}

/**
 * The text of an `agent.output` body made of blocks (ADR 0740) that the redactor surely leaves as it
 * is: its event keeps that text and its lines stay unmade. Undefined otherwise (redacted line by line).
 */
function unredactedText(body: RunEventBody, redactor: Redactor): string | undefined {
  if (body.type !== "agent.output") return undefined;
  const text = joinedOutputOf(body);
  return text !== undefined && !mayRedactLines(redactor, text) ? text : undefined;
}

/** The event of such a body: the keys and their order a spread of `redactOutput`'s would give, its lines still unmade. */
function lazyOutputEvent(runId: string, name: string | undefined, time: string, body: Extract<RunEventBody, { type: "agent.output" }>, text: string): RunEvent {
  const kind = body.kind === "raw" ? "raw" : "text";
  const stream = body.stream === "stderr" ? "stderr" : "stdout";
  const event = (name !== undefined ? { runId, name, time, type: "agent.output", iteration: body.iteration, kind, stream } : { runId, time, type: "agent.output", iteration: body.iteration, kind, stream }) as RunEvent;
  setLazyOutput(event, text);
  return event;
}

/** The event keeps what its body's lines were split from (ADR 0720) when the redactor changed none of them. */
function keepJoined(event: RunEvent, body: RunEventBody, output: { lines: string[] }): void {
  if (body.type !== "agent.output" || output.lines !== body.lines) return;
  const joined = joinedOutputOf(body);
  if (joined !== undefined) setJoinedOutput(event, joined);
}

/** A sortable, unique run id: `20250101-120000-a1b2c3`. */
export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}
