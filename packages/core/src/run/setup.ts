import { join } from "node:path";
import { copiedPaths, copiedWorkspaceFor, requireCopyWorkspace, shipIn } from "../copied-workspace.js";
import { copyIntoWorkspace } from "../copy.js";
import { SandboxUnavailableError } from "../errors.js";
import { describeHook, runHook, type HookName, type HookSpec } from "../hooks.js";
import type { Workspace } from "../isolation.js";
import { isolatesFilesystem, type SandboxHandle } from "../sandbox.js";
import { runTempDir } from "../temp.js";
import { describeProgram, programMounts, resolveAgentProgram, type AgentProgram } from "./agent-program.js";
import { buildEnv, definedEnv } from "./env.js";
import { resolveGitIdentity, writeGitIdentity } from "./git-identity.js";
import { startNetwork, type RunNetwork } from "./network.js";
import { copySessionTree } from "./session.js";
import type { RunScope } from "./scope.js";

/** The run's id in every sandboxed process's env, so `corral clean` can find what a killed run left. */
export const RUN_ID_ENV = "CORRAL_RUN_ID";

/** What the environment phase made: the sandbox's env, the agent's program, the network. */
export interface RunEnvironment {
  env: Record<string, string>;
  /** What the agent's setup added (the run keeps its PATH and LANG off the inherited list). */
  agentEnv: Record<string, string>;
  program: AgentProgram | undefined;
  network: RunNetwork;
  home: string;
}

/**
 * Phase "env": the sandbox's env (explicit env plus what the agent declares, never the host env
 * whole), the user's git identity, the agent's program found on the host, a private HOME, the
 * network (the egress proxy when the policy is an allowlist), the agent's setup, and the sandbox's
 * own check that it can run here. Nothing of the workspace exists yet.
 */
export async function prepareEnvironment(scope: RunScope): Promise<RunEnvironment> {
  const { options, settings, agent, sandbox, hostEnv, redactor, emit, runId, held } = scope;
  // git is asked for the identity while the env is built and the agent's program is looked for.
  const identityRead = resolveGitIdentity(options.gitIdentity, settings.cwd, hostEnv);
  identityRead.catch(() => {});
  let env: Record<string, string>;
  let program: AgentProgram | undefined;
  try {
    env = buildEnv(options, agent, hostEnv, redactor);
    env[RUN_ID_ENV] = runId;
    // The agent's program, found on the host before anything is created; shown inside read-only.
    program = resolveAgentProgram({ agent, sandbox, cwd: settings.cwd, env, hostEnv, ...(options.mounts ? { mounts: options.mounts } : {}) });
  } catch (error) {
    await identityRead; // its error, if any, came first before
    throw error;
  }
  const identity = await identityRead;
  if (!identity && options.gitIdentity !== false) {
    emit({ type: "log", level: "warn", message: "No git identity found: the agent's commits will fail with \"Author identity unknown\". Set it with `git config --global user.name/user.email`, or `gitIdentity` in the config." });
  }
  if (program?.mounts.length) emit({ type: "log", level: "info", message: describeProgram(agent, program) });
  const home = (held.home = await runTempDir("home", runId));
  env.HOME = home;
  await writeGitIdentity(home, identity);
  // A resumed run's agent finds its session where its CLI keeps it (copied as data, before its setup writes its own files).
  if (options.resume?.sessionDir && agent.sessionFiles?.length) {
    const copied = await copySessionTree(options.resume.sessionDir, home, agent.sessionFiles);
    if (copied.skipped) emit({ type: "log", level: "warn", message: `Part of the session of run ${options.resume.runId} was not brought back: ${copied.skipped}.` });
  }
  // Network: the sandbox's only way out is the run's egress proxy, when the policy is an allowlist.
  const network = (held.network = await startNetwork({ policy: options.network, credentials: options.credentials ?? "env", sandbox, agent, env, runId, emit }));
  for (const name of network.unset) delete env[name];
  Object.assign(env, network.env);
  const agentEnv = (await agent.setup?.({ env: { ...env }, home, ...(network.apiBaseUrl ? { apiBaseUrl: network.apiBaseUrl } : {}) })) ?? {};
  Object.assign(env, agentEnv);

  const availability = await sandbox.check();
  if (!availability.available) {
    throw new SandboxUnavailableError(sandbox.name, availability.reason, { ...(availability.hint ? { hint: availability.hint } : {}), ...(availability.code ? { code: availability.code } : {}) });
  }
  scope.throwIfAborted();
  return { env, agentEnv, program, network, home };
}

/** Runs one hook with its events: on the host in the workspace, or inside the sandbox when a handle is given. */
export type HookRunner = (name: HookName, spec: HookSpec, handle?: SandboxHandle) => Promise<{ exitCode: number | null; output: string[] }>;

