import { homedir } from "node:os";
import { resolve } from "node:path";
import { UsageError } from "@corral/core";
import type { CorralRunOptions } from "corral";
import { keyValues, numberFlag, parseFlags } from "./args.js";
import { EXIT, type CliIO } from "./io.js";

/**
 * What `corral run` and a fleet (`corral run --tasks`) share: the flags, how they become library
 * options, and how the process behaves while a run lives (interrupts, slow readers).
 */
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
  notify: { type: "string", multiple: true },
  tasks: { type: "string" },
  "tasks-cmd": { type: "string" },
  parallel: { type: "string" },
  "fail-fast": { type: "boolean" },
  resume: { type: "string" },
  interactive: { type: "boolean" },
  "retry-failed": { type: "string" },
  "include-incomplete": { type: "boolean" },
  "branch-exists": { type: "string" },
  workspace: { type: "string" },
  network: { type: "string" },
  "allow-domain": { type: "string", multiple: true },
  "deny-domain": { type: "string", multiple: true },
  credentials: { type: "string" },
  memory: { type: "string" },
  pids: { type: "string" },
  cpus: { type: "string" },
  "wall-clock": { type: "string" },
  "max-tokens": { type: "string" },
  "max-cost": { type: "string" },
  "max-time": { type: "string" },
  "fleet-max-tokens": { type: "string" },
  "fleet-max-cost": { type: "string" },
  mount: { type: "string", multiple: true },
  copy: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

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
  const network = networkFromFlags(values);
  if (values.credentials !== undefined && values.credentials !== "env" && values.credentials !== "gateway") {
    throw new UsageError(`--credentials must be env or gateway, got ${JSON.stringify(values.credentials)}.`, { hint: "gateway keeps the agent's API key on the host (needs the network allowlist); env hands it to the sandbox." });
  }
  const limits = limitsFromFlags(values);
  const budget = budgetFromFlags(values, "");
  const workspace = values.workspace;
  if (workspace !== undefined && workspace !== "mount" && workspace !== "copy" && workspace !== "auto") {
    throw new UsageError(`--workspace must be mount, copy or auto, got ${JSON.stringify(workspace)}.`, { hint: "mount (the default): the sandbox mounts the worktree; copy: it gets a copy, the work comes back; auto: copy when the engine is remote." });
  }
  const branchExists = values["branch-exists"];
  if (branchExists !== undefined && branchExists !== "fail" && branchExists !== "new" && branchExists !== "reuse") {
    throw new UsageError(`--branch-exists must be fail, new or reuse, got ${JSON.stringify(branchExists)}.`, { hint: "new (the default): another branch, said; fail: refuse; reuse: continue on the existing branch." });
  }
  const mounts = (values.mount ?? []).map((spec) => mountFromFlag(spec, io.cwd));
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
    ...(values.setup?.length || values.notify?.length
      ? { hooks: { ...(values.setup?.length ? { onWorkspaceReady: values.setup } : {}), ...(values.notify?.length ? { onRunFinished: values.notify } : {}) } }
      : {}),
    ...(network !== undefined ? { network } : {}),
    ...(values.credentials !== undefined ? { credentials: values.credentials as "env" | "gateway" } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
    ...(Object.keys(budget).length ? { budget } : {}),
    ...(mounts.length ? { mounts } : {}),
    ...(values.copy?.length ? { copy: values.copy } : {}),
    ...(branchExists !== undefined ? { branchExists } : {}),
    ...(workspace !== undefined ? { workspace } : {}),
  };
}

/** `--memory MB`, `--pids N`, `--cpus N` (cores) and `--wall-clock SECONDS`: the sandbox's limits. */
function limitsFromFlags(values: RunFlagValues): NonNullable<CorralRunOptions["limits"]> {
  const memoryMb = numberFlag("memory", values.memory, { min: 0, exclusiveMin: true });
  const pids = numberFlag("pids", values.pids, { integer: true, min: 1 });
  const cpus = numberFlag("cpus", values.cpus, { min: 0, exclusiveMin: true });
  const wallSeconds = numberFlag("wall-clock", values["wall-clock"], { min: 0, exclusiveMin: true });
  return {
    ...(memoryMb !== undefined ? { memoryMb } : {}),
    ...(pids !== undefined ? { pids } : {}),
    ...(cpus !== undefined ? { cpuPercent: Math.round(cpus * 100) } : {}),
    ...(wallSeconds !== undefined ? { wallSeconds } : {}),
  };
}

