import { inert, totalTokens, UsageError, type Display, type RunResult } from "@corral/core";
import { ndjsonDisplay, run, terminalDisplay } from "corral";
import { runFleet } from "./fleet.js";
import { RUN_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { reportError } from "../report.js";
import { blockOnSlowReaders, RUN_FLAGS, runOptionsFromFlags, trapInterrupts } from "../run-options.js";
import { parseFlags } from "../args.js";

/** `corral run`: one agent run, rendered for people on stderr (and NDJSON on stdout with --json). */
export default async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const dashdash = argv.indexOf("--");
  const commandArgv = dashdash === -1 ? [] : argv.slice(dashdash + 1);
  const { values } = parseFlags("run", dashdash === -1 ? argv : argv.slice(0, dashdash), RUN_FLAGS);
  if (values.help) {
    io.stdout.write(RUN_HELP);
    return EXIT.ok;
  }
  if (values.tasks !== undefined || values["tasks-cmd"] !== undefined) return runFleet(values, commandArgv, io);
  for (const flag of ["parallel", "fail-fast"] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} only applies to fleets.`, { hint: "Add --tasks FILE or --tasks-cmd CMD, or drop the flag." });
  }
  const options = runOptionsFromFlags(values, commandArgv, io);

  blockOnSlowReaders(io);
  const displays: Display[] = [terminalDisplay({ stream: io.stderr })];
  if (values.json) displays.push(ndjsonDisplay(io.stdout));
  const controller = new AbortController();
  const stop = trapInterrupts(controller, io);
  try {
    const result = await run({ ...options, displays, signal: controller.signal, handleProcessSignals: false });
    io.stderr.write(renderSummary(result));
    return EXIT.ok;
  } catch (error) {
    return controller.signal.aborted ? (reportError(io, error), EXIT.interrupted) : reportError(io, error);
  } finally {
    stop();
    for (const display of displays) await display.close?.();
  }
}

/** The summary of a succeeded run; commit subjects and paths came from the sandbox, so it is inert. */
export function renderSummary(result: RunResult<unknown> & { logFile?: string }): string {
  const u = result.usage;
  const lines = [
    `run succeeded: ${result.iterations} iteration(s) in ${(result.durationMs / 1000).toFixed(1)} s`,
    `  completion signal: ${result.completionSignal ?? "none (max iterations reached)"}`,
    `  branch: ${result.branch ?? "(none)"}`,
    `  commits: ${result.commits.length}`,
    ...result.commits.map((c) => `    ${c.sha.slice(0, 8)} ${c.subject}`),
    `  tokens: ${totalTokens(u)} (input ${u.inputTokens}, output ${u.outputTokens}, cache read ${u.cacheReadTokens}, cache write ${u.cacheWriteTokens})${u.costUsd !== undefined ? `, cost $${u.costUsd.toFixed(4)}` : ""}`,
    ...(result.workspace.release.removed ? [] : [`  workspace kept: ${result.workspace.release.path ?? result.workspace.path}${result.workspace.release.keptReason ? ` (${result.workspace.release.keptReason})` : ""}`]),
    ...(result.logFile ? [`  log: ${result.logFile}`] : []),
  ];
  return inert(`${lines.join("\n")}\n`);
}
