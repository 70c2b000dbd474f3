/**
 * @corral/core — the interfaces every corral plugin implements (Agent, Sandbox, Isolation,
 * Display), the plugin registry, the run loop, events, errors, and the built-in `host` sandbox,
 * `in-place` isolation and `command` agent.
 *
 * The root is the contract: what a plugin implements and returns, what a run takes and gives
 * back, the events and the errors. Helpers for implementing a plugin (processes, lines, temp
 * folders, safe host-side git, redaction, inert text) are on `@corral/core/plugin-kit`; the
 * conformance kits on `@corral/core/testing` (docs/plugins.md, ADR 0006).
 */
export type { Agent, AgentApi, AgentCommand, AgentCommandInput, AgentEvent, AgentParser, AgentSetupInput } from "./agent.js";
export type {
  Availability,
  BuildImageOptions,
  AttachOptions,
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
  CopiedWorkspaceCapability,
} from "./sandbox.js";
export { parsePolicy } from "./network/policy.js";
export type { AllowlistPolicy, EgressRule, NetworkPolicy, ParsedPolicy } from "./network/policy.js";
export type {
  AcquireRequest,
  BranchExists,
  Commit,
  Isolation,
  ListedWorkspace,
  ReclaimedWorkspace,
  ReclaimRequest,
  ReclaimResult,
  ReleaseOptions,
  ReleaseResult,
  ReleaseFailure,
  MergeBackOutcome,
  RemovedWorkspace,
  Workspace,
} from "./isolation.js";
export type { Display } from "./display.js";
export type { FleetTaskSummary, RunEvent, RunEventBase, RunEventBody, RunEventType, RunStatus, TaskStatus } from "./events.js";
export { agentEventsOf, isEvent, joinedOutputOf } from "./events.js";
export type { Usage } from "./usage.js";
export { addUsage, emptyUsage, totalTokens } from "./usage.js";

export {
  PLUGIN_API_VERSION,
  SUPPORTED_PLUGIN_API_VERSIONS,
  defineAgent,
  defineIsolation,
  defineSandbox,
  instantiate,
  isConfigured,
  isPlugin,
} from "./plugin.js";
export type { Configured, Plugin, PluginDefinition, PluginInstanceOf, PluginKind, PluginMeta } from "./plugin.js";
export { didYouMean, Registry } from "./registry.js";
export { FIRST_PARTY_PLUGINS, installCommand } from "./catalog.js";
export { packageVersion } from "./version.js";

export { run, newRunId, RUN_ID_ENV } from "./run.js";
export { linkAbort, trapProcessSignals } from "./abort.js";
export type { ResumeFrom, RunOptions, RunResult, WorkspaceMode } from "./run.js";
export type { GitIdentityOption } from "./run/git-identity.js";
export { BudgetExceededError, budgetReached, budgetStopOf, BudgetStopReason, checkBudget, describeBudgetStop } from "./run/budget.js";
export type { Budget, BudgetName, BudgetStop, Spent } from "./run/budget.js";
export { Output } from "./output.js";
export type { OutputSpec } from "./output.js";
export type { HookCommand, HookEntry, HookSpec, Hooks } from "./hooks.js";
export { copyIntoWorkspace } from "./copy.js";
export type { CopyReport } from "./copy.js";
export { describeAgentEvent, oneLine } from "./describe.js";
export { resolveAgentProgram } from "./run/agent-program.js";
export type { AgentProgram, AgentProgramInput } from "./run/agent-program.js";
export { buildEnv, DEFAULT_PATH } from "./run/env.js";
export type { Redactor } from "./redact.js";

export {
  CorralError,
  UsageError,
  ConfigError,
  PluginNotFoundError,
  PluginApiVersionError,
  PluginOptionsError,
  DuplicatePluginError,
  PromptTemplateError,
  PromptExpansionError,
  IdleTimeoutError,
  AbortError,
  AgentExecutionError,
  MissingCredentialsError,
  AgentNotFoundError,
  StructuredOutputError,
  SandboxUnavailableError,
  unavailableBecause,
  GitError,
  SandboxError,
  IsolationError,
  IntegrityError,
  HookError,
  isCorralError,
  toCorralError,
} from "./errors.js";
export { ERROR_CODES } from "./error-codes.js";
export type { ErrorCode } from "./error-codes.js";

export { hostSandbox } from "./builtins/host.js";
export { inPlaceIsolation, CORRAL_CONFIG_FILES } from "./builtins/in-place.js";
export { commandAgent } from "./builtins/command-agent.js";