/**
 * `--max-tokens N`, `--max-cost USD`, `--max-time SECONDS` (each run's budget), or with prefix
 * `fleet-` the fleet's (`--fleet-max-tokens`, `--fleet-max-cost`; a fleet's time is `--max-time`'s per task).
 */
export function budgetFromFlags(values: RunFlagValues, prefix: "" | "fleet-"): NonNullable<CorralRunOptions["budget"]> {
  const flag = (name: string) => (values as Record<string, string | undefined>)[`${prefix}${name}`];
  const tokens = numberFlag(`${prefix}max-tokens`, flag("max-tokens"), { integer: true, min: 1 });
  const costUsd = numberFlag(`${prefix}max-cost`, flag("max-cost"), { min: 0, exclusiveMin: true });
  const wallSeconds = prefix === "" ? numberFlag("max-time", values["max-time"], { min: 0, exclusiveMin: true }) : undefined;
  return {
    ...(tokens !== undefined ? { tokens } : {}),
    ...(costUsd !== undefined ? { costUsd } : {}),
    ...(wallSeconds !== undefined ? { wallSeconds } : {}),
  };
}

/** `--mount HOST[:SANDBOX][:ro|rw]`, as docker writes it; read-only unless `rw`. */
function mountFromFlag(spec: string, cwd: string): NonNullable<CorralRunOptions["mounts"]>[number] {
  const parts = spec.split(":");
  const mode = parts.length > 1 && (parts.at(-1) === "ro" || parts.at(-1) === "rw") ? parts.pop() : undefined;
  const [host, sandbox, ...rest] = parts;
  if (!host || rest.length || sandbox === "" || (sandbox !== undefined && !sandbox.startsWith("/"))) {
    throw new UsageError(`--mount must be HOST[:SANDBOX][:ro|rw] with an absolute SANDBOX path, got ${JSON.stringify(spec)}.`, { hint: "e.g. --mount ~/.cache/pip:/root/.cache/pip:rw or --mount ./fixtures (read-only, same path)" });
  }
  return { host: resolve(cwd, host.replace(/^~(?=\/|$)/, homedir())), ...(sandbox ? { sandbox } : {}), readonly: mode !== "rw" };
}

/** `--network none|host`, or an allowlist from `--allow-domain` (and `--deny-domain`). */
function networkFromFlags(values: RunFlagValues): CorralRunOptions["network"] {
  const allow = values["allow-domain"] ?? [];
  const deny = values["deny-domain"] ?? [];
  if (values.network !== undefined) {
    if (values.network !== "none" && values.network !== "host" && values.network !== "allowlist") {
      throw new UsageError(`--network must be none, host or allowlist, got ${JSON.stringify(values.network)}.`, { hint: "Allow hosts with --allow-domain api.example.com (repeatable); the agent's API is always allowed." });
    }
    if (values.network !== "allowlist") {
      if (allow.length || deny.length) throw new UsageError(`--allow-domain and --deny-domain make an allowlist; they do not go with --network ${values.network}.`, { hint: "Drop --network, or the domain flags." });
      return values.network;
    }
  }
  if (values.network === "allowlist" || allow.length || deny.length) return { allow, ...(deny.length ? { deny } : {}) };
  return undefined;
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
export function trapInterrupts(controller: AbortController, io: CliIO, signals: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"]): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      // What was not cleaned up yet (a container, a worktree, temp folders) is the run's journal's to find.
      io.stderr.write("\ncorral: interrupted again, exiting without waiting for cleanup; run `corral clean` to finish it (it removes what this run left and keeps uncommitted work)\n");
      process.exit(EXIT.interrupted);
    }
    io.stderr.write(`\ncorral: ${signal} received, stopping the agent and cleaning up…\n`);
    controller.abort(signal);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

