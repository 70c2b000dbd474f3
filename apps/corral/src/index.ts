/**
 * corral — run AI coding agents unattended, in a loop, sandboxed, on their own git worktree.
 *
 * ```ts
 * import { run } from "corral";
 * const result = await run({ agent: "claude", sandbox: "bwrap", prompt: "Fix the failing test" });
 * ```
 */
export { run } from "./run.js";
export type { CorralRunOptions } from "./run.js";
export { defineConfig, loadConfig, findConfigFile, CONFIG_FILES } from "./config.js";
export type { CorralConfig, LoadedConfig } from "./config.js";
export { terminalDisplay } from "./displays/terminal.js";
export type { TerminalDisplayOptions } from "./displays/terminal.js";
export { logFileDisplay } from "./displays/log-file.js";
export { ndjsonDisplay } from "./displays/ndjson.js";
export { boardDisplay } from "./displays/board.js";
export { runMany, summarizeTask, totalsByAgent } from "./fleet.js";
// Continuing: a run where another left off (corral run --resume), a fleet's failed tasks again (--retry-failed).
export { resumeRun, resumeOptions, retryTasks, reclaimInterrupted, RETRY_STATES } from "./resume.js";
export { recordedSafety, type RecordedSafety } from "./resume-policy.js";
// A terminal inside a finished run's sandbox, on its worktree (corral shell).
export { shellRun, DEFAULT_SHELL } from "./shell.js";
export type { ShellOptions } from "./shell.js";
export type { ResumePlan, RetriedTask } from "./resume.js";
export type { Fleet, FleetAgentTotals, RunManyOptions, TaskOutcome, TaskStatus } from "./fleet.js";
export { loadTasksFile, loadTasksFromCommand, parseTasks, validateTasks } from "./tasks.js";
export type { Task } from "./tasks.js";
export { formatEvent } from "./displays/format.js";
// Reading the run journal (.corral/runs/): what a past or running run did.
export { listRuns, readRun, readFleet, AmbiguousRunError, readEvents, streamEvents, followEvents, followLog, streamLog, DEFAULT_JOURNAL_MAX_BYTES } from "./journal/index.js";
export type { JournalRun, JournalSettings, RunCandidate, RunRecord, RunState, FollowOptions } from "./journal/index.js";
export { listFleets, readFleetSummary, fleetLog } from "./journal/index.js";
export type { FleetState, FleetSummary, FleetLogLine } from "./journal/index.js";
// Taking a run's work: diff, log, merge, pull request, discard (corral diff|log|merge|pr|discard, clean --branches).
export {
  runChange,
  fleetChanges,
  changeOf,
  diffRun,
  logRun,
  mergeRun,
  pullRequest,
  compareUrlOf,
  discardRun,
  cleanBranches,
  branchStanding,
} from "./review/index.js";
export type {
  RunChange,
  DiffFile,
  RunDiff,
  RunCommit,
  RunMergeMode,
  RunMergeResult,
  PullRequestOptions,
  PullRequestResult,
  BranchCleanup,
  BranchStanding,
  DiscardResult,
} from "./review/index.js";

// The parts of core a library user needs, so `corral` is the one import.
export {
  Output,
  commandAgent,
  hostSandbox,
  inPlaceIsolation,
  CorralError,
  UsageError,
  ConfigError,
  AbortError,
  AgentExecutionError,
  IdleTimeoutError,
  StructuredOutputError,
  PromptTemplateError,
  PromptExpansionError,
  PluginNotFoundError,
  SandboxUnavailableError,
  SandboxError,
  IsolationError,
  HookError,
  MissingCredentialsError,
  // Reading a run's events: the agent's events of any event, the text of an output event (ADR 0740).
  agentEventsOf,
  joinedOutputOf,
} from "@corral/core";
export type { RunEvent, RunResult, Usage, Commit, Display, Plugin } from "@corral/core";
