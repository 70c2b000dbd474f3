import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Agent, AgentEvent } from "./agent.js";
import { hostSandbox } from "./builtins/host.js";
import { inPlaceIsolation } from "./builtins/in-place.js";
import type { Display } from "./display.js";
import {
  AbortError,
  AgentExecutionError,
  CorralError,
  HookError,
  IdleTimeoutError,
  redactError,
  SandboxError,
  SandboxUnavailableError,
  StructuredOutputError,
  UsageError,
  toCorralError,
} from "./errors.js";
import type { RunEvent, RunEventBody, RunStatus } from "./events.js";
import type { Commit, Isolation, ReleaseResult, Workspace } from "./isolation.js";
import { TailBuffer } from "./lines.js";
import { linkAbort, trapProcessSignals } from "./abort.js";
import { checkCopyPattern, copyIntoWorkspace } from "./copy.js";
import { hookSpecs, runHook, describeHook, type HookName, type Hooks, type HookSpec } from "./hooks.js";
import { extractOutput, type OutputSpec } from "./output.js";
import { instantiate, type Configured } from "./plugin.js";
import { checkPromptArgs, checkTemplate, renderTemplate, runPromptCommand, BUILTIN_PROMPT_ARGS } from "./prompt.js";
import { createRedactor, redactDeep, type Redactor } from "./redact.js";
import type { Mount, NetworkPolicy, ResourceLimits, Sandbox, SandboxHandle } from "./sandbox.js";
import { addUsage, emptyUsage, type Usage } from "./usage.js";

export const DEFAULT_COMPLETION_SIGNAL = "<promise>COMPLETE</promise>";
/** Every sandboxed process carries its run's id in this env var, so `corral clean` can find what a killed run left. */
export const RUN_ID_ENV = "CORRAL_RUN_ID";

export interface RunOptions<T = undefined> {
  /** The agent: `claude({ model })`, `commandAgent.configure({ argv })`, or an Agent object. */
  agent: Configured<"agent"> | Agent;
  /** Defaults to the `host` sandbox (no isolation). */
  sandbox?: Configured<"sandbox"> | Sandbox;
  /** Defaults to `in-place` (the current checkout). */
  isolation?: Configured<"isolation"> | Isolation;
  displays?: Display[];
  /** Called with every event, after the displays. */
  onEvent?: (event: RunEvent) => void;
  /** Where the run starts; defaults to process.cwd(). */
  cwd?: string;
  /** Names the run: the branch, the worktree folder and every event carry it. */
  name?: string;
  runId?: string;
  /** An inline prompt, sent verbatim. */
  prompt?: string;
  /** A prompt template: `{{KEY}}` placeholders, then `` !`cmd` `` expansion inside the sandbox. */
  promptFile?: string;
  promptArgs?: Record<string, string>;
  /** Default 1. */
  maxIterations?: number;
  /** Default `<promise>COMPLETE</promise>`. Matched only in the agent's own text. */
  completionSignal?: string | string[];
  /** Seconds without any output before the agent is stopped. Default 600. */
  idleTimeout?: number;
  /** Seconds the agent may keep going after it signalled completion. Default 60. */
  completionTimeout?: number;
  /** Seconds each `` !`cmd` `` in a prompt may take. Default 60. */
  promptCommandTimeout?: number;
  signal?: AbortSignal;
  /** Abort (and clean up) on SIGINT/SIGTERM while the run lives. Default true. */
  handleProcessSignals?: boolean;
  output?: OutputSpec<T>;
  /** Env handed to the sandbox, explicitly. The host env is never passed whole. */
  env?: Record<string, string>;
  /** Names in `env` whose values are secret (redacted everywhere). */
  secretEnv?: string[];
  /** Where agent-declared credentials are read from. Default process.env. */
  hostEnv?: Record<string, string | undefined>;
  mounts?: Mount[];
  network?: NetworkPolicy;
  limits?: ResourceLimits;
  /** Commands around the run: on the host in the new workspace, or inside the sandbox. */
  hooks?: Hooks;
  /** Untracked paths or globs of the main checkout copied into a new workspace (node_modules, .env…). */
  copy?: string[];
}

