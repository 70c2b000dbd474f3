import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { linkAbort, trapProcessSignals } from "./abort.js";
import type { Agent } from "./agent.js";
import { hostSandbox } from "./builtins/host.js";
import { inPlaceIsolation } from "./builtins/in-place.js";
import { copyIntoWorkspace } from "./copy.js";
import type { Display } from "./display.js";
import { AbortError, CorralError, HookError, IntegrityError, SandboxUnavailableError, StructuredOutputError, redactError, toCorralError } from "./errors.js";
import type { RunEvent, RunEventBody, RunStatus } from "./events.js";
import { describeHook, runHook, type HookName, type Hooks, type HookSpec } from "./hooks.js";
import type { Commit, Isolation, ReleaseResult, Workspace } from "./isolation.js";
import { extractOutput, type OutputSpec } from "./output.js";
import { instantiate, type Configured } from "./plugin.js";
import { renderTemplate, runPromptCommand } from "./prompt.js";
import { createRedactor, redactDeep, type Redactor } from "./redact.js";
import { buildEnv, definedEnv } from "./run/env.js";
import { describeProgram, programMounts, resolveAgentProgram, withProgram } from "./run/agent-program.js";
import { resolveGitIdentity, writeGitIdentity, type GitIdentityOption } from "./run/git-identity.js";
import { abortReason, runIteration, type IterationContext, type IterationOutcome } from "./run/iteration.js";
import { DEFAULT_COMPLETION_SIGNAL, validateRunOptions, type Settings } from "./run/settings.js";
import type { NetworkPolicy } from "./network/policy.js";
import { startNetwork, type RunNetwork } from "./run/network.js";
import type { Mount, ResourceLimits, Sandbox, SandboxHandle } from "./sandbox.js";
import { runTempDir } from "./temp.js";
import { addUsage, emptyUsage, type Usage } from "./usage.js";

export { DEFAULT_COMPLETION_SIGNAL };
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
  /**
   * Who the agent's commits are by. Default `"host"`: the user's name and email (GIT_AUTHOR_* or
   * `git config user.*` on the host), and nothing else of their gitconfig. `false`: none.
   */
  gitIdentity?: GitIdentityOption;
  /** Env handed to the sandbox, explicitly. The host env is never passed whole. */
  env?: Record<string, string>;
  /** Names in `env` whose values are secret (redacted everywhere). */
  secretEnv?: string[];
  /** Where agent-declared credentials are read from. Default process.env. */
  hostEnv?: Record<string, string | undefined>;
  mounts?: Mount[];
  /**
   * What the sandbox may reach: `"none"`, `"host"`, or `{ allow: [...], deny?, hosts? }`, enforced by
   * corral's egress proxy, with the agent's API added. Default: `{ allow: [] }` (the agent's API only)
   * where the sandbox enforces it, else `"host"` with a warning. See docs/network.md.
   */
  network?: NetworkPolicy;
  /** `gateway`: the agent's API key stays on the host; corral's gateway adds it to each request (needs an allowlist). Default `env`. */
  credentials?: "env" | "gateway";
  limits?: ResourceLimits;
  /** Said at the start of the run, as `log` warnings (e.g. what the caller found while resolving it: library code never prints). */
  warnings?: string[];
  /** Commands around the run: on the host in the new workspace, or inside the sandbox. */
  hooks?: Hooks;
  /** Untracked paths or globs of the main checkout copied into a new workspace (node_modules, .env…). */
  copy?: string[];
}

