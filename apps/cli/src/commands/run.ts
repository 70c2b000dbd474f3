import { describeBudgetStop, totalTokens, UsageError, type Display, type MergeBackOutcome, type RunEvent } from "@corral/core";
import { inert } from "@corral/core/plugin-kit";
import { ndjsonDisplay, reclaimInterrupted, resumeOptions, run, terminalDisplay, type CorralRunOptions } from "corral";
import { runFleet } from "./fleet.js";
import { RUN_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { reportError, reportJsonError, wantsJson } from "../report.js";
import { blockOnSlowReaders, RUN_FLAGS, runOptionsFromFlags, trapInterrupts, type RunFlagValues } from "../run-options.js";
import { parseFlags } from "../args.js";

type RunFinished = Extract<RunEvent, { type: "run.finished" }>;

/** `corral run`: one agent run, rendered for people on stderr (and NDJSON on stdout with --json). */
export default async function runCommand(argv: string[], io: CliIO): Promise<number> {
  try {
    return await runOrFleet(argv, io);
  } catch (error) {
    // Bad flags, config or task list: nothing ran, so no run.finished says it; stdout gets it in JSON too.
    if (wantsJson(argv)) reportJsonError(io, error);
    throw error;
  }
}

async function runOrFleet(argv: string[], io: CliIO): Promise<number> {
  const dashdash = argv.indexOf("--");
  const commandArgv = dashdash === -1 ? [] : argv.slice(dashdash + 1);
  const { values } = parseFlags("run", dashdash === -1 ? argv : argv.slice(0, dashdash), RUN_FLAGS);
  if (values.help) {
    io.stdout.write(RUN_HELP);
    return EXIT.ok;
  }
  if (values.tasks !== undefined || values["tasks-cmd"] !== undefined || values["retry-failed"] !== undefined) return runFleet(values, commandArgv, io);
  for (const flag of ["parallel", "fail-fast", "include-incomplete"] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} only applies to fleets.`, { hint: "Add --tasks FILE, --tasks-cmd CMD or --retry-failed FLEET, or drop the flag." });
  }
  if (values.interactive) return runInteractive(values, commandArgv, io);
  let options = runOptionsFromFlags(values, commandArgv, io);
  if (values.resume !== undefined) options = await resumed(values, options, io);

  blockOnSlowReaders(io);
  // The summary below is the run's last word, printed once: the display leaves out its own finished line.
  const displays: Display[] = [terminalDisplay({ stream: io.stderr, prefix: false, summary: false })];
  if (values.json) displays.push(ndjsonDisplay(io.stdout));
  const controller = new AbortController();
  const stop = trapInterrupts(controller, io);
  let finished: RunFinished | undefined;
  let merge: MergeBackOutcome | undefined;
  const onEvent = (event: RunEvent) => {
    if (event.type === "run.finished") finished = event;
    if (event.type === "workspace.released") merge = event.result.merge;
  };
  let result: Awaited<ReturnType<typeof run>> | undefined;
  let failure: { error: unknown } | undefined;
  try {
    result = await run({ ...options, displays, onEvent, signal: controller.signal, handleProcessSignals: false });
  } catch (error) {
    failure = { error };
    if (finished === undefined && values.json) reportJsonError(io, error);
  } finally {
    stop();
    for (const display of displays) await display.close?.();
  }
  if (finished) io.stderr.write(renderSummary(finished, result?.logFile, merge));
  if (failure) {
    const code = reportError(io, failure.error);
    return controller.signal.aborted ? EXIT.interrupted : code;
  }
  return result?.status === "incomplete" ? EXIT.incomplete : EXIT.ok;
}

/**
 * `corral run --interactive`: the agent's own CLI with this terminal, in the sandbox and on the
 * workspace an unattended run would get; the human types the prompt. No live display (it would
 * draw over the agent's screen): warnings before, the summary after.
 */
async function runInteractive(values: RunFlagValues, commandArgv: string[], io: CliIO): Promise<number> {
  if (values.json) throw new UsageError("--json does not go with --interactive: the terminal is the agent's.", { hint: "Drop --json; `corral runs show <run> --json` has the run afterwards." });
  const withPrompt = values.prompt === undefined && values["prompt-file"] === undefined ? { ...values, prompt: "" } : values;
  let options = runOptionsFromFlags(withPrompt, commandArgv, io);
  if (values.resume !== undefined) options = await resumed(values, options, io);
  const controller = new AbortController();
  // Ctrl-C belongs to the agent's CLI at the terminal; SIGTERM stops the session and cleans up.
  const stop = trapInterrupts(controller, io, ["SIGTERM", "SIGHUP"]);
  let finished: RunFinished | undefined;
  let merge: MergeBackOutcome | undefined;
  try {
    const result = await run({
      ...options,
      interactive: {},
      signal: controller.signal,
      handleProcessSignals: false,
      onEvent: (event) => {
        if (event.type === "run.finished") finished = event;
        if (event.type === "workspace.released") merge = event.result.merge;
        if (event.type === "log" && event.level === "warn") io.stderr.write(inert(`corral: ${event.message}\n`));
      },
    });
    if (finished) io.stderr.write(renderSummary(finished, result.logFile, merge));
    return result.status === "incomplete" ? EXIT.incomplete : EXIT.ok;
  } catch (error) {
    if (finished) io.stderr.write(renderSummary(finished, undefined, merge));
    throw error;
  } finally {
    stop();
  }
}

/** `--resume <run>`: the options of the run that continues it (the journal's, the flags on top), said on stderr before it starts. */
async function resumed(values: RunFlagValues, flags: CorralRunOptions, io: CliIO): Promise<CorralRunOptions> {
  for (const flag of ["name", "branch-exists"] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} does not go with --resume: the run continues the earlier run's branch, under its name.`, { hint: `Drop --${flag}.` });
  }
  const plan = await resumeOptions(values.resume!, flags);
  await reclaimInterrupted(plan.from, plan.options);
  const session = plan.options.resume?.sessionId;
  io.stderr.write(inert(`corral: resuming run ${plan.from.id} (${plan.from.state}) on ${plan.options.resume?.branch}${session ? `, in its agent session ${session}` : ", in a new agent session"}\n`));
  return plan.options;
}