export interface RunResult<T = undefined> {
  runId: string;
  name?: string;
  status: "succeeded";
  iterations: number;
  /** The completion signal that ended the loop, if one did. */
  completionSignal?: string;
  commits: Commit[];
  branch?: string;
  baseCommit?: string;
  usage: Usage;
  output: T;
  sessionId?: string;
  workspace: { path: string; cwd: string; release: ReleaseResult };
  durationMs: number;
}

interface IterationOutcome {
  text: string[];
  sessionId?: string;
  signal?: string;
}

/**
 * Runs an agent in a loop, in a sandbox, on an isolated workspace. Cleanup (sandbox close,
 * workspace release, the per-run HOME) happens on success, failure, timeout and abort alike.
 */
export async function run<T = undefined>(options: RunOptions<T>): Promise<RunResult<T>> {
  const started = performance.now();
  const runId = options.runId ?? newRunId();
  const settings = validateRunOptions(options);
  const redactor = createRedactor();
  const hostEnv = options.hostEnv ?? process.env;

  // Plugins: instantiated (and their apiVersion checked) before anything touches the disk.
  const agent = instantiate("agent", options.agent);
  const sandbox = instantiate("sandbox", options.sandbox ?? hostSandbox.configure({}));
  const isolation = instantiate("isolation", options.isolation ?? inPlaceIsolation.configure({}));

  const displays = options.displays ?? [];
  const emit = (body: RunEventBody) => {
    const event = redactDeep({ runId, ...(options.name ? { name: options.name } : {}), time: new Date().toISOString(), ...body } as RunEvent, redactor);
    // Displays and onEvent observe; a throwing one must never break the run or skip its cleanup.
    for (const observe of [...displays.map((display) => (e: RunEvent) => display.onEvent(e)), options.onEvent]) {
      try {
        observe?.(event);
      } catch {
        // ignored on purpose
      }
    }
  };

  const controller = new AbortController();
  const stopOnSignal = linkAbort(options.signal, controller);
  const releaseProcessSignals = options.handleProcessSignals === false ? () => {} : trapProcessSignals(controller);

  let home: string | undefined;
  let workspace: Workspace | undefined;
  let handle: SandboxHandle | undefined;
  let usage = emptyUsage();
  let iterations = 0;
  let status: RunStatus = "failed";
  let failure: CorralError | undefined;

  try {
    if (controller.signal.aborted) throw new AbortError(controller.signal.reason);
    emit({ type: "run.started", agent: agent.name, sandbox: sandbox.name, isolation: isolation.name, maxIterations: settings.maxIterations, cwd: settings.cwd });
    if (sandbox.name === "host") {
      emit({ type: "log", level: "warn", message: "No sandbox: the agent runs on the host with your user's full access (choose one with --sandbox)." });
    }

    // Credentials and env: explicit env, plus what the agent declares, from the host env.
    const env = buildEnv(options, agent, hostEnv, redactor);
    env[RUN_ID_ENV] = runId;
    home = await mkdtemp(join(tmpdir(), "corral-home-"));
    env.HOME = home;
    const agentEnv = (await agent.setup?.({ env: { ...env }, home })) ?? {};
    Object.assign(env, agentEnv);

    const availability = await sandbox.check();
    if (!availability.available) {
      throw new SandboxUnavailableError(sandbox.name, availability.reason, availability.hint ? { hint: availability.hint } : {});
    }
    throwIfAborted(controller.signal);

    workspace = await isolation.acquire({ cwd: settings.cwd, runId, ...(options.name ? { name: options.name } : {}), signal: controller.signal });
    emit({ type: "workspace.ready", path: workspace.path, cwd: workspace.cwd, ...(workspace.branch ? { branch: workspace.branch } : {}), ...(workspace.baseCommit ? { baseCommit: workspace.baseCommit } : {}) });
    throwIfAborted(controller.signal);
    if (options.copy?.length) {
      if (workspace.repoRoot && workspace.repoRoot !== workspace.path) {
        const copied = await copyIntoWorkspace(workspace.repoRoot, workspace.path, options.copy);
        emit({ type: "workspace.copied", paths: copied.paths, durationMs: copied.durationMs });
      } else {
        emit({ type: "log", level: "warn", message: "copy was ignored: the run works in the checkout itself." });
      }
    }
    const hook = async (name: HookName, spec: HookSpec, sandboxHandle?: SandboxHandle) => {
      const command = describeHook(spec.command);
      emit({ type: "hook.started", hook: name, command });
      const hookStarted = performance.now();
      const result = await runHook(
        name,
        spec,
        { ...(sandboxHandle ? { sandbox: sandboxHandle } : { env: definedEnv(hostEnv) }), cwd: workspace!.cwd, signal: controller.signal },
        (line, stream) => emit({ type: "hook.output", hook: name, line, stream }),
      );
      emit({ type: "hook.finished", hook: name, command, exitCode: result.exitCode, durationMs: Math.round(performance.now() - hookStarted) });
      return result;
    };
    for (const spec of settings.hooks.onWorkspaceReady) await hook("onWorkspaceReady", spec);

    handle = await sandbox.create({
      runId,
      ...(options.name ? { name: options.name } : {}),
      workspace: { path: workspace.path, cwd: workspace.cwd },
      gitMounts: workspace.gitMounts,
      home,
      mounts: options.mounts ?? [],
      env,
      inheritedEnv: ["PATH", "LANG"].filter((key) => options.env?.[key] === undefined && agentEnv[key] === undefined),
      network: options.network ?? "host",
      limits: options.limits ?? {},
    });
    emit({ type: "sandbox.ready", sandbox: sandbox.name, id: handle.id });
    for (const spec of settings.hooks.onSandboxReady) await hook("onSandboxReady", spec, handle);
    let afterIteration = { output: "", exitCode: "" };

    const builtins = (iteration: number): Record<string, string> => ({
      branch: workspace?.branch ?? "",
      baseBranch: workspace?.baseBranch ?? "",
      runName: options.name ?? runId,
      runId,
      iteration: String(iteration),
      maxIterations: String(settings.maxIterations),
      afterIterationOutput: afterIteration.output,
      afterIterationExitCode: afterIteration.exitCode,
    });
    const promptFor = async (iteration: number): Promise<string> => {
      if (settings.template === undefined) return settings.prompt;
      return renderTemplate(settings.template, { ...settings.promptArgs, ...builtins(iteration) }, (command) =>
        runPromptCommand(command, handle!, { cwd: workspace!.cwd, timeoutMs: settings.promptCommandTimeoutMs, signal: controller.signal }),
      );
    };

    const runIteration = async (iteration: number, prompt: string, resumeSessionId?: string): Promise<IterationOutcome> => {
      emit({ type: "prompt", iteration, chars: prompt.length });
      const command = agent.command({ prompt, iteration, home: home!, cwd: workspace!.cwd, ...(resumeSessionId ? { resumeSessionId } : {}) });
      const parser = agent.parser();
      const exec = new AbortController();
      const stopExec = linkAbort(controller.signal, exec);
      const tail = new TailBuffer(50);
      const outcome: IterationOutcome = { text: [] };
      let iterationUsage = emptyUsage();
      let stopReason: "idle" | "grace" | undefined;
      let agentError: string | undefined;
      const idleTimer = setTimeout(() => {
        stopReason = "idle";
        exec.abort();
      }, settings.idleTimeoutMs);
      let graceTimer: NodeJS.Timeout | undefined;

      const onAgentEvent = (event: AgentEvent) => {
        emit({ type: "agent", iteration, event });
        switch (event.type) {
          case "text": {
            outcome.text.push(event.text);
            if (outcome.signal === undefined) {
              const matched = settings.signals.find((signal) => event.text.includes(signal));
              if (matched !== undefined) {
                outcome.signal = matched;
                emit({ type: "completion.detected", iteration, signal: matched });
                clearTimeout(idleTimer);
                graceTimer = setTimeout(() => {
                  stopReason = "grace";
                  exec.abort();
                }, settings.completionTimeoutMs);
              }
            }
            break;
          }
          case "session":
            outcome.sessionId = event.sessionId;
            break;
          case "usage":
            iterationUsage = addUsage(iterationUsage, event.usage);
            break;
          case "result":
            if (event.costUsd !== undefined && iterationUsage.costUsd === undefined) iterationUsage.costUsd = event.costUsd;
            if (event.isError) agentError = event.text ?? "the agent reported an error";
            break;
        }
      };

      const iterationStarted = performance.now();
      let result;
      try {
        result = await handle!.exec(command.argv, {
          cwd: workspace!.cwd,
          ...(command.env ? { env: command.env } : {}),
          ...(command.stdin !== undefined ? { stdin: command.stdin } : {}),
          signal: exec.signal,
          onLine: (line, stream) => {
            if (stopReason === undefined && graceTimer === undefined) idleTimer.refresh();
            tail.push(line);
            for (const event of parser.parse(line, stream)) onAgentEvent(event);
          },
        });
        for (const event of parser.end?.() ?? []) onAgentEvent(event);
      } finally {
        clearTimeout(idleTimer);
        clearTimeout(graceTimer);
        stopExec();
      }
      usage = addUsage(usage, iterationUsage);
      emit({ type: "iteration.finished", iteration, exitCode: result.exitCode, durationMs: Math.round(performance.now() - iterationStarted), usage: iterationUsage });

      throwIfAborted(controller.signal);
      if (stopReason === "idle") throw new IdleTimeoutError(settings.idleTimeoutMs, iteration);
      if (result.timedOut && stopReason === undefined) {
        throw new SandboxError(`The sandbox's wall-clock limit${options.limits?.wallSeconds ? ` (limits.wallSeconds = ${options.limits.wallSeconds})` : ""} stopped the ${agent.name} agent in iteration ${iteration}.`, {
          code: "E_WALL_CLOCK",
          hint: "Raise limits.wallSeconds, or give the agent less to do per run.",
        });
      }
      if (stopReason === "grace") return outcome; // completed; the agent was only lingering
      const redactedTail = tail.lines.map((line) => redactor(line));
      if (result.exitCode !== 0) {
        throw new AgentExecutionError(
          `The ${agent.name} agent ${result.exitCode === null ? `was killed by ${result.signal ?? "a signal"}` : `exited with code ${result.exitCode}`} in iteration ${iteration}.${agentError ? ` It said: ${redactor(agentError)}` : ""}`,
          { ...(result.exitCode !== null ? { exitCode: result.exitCode } : {}), outputTail: redactedTail, hint: "Read the agent's output above; check its credentials, model name and the API it talks to." },
        );
      }
      if (agentError !== undefined) {
        throw new AgentExecutionError(`The ${agent.name} agent reported an error in iteration ${iteration}: ${redactor(agentError)}`, {
          exitCode: 0,
          outputTail: redactedTail,
          hint: "Read the agent's message; it often names the fix (credentials, model, rate limit).",
        });
      }
      return outcome;
    };

    let last: IterationOutcome = { text: [] };
    let completion: string | undefined;
    for (let iteration = 1; iteration <= settings.maxIterations; iteration++) {
      throwIfAborted(controller.signal);
      iterations = iteration;
      emit({ type: "iteration.started", iteration, maxIterations: settings.maxIterations });
      for (const spec of settings.hooks.beforeIteration) await hook("beforeIteration", spec, handle);
      last = await runIteration(iteration, await promptFor(iteration));
      if (settings.hooks.afterIteration.length) {
        const outputs: string[] = [];
        let exitCode: number | null = 0;
        for (const spec of settings.hooks.afterIteration) {
          const result = await hook("afterIteration", spec, handle);
          outputs.push(...result.output);
          if (result.exitCode !== 0) exitCode = result.exitCode;
        }
        afterIteration = { output: outputs.join("\n"), exitCode: String(exitCode ?? "killed") };
      }
      if (last.signal !== undefined) {
        completion = last.signal;
        break;
      }
    }

    let output = undefined as T;
    if (options.output) {
      const spec = options.output;
      let retries = 0;
      for (;;) {
        try {
          output = await extractOutput(spec, last.text.join("\n"));
          break;
        } catch (error) {
          if (!(error instanceof StructuredOutputError) || retries >= spec.maxRetries || !last.sessionId) throw error;
          retries++;
          emit({ type: "log", level: "warn", message: `Structured output invalid (${error.message}); asking the agent again (${retries}/${spec.maxRetries}).` });
          const feedback = `Your answer could not be used: ${error.message}\nReply again with only a <${spec.tag}>…</${spec.tag}> block${spec.kind === "object" ? " containing JSON that matches the requested schema" : ""}.`;
          last = await runIteration(iterations, feedback, last.sessionId);
        }
      }
    }

    const commits = await isolation.commits(workspace);
    emit({ type: "commits", commits });
    await handle.close();
    handle = undefined;
    const release = await isolation.release(workspace, { outcome: "succeeded" });
    emit({ type: "workspace.released", result: release });
    status = "succeeded";
    const finalWorkspace = workspace;
    workspace = undefined;
    return {
      runId,
      ...(options.name ? { name: options.name } : {}),
      status: "succeeded",
      iterations,
      ...(completion !== undefined ? { completionSignal: completion } : {}),
      commits,
      ...(finalWorkspace.branch ? { branch: finalWorkspace.branch } : {}),
      ...(finalWorkspace.baseCommit ? { baseCommit: finalWorkspace.baseCommit } : {}),
      usage,
      output,
      ...(last.sessionId ? { sessionId: last.sessionId } : {}),
      workspace: { path: finalWorkspace.path, cwd: finalWorkspace.cwd, release },
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    // Once aborted, whatever broke (a killed exec, a half-expanded prompt) is the abort's doing.
    failure = redactError(controller.signal.aborted ? new AbortError(abortReason(controller.signal)) : toCorralError(error), redactor);
    status = failure instanceof AbortError ? "aborted" : "failed";
    throw failure;
  } finally {
    // Cleanup runs whatever happened; each step on its own so one failure cannot skip the next.
    try {
      if (handle) await handle.close().catch(() => {});
      if (workspace) {
        const ws = workspace;
        const commits = await isolation.commits(ws).catch(() => undefined);
        if (commits) emit({ type: "commits", commits });
        // A failed hook leaves the workspace as it was, for inspection.
        const keep = failure instanceof HookError;
        const release = await isolation.release(ws, { outcome: status === "aborted" ? "aborted" : "failed", ...(keep ? { keep } : {}) }).catch((error: unknown) => {
          emit({ type: "log", level: "warn", message: `Could not release the workspace ${ws.path}: ${toCorralError(error).message}` });
          return undefined;
        });
        if (release) emit({ type: "workspace.released", result: release });
      }
      if (home) await rm(home, { recursive: true, force: true }).catch(() => {});
      emit({
        type: "run.finished",
        status,
        iterations,
        usage,
        durationMs: Math.round(performance.now() - started),
        ...(failure ? { error: failure.toJSON() } : {}),
      });
    } finally {
      stopOnSignal();
      releaseProcessSignals();
    }
  }
}

interface Settings {
  cwd: string;
  maxIterations: number;
  signals: string[];
  idleTimeoutMs: number;
  completionTimeoutMs: number;
  promptCommandTimeoutMs: number;
  prompt: string;
  template?: string;
  promptArgs: Record<string, string>;
  hooks: Record<HookName, HookSpec[]>;
}

/** Every option checked up front: bad input fails before anything is created. */
function validateRunOptions<T>(options: RunOptions<T>): Settings {
  const maxIterations = options.maxIterations ?? 1;
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new UsageError(`maxIterations must be a whole number of at least 1, got ${String(options.maxIterations)}.`, { hint: "Pass e.g. --max-iterations 5." });
  }
  const seconds = (name: string, value: number | undefined, fallback: number) => {
    const v = value ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new UsageError(`${name} must be a positive number of seconds, got ${String(value)}.`, { hint: `Pass e.g. ${name}: ${fallback}.` });
    }
    return Math.round(v * 1000);
  };
  const signals = [options.completionSignal ?? DEFAULT_COMPLETION_SIGNAL].flat();
  if (signals.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new UsageError("A completion signal must be a non-empty string.", { hint: "Pass e.g. --completion-signal '<promise>COMPLETE</promise>'." });
  }
  if (options.prompt !== undefined && options.promptFile !== undefined) {
    throw new UsageError("Give either a prompt or a prompt file, not both.", { hint: "Drop --prompt or --prompt-file." });
  }
  if (options.prompt === undefined && options.promptFile === undefined) {
    throw new UsageError("No prompt was given.", { hint: "Pass --prompt \"…\" or --prompt-file path/to/prompt.md." });
  }
  const promptArgs = options.promptArgs ?? {};
  checkPromptArgs(promptArgs, options.promptFile !== undefined);
  const cwd = resolve(options.cwd ?? process.cwd());
  const settings: Settings = {
    cwd,
    maxIterations,
    signals,
    idleTimeoutMs: seconds("idleTimeout", options.idleTimeout, 600),
    completionTimeoutMs: seconds("completionTimeout", options.completionTimeout, 60),
    promptCommandTimeoutMs: seconds("promptCommandTimeout", options.promptCommandTimeout, 60),
    prompt: options.prompt ?? "",
    promptArgs,
    hooks: {
      onWorkspaceReady: hookSpecs("onWorkspaceReady", options.hooks?.onWorkspaceReady),
      onSandboxReady: hookSpecs("onSandboxReady", options.hooks?.onSandboxReady),
      beforeIteration: hookSpecs("beforeIteration", options.hooks?.beforeIteration),
      afterIteration: hookSpecs("afterIteration", options.hooks?.afterIteration),
    },
  };
  for (const pattern of options.copy ?? []) checkCopyPattern(pattern);
  if (options.promptFile !== undefined) settings.template = readPromptFileSync(resolve(cwd, options.promptFile));
  // Unknown {{KEY}}s are found now, with placeholder built-ins, before any workspace exists.
  if (settings.template !== undefined) {
    checkTemplate(settings.template, { ...promptArgs, ...Object.fromEntries(BUILTIN_PROMPT_ARGS.map((k) => [k, ""])) });
  }
  if (options.output) {
    if (maxIterations !== 1) {
      throw new UsageError(`Structured output needs maxIterations 1 (got ${maxIterations}): only one final answer can be read.`, { hint: "Set maxIterations to 1 or drop output." });
    }
    const text = settings.template ?? settings.prompt;
    if (!text.includes(`<${options.output.tag}>`)) {
      throw new UsageError(`The prompt never mentions <${options.output.tag}>, so the agent cannot know to write it.`, {
        hint: `Tell the agent in the prompt to answer inside <${options.output.tag}>…</${options.output.tag}>.`,
      });
    }
  }
  return settings;
}

