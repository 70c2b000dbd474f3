/**
 * @corral/core — the interfaces every corral plugin implements (Agent, Sandbox, Isolation,
 * Display), the plugin registry, the run loop, events, errors, and the built-in `host` sandbox,
 * `in-place` isolation and `command` agent.
 */
export type { Agent, AgentApi, AgentCommand, AgentCommandInput, AgentEvent, AgentParser, AgentSetupInput } from "./agent.js";
export type {
  Availability,
  BuildImageOptions,
  ExecOptions,
  ExecResult,
  GitMount,
  Mount,
  ProxyNetwork,
  Reaped,
  ReapOptions,
  ReapResult,
  SandboxNetwork,
  SandboxNetworkMode,
  ResourceLimits,
  Sandbox,
  SandboxCapabilities,
  SandboxHandle,
  SandboxSpec,
} from "./sandbox.js";
export { networkMode, orderGitMounts, resolveHostPath } from "./sandbox.js";
export { DEFAULT_PORTS, decide, parsePolicy, parseRule, ruleFor } from "./network/policy.js";
export type { AllowlistPolicy, Decision, EgressRule, NetworkPolicy, ParsedPolicy } from "./network/policy.js";
export { EgressProxy, GATEWAY_PREFIX } from "./network/proxy.js";
export { apiHostRule, GATEWAY_PLACEHOLDER, PROXY_PORTS } from "./run/network.js";
export type { EgressProxyOptions, EgressRecord, Gateway } from "./network/proxy.js";
export type {
  AcquireRequest,
  Commit,
  Isolation,
  ListedWorkspace,
  ReclaimedWorkspace,
  ReclaimRequest,
  ReclaimResult,
  ReleaseOptions,
  ReleaseResult,
  RemovedWorkspace,
  Workspace,
} from "./isolation.js";
export type { Display } from "./display.js";
export type { FleetTaskSummary, RunEvent, RunEventBase, RunEventBody, RunEventType, RunStatus, TaskStatus } from "./events.js";
export { isEvent } from "./events.js";
export type { Usage } from "./usage.js";
export { addUsage, emptyUsage, totalTokens } from "./usage.js";

export {
  PLUGIN_API_VERSION,
  SUPPORTED_PLUGIN_API_VERSIONS,
  assertSupportedApiVersion,
  defineAgent,
  defineIsolation,
  defineSandbox,
  instantiate,
  isConfigured,
  isPlugin,
  validateOptions,
} from "./plugin.js";
export type { Configured, Plugin, PluginDefinition, PluginInstanceOf, PluginKind, PluginMeta } from "./plugin.js";
export { didYouMean, Registry } from "./registry.js";
export { FIRST_PARTY_PLUGINS, installCommand } from "./catalog.js";

export { run, newRunId, DEFAULT_COMPLETION_SIGNAL, RUN_ID_ENV } from "./run.js";
export { linkAbort, trapProcessSignals } from "./abort.js";
export type { RunOptions, RunResult } from "./run.js";
export type { GitIdentityOption } from "./run/git-identity.js";
export { Output, extractOutput, lastTagContent } from "./output.js";
export type { OutputSpec } from "./output.js";
export { BUILTIN_PROMPT_ARGS, checkTemplate, renderTemplate, shellQuote } from "./prompt.js";
export { hookSpecs, runHook } from "./hooks.js";
export type { HookCommand, HookEntry, HookName, HookSpec, Hooks } from "./hooks.js";
export { copyIntoWorkspace, checkCopyPattern } from "./copy.js";
export type { CopyReport } from "./copy.js";

export * from "./errors.js";
export { ERROR_CODES } from "./error-codes.js";
export type { ErrorCode } from "./error-codes.js";
export { createRedactor, redact, redactDeep } from "./redact.js";
export type { Redactor } from "./redact.js";
export { inert, inertJson } from "./inert.js";
export { describeAgentEvent, oneLine } from "./describe.js";
export { resolveAgentProgram } from "./run/agent-program.js";
export type { AgentProgram, AgentProgramInput } from "./run/agent-program.js";
export { buildEnv, DEFAULT_PATH } from "./run/env.js";

export { spawnStreaming, killGroup } from "./process.js";
export { processLives, processStartTime } from "./liveness.js";
export type { SpawnOptions } from "./process.js";
export { LineSplitter, TailBuffer } from "./lines.js";
export { git, scrubbedGitEnv, SAFE_GIT_CONFIG } from "./git.js";
export { EMPTY_TREE, Quarantine, swapRef } from "./quarantine.js";
export type { RefRead } from "./quarantine.js";
export { borrowedObjectMounts, createRunGitDir, gitIdentity, repoObjectFormat, SHARED_OBJECTS } from "./run-git-dir.js";
export type { RunGitDirSpec } from "./run-git-dir.js";
export type { GitResult } from "./git.js";
export { packageVersion, CORE_VERSION } from "./version.js";
export { listRunTempDirs, removeRunTempDirs, runTempDir, runTempPrefix } from "./temp.js";

export { hostSandbox } from "./builtins/host.js";
export { inPlaceIsolation, commitsSince, CORRAL_CONFIG_FILES } from "./builtins/in-place.js";
export { commandAgent } from "./builtins/command-agent.js";
