import { resolve } from "node:path";
import { CorralError, inert, totalTokens, UsageError, type Display, type RunResult } from "@corral/core";
import { ndjsonDisplay, run, terminalDisplay, type CorralRunOptions } from "corral";
import { runFleet } from "./fleet.js";
import { keyValues, numberFlag, parseFlags } from "../args.js";
import { RUN_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { reportError } from "../report.js";

export const RUN_FLAGS = {
  prompt: { type: "string" },
  "prompt-file": { type: "string" },
  "prompt-arg": { type: "string", multiple: true },
  agent: { type: "string" },
  model: { type: "string" },
  sandbox: { type: "string" },
  isolation: { type: "string" },
  cwd: { type: "string" },
  name: { type: "string" },
  "max-iterations": { type: "string" },
  "completion-signal": { type: "string", multiple: true },
  "idle-timeout": { type: "string" },
  "completion-timeout": { type: "string" },
  "log-file": { type: "string" },
  json: { type: "boolean" },
  env: { type: "string", multiple: true },
  "env-file": { type: "string", multiple: true },
  config: { type: "string" },
  setup: { type: "string", multiple: true },
  tasks: { type: "string" },
  "tasks-cmd": { type: "string" },
  parallel: { type: "string" },
  "fail-fast": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

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
    return controller.signal.aborted ? (reportError(io, inertError(error)), EXIT.interrupted) : reportError(io, inertError(error));
  } finally {
    stop();
    for (const display of displays) await display.close?.();
  }
}

export type RunFlagValues = ReturnType<typeof parseFlags<typeof RUN_FLAGS>>["values"];

/** Flags → library options. Every check here throws UsageError (exit 2) before anything is created. */
export function runOptionsFromFlags(values: RunFlagValues, commandArgv: string[], io: CliIO): CorralRunOptions {
  if (values.prompt !== undefined && values["prompt-file"] !== undefined) {
    throw new UsageError("Give --prompt or --prompt-file, not both.", { hint: "Drop one of them." });
  }
  const maxIterations = numberFlag("max-iterations", values["max-iterations"], { integer: true, min: 1 });
  const idleTimeout = numberFlag("idle-timeout", values["idle-timeout"], { min: 0, exclusiveMin: true });
  const completionTimeout = numberFlag("completion-timeout", values["completion-timeout"], { min: 0, exclusiveMin: true });
  const promptArgs = keyValues("prompt-arg", values["prompt-arg"]);

  let agent: CorralRunOptions["agent"] = values.agent;
  if (commandArgv.length) {
    if (values.agent !== undefined && values.agent !== "command") {
      throw new UsageError(`A command after -- is the argv of the command agent, but --agent is ${values.agent}.`, { hint: "Use --agent command, or drop what follows --." });
    }
    agent = { name: "command", options: { argv: commandArgv } };
  } else if (values.agent === "command") {
    throw new UsageError("The command agent needs the command to run after --.", { hint: "e.g. corral run --agent command --prompt hi -- my-agent --print '{prompt}'" });
  }
  const cwd = resolve(io.cwd, values.cwd ?? ".");
  return {
    cwd,
    ...(agent !== undefined ? { agent } : {}),
    ...(values.model !== undefined ? { model: values.model } : {}),
    ...(values.sandbox !== undefined ? { sandbox: values.sandbox } : {}),
    ...(values.isolation !== undefined ? { isolation: values.isolation } : {}),
    ...(values.prompt !== undefined ? { prompt: values.prompt } : {}),
    ...(values["prompt-file"] !== undefined ? { promptFile: resolve(io.cwd, values["prompt-file"]) } : {}),
    ...(Object.keys(promptArgs).length ? { promptArgs } : {}),
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(maxIterations !== undefined ? { maxIterations } : {}),
    ...(values["completion-signal"] ? { completionSignal: values["completion-signal"] } : {}),
    ...(idleTimeout !== undefined ? { idleTimeout } : {}),
    ...(completionTimeout !== undefined ? { completionTimeout } : {}),
    ...(values["log-file"] !== undefined ? { logFile: resolve(io.cwd, values["log-file"]) } : {}),
    ...(values.env ? { envNames: values.env } : {}),
    ...(values["env-file"] ? { envFiles: values["env-file"].map((f) => resolve(io.cwd, f)) } : {}),
    ...(values.config !== undefined ? { config: resolve(io.cwd, values.config) } : {}),
    ...(values.setup?.length ? { hooks: { onWorkspaceReady: values.setup } } : {}),
  };
}

/**
 * A pipe's reader (a pager, `tee`, a CI log) may be slower than the agent, now and then or for
 * good. Node queues whatever a pipe does not take at once, in memory, without bound; the displays
 * would then drop lines to stay bounded. The CLI owns its stdout and stderr, so it makes writes
 * to a pipe wait for the reader instead, as they already do for a terminal or a file: the run
 * slows down to the reader's pace (the agent waits on its own output), and nothing is lost.
 */
export function blockOnSlowReaders(io: CliIO): void {
  for (const stream of [io.stdout, io.stderr]) {
    const handle = (stream as { _handle?: { setBlocking?: (blocking: boolean) => unknown } })._handle;
    if (stream === process.stdout || stream === process.stderr) handle?.setBlocking?.(true);
  }
}

/**
 * Ctrl-C (or SIGTERM) aborts the run; cleanup follows and the exit code is 130. A second
 * Ctrl-C while cleaning up exits at once.
 */
export function trapInterrupts(controller: AbortController, io: CliIO): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      io.stderr.write("\ncorral: interrupted again, exiting without waiting for cleanup\n");
      process.exit(EXIT.interrupted);
    }
    io.stderr.write(`\ncorral: ${signal} received, stopping the agent and cleaning up…\n`);
    controller.abort(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

/**
 * The error made safe to print: a run's error quotes what the agent printed (its last lines),
 * and the sandbox's text is made inert before it reaches the terminal.
 */
export function inertError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  error.message = inert(error.message);
  if (error.stack) error.stack = inert(error.stack);
  if (error instanceof CorralError && error.hint) Object.assign(error, { hint: inert(error.hint) });
  return error;
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