function readPromptFileSync(path: string): string {
  try {
    // Sync on purpose: validation must finish before anything async is started.
    return readFileSync(path, "utf8");
  } catch (cause) {
    throw new UsageError(`Cannot read the prompt file ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}.`, {
      hint: "Check the path (relative paths are resolved from --cwd).",
      cause,
    });
  }
}

/** Builds the env for the sandbox: basics, agent-declared vars from the host, then explicit vars. */
function buildEnv<T>(options: RunOptions<T>, agent: Agent, hostEnv: Record<string, string | undefined>, redactor: Redactor): Record<string, string> {
  const env: Record<string, string> = {
    PATH: hostEnv.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    LANG: hostEnv.LANG ?? "C.UTF-8",
    TERM: "dumb",
    NO_COLOR: "1",
  };
  const declared = [...(agent.env?.credentials ?? []), ...(agent.env?.passthrough ?? [])];
  for (const name of declared) {
    const value = hostEnv[name];
    if (value !== undefined && value !== "") env[name] = value;
  }
  Object.assign(env, options.env ?? {});
  const secretNames = new Set([...(agent.env?.credentials ?? []), ...(options.secretEnv ?? [])]);
  redactor.addSecrets([...secretNames].map((name) => env[name]));
  return env;
}

/** The host env for host-side hooks: the user's own commands on the user's own machine. */
function definedEnv(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** A sortable, unique run id: `20250101-120000-a1b2c3`. */
export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AbortError(abortReason(signal));
}

function abortReason(signal: AbortSignal): string | undefined {
  const reason: unknown = signal.reason;
  if (typeof reason === "string") return reason;
  if (reason instanceof CorralError) return reason.message;
  return undefined;
}