/**
 * The summary of a run, whatever its end: how it ended, its branch and commits, its tokens, what the
 * merge-back did and where its workspace lies when kept. Commit subjects and paths came from the sandbox, so it is inert.
 */
export function renderSummary(finished: RunFinished, logFile?: string, merge?: MergeBackOutcome): string {
  const u = finished.usage;
  const workspace = finished.workspace;
  const commits = finished.commits ?? [];
  const status =
    finished.status === "incomplete"
      ? finished.stoppedBy
        ? `run incomplete: ${finished.iterations} iteration(s) in ${seconds(finished.durationMs)}, stopped because ${describeBudgetStop(finished.stoppedBy)}`
        : `run incomplete: ${finished.iterations} iteration(s) (all of them) in ${seconds(finished.durationMs)}, without the completion signal`
      : `run ${finished.status}: ${finished.iterations} iteration(s) in ${seconds(finished.durationMs)}`;
  const lines = [
    status,
    ...(finished.completionSignal !== undefined ? [`  completion signal: ${finished.completionSignal}`] : []),
    `  branch: ${finished.branch ?? "(none)"}`,
    `  commits: ${commits.length}`,
    ...commits.map((c) => `    ${c.sha.slice(0, 8)} ${c.subject}`),
    // Work without a commit is the surprise worth a line of its own (e.g. git had no identity inside the sandbox).
    ...(workspace?.uncommitted && commits.length === 0 ? [`  no commit: the agent changed ${workspace.uncommitted} file(s) but committed none; they are in the kept workspace below`] : []),
    `  tokens: ${totalTokens(u)} (input ${u.inputTokens}, output ${u.outputTokens}, cache read ${u.cacheReadTokens}, cache write ${u.cacheWriteTokens})${u.costUsd !== undefined ? `, cost $${u.costUsd.toFixed(4)}` : ""}`,
    ...(merge ? [`  merge-back: ${merge.message}`] : []),
    ...(workspace?.kept ? [`  workspace kept: ${workspace.path}${workspace.keptReason ? ` (${workspace.keptReason})` : ""}`] : []),
    ...(workspace && !workspace.kept && finished.branch ? [`  workspace removed, branch ${finished.branch} kept`] : []),
    ...(logFile ? [`  log: ${logFile}`] : []),
  ];
  return inert(`${lines.join("\n")}\n`);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