export interface RunResult<T = undefined> {
  runId: string;
  name?: string;
  /**
   * `incomplete`: all `maxIterations` ran without the completion signal (and no structured output
   * was asked for, which would have been the answer). The work is there; the task may not be done.
   */
  status: "succeeded" | "incomplete";
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

/** What a run holds while it lives; shutdown gives back whatever is set, in one order. */
interface Held {
  home?: string;
  network?: RunNetwork;
  workspace?: Workspace;
  handle?: SandboxHandle;
}

/**
 * Runs an agent in a loop, in a sandbox, on an isolated workspace, in phases: settings → plugins
 * → env → workspace → sandbox → iterations → output → shutdown. Shutdown is one path for success,
 * failure, timeout and abort alike: close the sandbox (nothing can write the workspace any more),
 * then release the workspace (which brings the run's work back), then remove the per-run HOME.
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
  const emit = eventEmitter(runId, options, redactor);

  const controller = new AbortController();
  const stopOnSignal = linkAbort(options.signal, controller);
  const releaseProcessSignals = options.handleProcessSignals === false ? () => {} : trapProcessSignals(controller);
  const throwIfAborted = () => {
    if (controller.signal.aborted) throw new AbortError(abortReason(controller.signal));
  };

  const held: Held = {};
  let usage = emptyUsage();
  let iterations = 0;
  let status: RunStatus = "failed";
  let failure: CorralError | undefined;
  let finished: { completion?: string; last: IterationOutcome; output: T } | undefined;
  let release: ReleaseResult | undefined;

  try {
    try {
      throwIfAborted();
      emit({ type: "run.started", agent: agent.name, sandbox: sandbox.name, isolation: isolation.name, maxIterations: settings.maxIterations, cwd: settings.cwd });
      const sandboxed = (sandbox.capabilities?.filesystem ?? "isolated") === "isolated";
      if (!sandboxed) {
        emit({ type: "log", level: "warn", message: "No sandbox: the agent runs on the host with your user's full access (choose one with --sandbox)." });
      }
      for (const message of options.warnings ?? []) emit({ type: "log", level: "warn", message });

      // Env: explicit env, plus what the agent declares, from the host env; a private HOME.
      const identity = await resolveGitIdentity(options.gitIdentity, settings.cwd, hostEnv);
      if (!identity && options.gitIdentity !== false) {
        emit({ type: "log", level: "warn", message: "No git identity found: the agent's commits will fail with \"Author identity unknown\". Set it with `git config --global user.name/user.email`, or `gitIdentity` in the config." });
      }
      const env = buildEnv(options, agent, hostEnv, redactor);
      env[RUN_ID_ENV] = runId;
      // The agent's program, found on the host before anything is created; shown inside read-only.
      const program = resolveAgentProgram({ agent, sandbox, cwd: settings.cwd, env, hostEnv, ...(options.mounts ? { mounts: options.mounts } : {}) });
      if (program?.mounts.length) emit({ type: "log", level: "info", message: describeProgram(agent, program) });
      held.home = await runTempDir("home", runId);
      env.HOME = held.home;
      await writeGitIdentity(held.home, identity);
      // Network: the sandbox's only way out is the run's egress proxy, when the policy is an allowlist.
      const network = (held.network = await startNetwork({ policy: options.network, credentials: options.credentials ?? "env", sandbox, agent, env, runId, emit }));
      for (const name of network.unset) delete env[name];
      Object.assign(env, network.env);
      const agentEnv = (await agent.setup?.({ env: { ...env }, home: held.home, ...(network.apiBaseUrl ? { apiBaseUrl: network.apiBaseUrl } : {}) })) ?? {};
      Object.assign(env, agentEnv);

      const availability = await sandbox.check();
      if (!availability.available) {
        throw new SandboxUnavailableError(sandbox.name, availability.reason, { ...(availability.hint ? { hint: availability.hint } : {}), ...(availability.code ? { code: availability.code } : {}) });
      }
      throwIfAborted();

      // Workspace: acquired, untracked files copied in, host-side setup hooks.
      const workspace = (held.workspace = await isolation.acquire({ cwd: settings.cwd, runId, ...(options.name ? { name: options.name } : {}), signal: controller.signal, sandboxed }));
      emit({ type: "workspace.ready", path: workspace.path, cwd: workspace.cwd, ...(workspace.branch ? { branch: workspace.branch } : {}), ...(workspace.baseCommit ? { baseCommit: workspace.baseCommit } : {}) });
      throwIfAborted();
      if (options.copy?.length) {
        if (workspace.repoRoot && workspace.repoRoot !== workspace.path) {
          const copied = await copyIntoWorkspace(workspace.repoRoot, workspace.path, options.copy);
          emit({ type: "workspace.copied", paths: copied.paths, durationMs: copied.durationMs });
        } else {
          emit({ type: "log", level: "warn", message: "copy was ignored: the run works in the checkout itself." });
        }
      }
      const hook = hookRunner({ emit, workspace, hostEnv, signal: controller.signal });
      for (const spec of settings.hooks.onWorkspaceReady) await hook("onWorkspaceReady", spec);

      // Sandbox: one for the whole run.
      const handle = (held.handle = await sandbox.create({
        runId,
        ...(options.name ? { name: options.name } : {}),
        workspace: { path: workspace.path, cwd: workspace.cwd },
        gitMounts: workspace.gitMounts,
        home: held.home,
        mounts: [...(options.mounts ?? []), ...programMounts(program, [workspace.path, held.home])],
        env,
        inheritedEnv: ["PATH", "LANG"].filter((key) => options.env?.[key] === undefined && agentEnv[key] === undefined),
        network: network.spec,
        limits: options.limits ?? {},
      }));
      emit({ type: "sandbox.ready", sandbox: sandbox.name, id: handle.id });
      for (const spec of settings.hooks.onSandboxReady) await hook("onSandboxReady", spec, handle);

      // Iterations.
      const ctx: IterationContext = {
        agent: withProgram(agent, program),
        handle,
        settings,
        home: held.home,
        cwd: workspace.cwd,
        limits: options.limits ?? {},
        redactor,
        signal: controller.signal,
        emit,
        account: (spent) => (usage = addUsage(usage, spent)),
        keepText: options.output !== undefined,
      };
      let afterIteration = { output: "", exitCode: "" };
      const promptFor = async (iteration: number): Promise<string> => {
        if (settings.template === undefined) return settings.prompt;
        const builtins = promptBuiltins({ workspace, runId, name: options.name, iteration, settings, afterIteration });
        return renderTemplate(settings.template, { ...settings.promptArgs, ...builtins }, (command) =>
          runPromptCommand(command, handle, { cwd: workspace.cwd, timeoutMs: settings.promptCommandTimeoutMs, signal: controller.signal }),
        );
      };
      let last: IterationOutcome = { text: [], usage: emptyUsage() };
      let completion: string | undefined;
      for (let iteration = 1; iteration <= settings.maxIterations; iteration++) {
        throwIfAborted();
        iterations = iteration;
        emit({ type: "iteration.started", iteration, maxIterations: settings.maxIterations });
        for (const spec of settings.hooks.beforeIteration) await hook("beforeIteration", spec, handle);
        last = await runIteration(ctx, iteration, await promptFor(iteration));
        if (settings.hooks.afterIteration.length) afterIteration = await runAfterIteration(settings.hooks.afterIteration, (spec) => hook("afterIteration", spec, handle));
        if (last.signal !== undefined) {
          completion = last.signal;
          break;
        }
      }

      // Output: read from the last answer; an invalid one is asked for again in the same session.
      let output = undefined as T;
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
            last = await runIteration(ctx, iterations, feedback, last.sessionId);
          }
        }
      }
      finished = { ...(completion !== undefined ? { completion } : {}), last, output };
      // Iterations used up without the signal is not a completion; a structured answer is one.
      status = completion === undefined && !options.output ? "incomplete" : "succeeded";
    } catch (error) {
      // Once aborted, whatever broke (a killed exec, a half-expanded prompt) is the abort's doing.
      failure = redactError(controller.signal.aborted ? new AbortError(abortReason(controller.signal)) : toCorralError(error), redactor);
      status = failure instanceof AbortError ? "aborted" : "failed";
    }

    // Shutdown, one path: the sandbox closes before anything reads what the agent left.
    const shut = await shutdown(held, { isolation, status, failure, emit });
    release = shut.release;
    const ended = status === "succeeded" || status === "incomplete";
    const problem = shut.problem ?? (ended && release?.problems?.length ? integrityError(release.problems) : undefined);
    if (ended && problem) {
      failure = redactError(problem, redactor);
      status = "failed";
    }
    emit({
      type: "run.finished",
      status,
      iterations,
      usage,
      durationMs: Math.round(performance.now() - started),
      ...(finished?.completion !== undefined ? { completionSignal: finished.completion } : {}),
      ...(held.workspace?.branch ? { branch: held.workspace.branch } : {}),
      commits: release?.commits ?? [],
      ...(held.workspace && release ? { workspace: keptWorkspace(held.workspace, release) } : {}),
      ...(failure ? { error: failure.toJSON() } : {}),
    });
  } finally {
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
    iterations,
    ...(finished.completion !== undefined ? { completionSignal: finished.completion } : {}),
    commits: release.commits,
    ...(workspace.branch ? { branch: workspace.branch } : {}),
    ...(workspace.baseCommit ? { baseCommit: workspace.baseCommit } : {}),
    usage,
    output: finished.output,
    ...(finished.last.sessionId ? { sessionId: finished.last.sessionId } : {}),
    workspace: { path: workspace.path, cwd: workspace.cwd, release },
    durationMs: Math.round(performance.now() - started),
  } satisfies RunResult<T>, redactor) as RunResult<T>;
}

/** Every event gets the run's id, name and time, and passes the run's redactor before anyone sees it. */
function eventEmitter<T>(runId: string, options: RunOptions<T>, redactor: Redactor): (body: RunEventBody) => void {
  const observers = [...(options.displays ?? []).map((display) => (e: RunEvent) => display.onEvent(e)), ...(options.onEvent ? [options.onEvent] : [])];
  return (body) => {
    const event = redactDeep({ runId, ...(options.name ? { name: options.name } : {}), time: new Date().toISOString(), ...body } as RunEvent, redactor);
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

/** Runs one hook with its events: on the host in the workspace, or inside the sandbox when a handle is given. */
function hookRunner(options: { emit: (body: RunEventBody) => void; workspace: Workspace; hostEnv: Record<string, string | undefined>; signal: AbortSignal }) {
  const { emit, workspace, hostEnv, signal } = options;
  return async (name: HookName, spec: HookSpec, handle?: SandboxHandle) => {
    const command = describeHook(spec.command);
    emit({ type: "hook.started", hook: name, command });
    const started = performance.now();
    const result = await runHook(name, spec, { ...(handle ? { sandbox: handle } : { env: definedEnv(hostEnv) }), cwd: workspace.cwd, signal }, (line, stream) =>
      emit({ type: "hook.output", hook: name, line, stream }),
    );
    emit({ type: "hook.finished", hook: name, command, exitCode: result.exitCode, durationMs: Math.round(performance.now() - started) });
    return result;
  };
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

/**
 * Gives back what the run holds, each step on its own so one failure cannot skip the next: the
 * sandbox first, then the workspace (whose release brings the work back), then HOME. A step that
 * fails on a succeeded run fails the run (`problem`); after a failure it is only a warning.
 */
async function shutdown(
  held: Held,
  context: { isolation: Isolation; status: RunStatus; failure: CorralError | undefined; emit: (body: RunEventBody) => void },
): Promise<{ release?: ReleaseResult; problem?: CorralError }> {
  const { isolation, status, failure, emit } = context;
  let problem: CorralError | undefined;
  const fail = (what: string, error: unknown) => {
    const e = toCorralError(error);
    if (status === "succeeded" || status === "incomplete") problem ??= e;
    else emit({ type: "log", level: "warn", message: `${what}: ${e.message}` });
  };
  if (held.handle) await held.handle.close().catch((error: unknown) => fail("Could not close the sandbox", error));
  if (held.network) await held.network.close().catch((error: unknown) => fail("Could not stop the egress proxy", error));
  let release: ReleaseResult | undefined;
  if (held.workspace) {
    const workspace = held.workspace;
    try {
      // A failed hook leaves the workspace as it was, for inspection.
      const keep = failure instanceof HookError;
      release = await isolation.release(workspace, { outcome: status, ...(keep ? { keep } : {}) });
      emit({ type: "commits", commits: release.commits });
      emit({ type: "workspace.released", result: release, ...(workspace.branch ? { branch: workspace.branch } : {}) });
      // On a succeeded run the problems become its error; otherwise they are said here.
      if (status !== "succeeded" && status !== "incomplete") for (const text of release.problems ?? []) emit({ type: "log", level: "warn", message: text });
    } catch (error) {
      fail(`Could not release the workspace ${workspace.path}`, error);
    }
  }
  if (held.home) await rm(held.home, { recursive: true, force: true }).catch(() => {});
  return { ...(release ? { release } : {}), ...(problem ? { problem } : {}) };
}

/** Where the workspace lies after release, for `run.finished`: kept (and why, and how much is uncommitted) or removed. */
function keptWorkspace(workspace: Workspace, release: ReleaseResult): NonNullable<Extract<RunEventBody, { type: "run.finished" }>["workspace"]> {
  return {
    path: release.path ?? workspace.path,
    kept: !release.removed,
    ...(release.keptReason ? { keptReason: release.keptReason } : {}),
    ...(release.uncommitted ? { uncommitted: release.uncommitted } : {}),
  };
}

function integrityError(problems: string[]): IntegrityError {
  return new IntegrityError(`The run did something it must not, so it is not a success: ${problems.join(" ")}`, problems);
}

/** A sortable, unique run id: `20250101-120000-a1b2c3`. */
export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}