/** Phase "workspace": acquired from the isolation, untracked files copied in, the host-side setup hooks run. */
export async function prepareWorkspace(scope: RunScope): Promise<{ workspace: Workspace; hook: HookRunner }> {
  const { options, settings, isolation, sandbox, emit, runId, held } = scope;
  const sandboxed = isolatesFilesystem(sandbox);
  const continueFrom = options.resume?.branch ? { branch: options.resume.branch, ...(options.resume.workspace ? { path: options.resume.workspace } : {}), ...(options.resume.baseBranch ? { baseBranch: options.resume.baseBranch } : {}) } : undefined;
  // Before anything exists: a sandbox that cannot take a copy refuses it (fail closed).
  const copyCapability = copiedWorkspaceFor(options.workspace, sandbox, emit);
  const workspace = (held.workspace = await isolation.acquire({
    cwd: settings.cwd,
    runId,
    ...(options.name ? { name: options.name } : {}),
    signal: scope.signal,
    sandboxed,
    ...(options.branchExists ? { branchExists: options.branchExists } : {}),
    ...(continueFrom ? { continueFrom } : {}),
  }));
  for (const message of workspace.notes ?? []) emit({ type: "log", level: "warn", message });
  emit({ type: "workspace.ready", path: workspace.path, cwd: workspace.cwd, ...(workspace.branch ? { branch: workspace.branch } : {}), ...(workspace.baseCommit ? { baseCommit: workspace.baseCommit } : {}), ...(workspace.baseBranch ? { baseBranch: workspace.baseBranch } : {}) });
  scope.throwIfAborted();
  const copiedPathsOfRun: string[] = [];
  if (options.copy?.length) {
    if (workspace.repoRoot && workspace.repoRoot !== workspace.path) {
      const copied = await copyIntoWorkspace(workspace.repoRoot, workspace.path, options.copy);
      copiedPathsOfRun.push(...copied.paths);
      emit({ type: "workspace.copied", paths: copied.paths, durationMs: copied.durationMs });
    } else {
      emit({ type: "log", level: "warn", message: "copy was ignored: the run works in the checkout itself." });
    }
  }
  if (copyCapability) {
    requireCopyWorkspace(workspace);
    held.copy = {
      capability: copyCapability,
      cwd: copiedPaths(copyCapability, workspace).cwd,
      copied: copiedPathsOfRun,
      patchPath: join(workspace.repoRoot!, ".corral", "runs", runId, "uncommitted.patch"),
    };
  }
  const hook = hookRunner(scope, workspace);
  for (const spec of settings.hooks.onWorkspaceReady) await hook("onWorkspaceReady", spec);
  return { workspace, hook };
}

/** Phase "sandbox": one for the whole run, over the workspace, its git mounts and the agent's program; then the in-sandbox setup hooks. */
export async function openSandbox(scope: RunScope, environment: RunEnvironment, workspace: Workspace, hook: HookRunner): Promise<SandboxHandle> {
  const { options, settings, sandbox, emit, runId, held } = scope;
  const { env, agentEnv, program, network, home } = environment;
  const copy = held.copy;
  const handle = (held.handle = await sandbox.create({
    runId,
    ...(options.name ? { name: options.name } : {}),
    // A copied workspace: a folder of the sandbox's own, nothing of the repository mounted.
    workspace: copy ? { path: copiedPaths(copy.capability, workspace).workspace, cwd: copy.cwd, copy: true } : { path: workspace.path, cwd: workspace.cwd },
    gitMounts: copy ? [] : workspace.gitMounts,
    home,
    mounts: [...(options.mounts ?? []), ...programMounts(program, [workspace.path, home])],
    env,
    inheritedEnv: ["PATH", "LANG"].filter((key) => options.env?.[key] === undefined && agentEnv[key] === undefined),
    network: network.spec,
    limits: options.limits ?? {},
  }));
  emit({ type: "sandbox.ready", sandbox: sandbox.name, id: handle.id });
  if (copy) {
    const shipped = await shipIn(handle, copy.capability, workspace, { copied: copy.copied, runId, signal: scope.signal });
    emit({ type: "log", level: "info", message: `Copied workspace: the base commit (${Math.round(shipped.packBytes / 1024)} KiB, one commit, no history) and ${shipped.copied} copied path(s) shipped into the sandbox in ${Math.round(shipped.durationMs)} ms.` });
  }
  for (const spec of settings.hooks.onSandboxReady) await hook("onSandboxReady", spec, handle);
  return handle;
}

function hookRunner(scope: RunScope, workspace: Workspace): HookRunner {
  const { emit, hostEnv, signal } = scope;
  return async (name, spec, handle) => {
    const command = describeHook(spec.command);
    emit({ type: "hook.started", hook: name, command });
    const started = performance.now();
    const result = await runHook(name, spec, { ...(handle ? { sandbox: handle } : { env: definedEnv(hostEnv) }), cwd: handle && scope.held.copy ? scope.held.copy.cwd : workspace.cwd, signal }, (line, stream) =>
      emit({ type: "hook.output", hook: name, line, stream }),
    );
    emit({ type: "hook.finished", hook: name, command, exitCode: result.exitCode, durationMs: Math.round(performance.now() - started) });
    return result;
  };
}
