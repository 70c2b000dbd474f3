import { lstat, realpath } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { CorralError, instantiate, UsageError, type Configured, type RunResult } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { streamEvents, type JournalRun } from "./journal/reader.js";
import { readFleet, readRun } from "./journal/reader.js";
import { SESSION_DIR, type RunState } from "./journal/record.js";
import { configFor } from "./config.js";
import { PluginLoader } from "./plugins.js";
import { recordedSafety, type RecordedSafety } from "./resume-policy.js";
import { branchStanding } from "./review/branches.js";
import { assertRunOver, changeOf, reviewLocation } from "./review/change.js";
import { run, type CorralRunOptions } from "./run.js";
import type { Task } from "./tasks.js";

/** A plugin as the journal recorded it: its name (its options, when recorded, are never used). */
type RecordedPlugin = { name: string };

/** What `resumeOptions` found: the run continued, and the options of the run that continues it. */
export interface ResumePlan {
  /** The run being continued, as its journal has it. */
  from: JournalRun;
  /** The options of the new run: the earlier run's agent, sandbox, isolation, prompt and iterations, the caller's on top, `resume` set. */
  options: CorralRunOptions;
  /** The agent session it continues, when the earlier run reported one and the same agent runs again. */
  sessionId?: string;
}

/**
 * How the run that continues `ref` (a run id, name or unique prefix) is made, without starting it.
 * It takes from the journal the agent, sandbox and isolation (by name: their options come from the config
 * and flags, as for any run, the journal keeps none of an instance), the model, the
 * prompt and the iteration count, and the network, credentials, workspace and limits where they are no
 * wider than the config's (`recordedSafety`); the caller's options win, and the config fills the rest as
 * for any run. It continues on the same branch (its tip is the new base), in the kept workspace when
 * there is one, and in the agent's session when the same agent runs again. Refused with a typed
 * error: a run still running (`E_RUN_ACTIVE`), one that succeeded and is merged into its base
 * (`E_RUN_MERGED`), one whose branch is gone (`E_BRANCH_GONE`), one with no branch (`E_RUN_NO_BRANCH`)
 * or no agent recorded (`E_RUN_NOT_RESUMABLE`).
 */
export async function resumeOptions(ref: string, overrides: CorralRunOptions = {}): Promise<ResumePlan> {
  const cwd = overrides.cwd ?? process.cwd();
  const { root, repoRoot } = await reviewLocation(cwd);
  const from = await readRun(root, ref);
  assertRunOver(from);
  const agent = recordedPlugin(from.options.agent);
  if (!agent) {
    throw new CorralError("E_RUN_NOT_RESUMABLE", `Run ${from.id} recorded no agent, so corral cannot tell what to continue it with.`, { hint: "Start a new run on its branch: corral run --name <name> --branch-exists reuse --agent …" });
  }
  const change = await changeOf(from, repoRoot); // E_RUN_NO_BRANCH, E_BRANCH_GONE
  if (!change.branch) throw new CorralError("E_RUN_NO_BRANCH", `Run ${from.id} has no branch to continue (it worked in place).`, { hint: "Start a new run instead." });
  if (from.state === "succeeded" && change.baseBranch && change.tip !== change.base) {
    // Merged, squashed or rebased in: what `corral clean --branches` counts as merged.
    const standing = await branchStanding(repoRoot, change.tip, change.baseBranch);
    if (standing.unmerged === 0 || standing.contentMerged) {
      throw new CorralError("E_RUN_MERGED", `Run ${from.id} succeeded and its branch ${change.branch} is merged into ${change.baseBranch}: there is nothing to continue.`, {
        hint: `Start a new run for more work (corral run --name …); \`corral log ${from.id}\` shows what it did.`,
      });
    }
  }
  // The journal can sit where an agent wrote (an in-place run's checkout): a branch that is the run's
  // base or checked out in the main checkout is not a run's branch to continue.
  const current = (await git(["symbolic-ref", "--quiet", "--short", "HEAD"], { cwd: repoRoot, allowFailure: true })).stdout.trim();
  if (change.branch === change.baseBranch || change.branch === current) {
    throw new CorralError("E_RUN_NOT_RESUMABLE", `Run ${from.id} recorded the branch ${change.branch}, which is its base or your checkout's branch: corral continues only a run's own branch.`, {
      hint: "Start a new run instead; `corral runs show` shows what the journal says.",
    });
  }
  const sameAgent = overrides.agent === undefined || refName(overrides.agent) === agent.name;
  const sessionId = sameAgent ? (from.sessionId ?? (await lastSessionId(from))) : undefined;
  const sessionDir = join(from.dir, SESSION_DIR);
  const sessionKept = sessionId !== undefined && (await isRealFolder(from.dir)) && (await isRealFolder(sessionDir));
  const recorded = from.options;
  // The first run's network, credentials, workspace and limits, where they are no wider than this run's would be.
  const loaded = await configFor({ cwd, ...(overrides.config !== undefined ? { config: overrides.config } : {}), ...(overrides.configData ? { configData: overrides.configData } : {}) });
  const safety = recordedSafety(recorded, loaded.config, overrides);
  const sandbox = recordedPlugin(recorded.sandbox);
  const isolation = recordedPlugin(recorded.isolation);
  const options: CorralRunOptions = {
    // Plugins by name only: their options are the config's and the flags' (an agent may have written the journal).
    agent: agent.name,
    ...(sandbox ? { sandbox: sandbox.name } : {}),
    ...(isolation ? { isolation: isolation.name } : {}),
    ...(from.model ? { model: from.model } : {}),
    ...(from.name ? { name: from.name } : {}),
    // The caller's prompt replaces the recorded one whole (a prompt and a prompt file exclude each other).
    ...(overrides.prompt === undefined && overrides.promptFile === undefined ? await promptInside(promptOf(recorded), repoRoot) : {}),
    ...(typeof recorded.maxIterations === "number" ? { maxIterations: recorded.maxIterations } : {}),
    ...safety.options,
    ...overrides,
    ...(safety.options.limits ? { limits: safety.options.limits } : {}),
    ...(safety.warnings.length ? { warnings: [...(overrides.warnings ?? []), ...safety.warnings] } : {}),
    // The config read once: the run that continues uses the same load.
    configData: loaded,
    cwd,
    resume: {
      runId: from.id,
      branch: change.branch,
      ...(from.workspace ? { workspace: from.workspace } : {}),
      ...(change.baseBranch ? { baseBranch: change.baseBranch } : {}),
      ...(sessionId ? { sessionId } : {}),
      ...(sessionKept ? { sessionDir } : {}),
    },
  };
  // Flags that override the agent drop the recorded model with it (it was the other agent's).
  if (!sameAgent && overrides.model === undefined) delete options.model;
  return { from, options, ...(sessionId ? { sessionId } : {}) };
}

/**
 * Continues a run (`corral run --resume <run>`): a new run (its own run id, `resumedFrom` in its
 * journal) whose commits continue the earlier run's branch. An interrupted run's workspace is first
 * reclaimed by its isolation (its commits brought back through the verifying transfer, uncommitted
 * work kept), so the new run starts from everything the old one did.
 */
export async function resumeRun(ref: string, overrides: CorralRunOptions = {}): Promise<RunResult<undefined> & { logFile?: string }> {
  const plan = await resumeOptions(ref, overrides);
  await reclaimInterrupted(plan.from, plan.options);
  return run(plan.options);
}

/**
 * What an interrupted run (its orchestrator killed) left is brought back by its isolation's
 * `reclaim` before the run that continues it acquires the same branch: a no-op for a run that ended.
 */
export async function reclaimInterrupted(from: JournalRun, options: CorralRunOptions): Promise<void> {
  if (from.state !== "interrupted") return;
  const recorded = recordedPlugin(from.options.isolation);
  if (!recorded) return;
  const { repoRoot } = await reviewLocation(options.cwd ?? process.cwd());
  const loader = new PluginLoader({ cwd: repoRoot });
  const isolation = instantiate("isolation", (await loader.get("isolation", recorded.name)).configure({}) as Configured<"isolation">);
  await isolation.reclaim?.({ repoRoot, runId: from.id, ...(from.workspace ? { workspace: from.workspace } : {}) });
}

/** The states `retryTasks` runs again by default: tasks that did not end on their own. */
export const RETRY_STATES: readonly RunState[] = ["failed", "aborted", "interrupted"];

/** One task of a fleet that `retryTasks` runs again, and the run it retries. */
export interface RetriedTask {
  /** The task as it will run again. */
  task: Task;
  /** The run that failed (or was aborted, interrupted, incomplete). */
  from: JournalRun;
}

/**
 * The tasks of fleet `ref` (its id or a unique prefix) to run again (`corral run --retry-failed`):
 * those whose last run is in `states` (failed, aborted or interrupted by default; add `incomplete`
 * for the ones that ran out of iterations or budget), each with the name, prompt, agent, model,
 * sandbox and iterations its journal recorded (the agent and model only when `agent` does not name
 * the fleet's agent anew: plugin options are not journaled, they come from the config and flags). They run with `branchExists: "reuse"`, so each
 * continues its own branch (and kept worktree) where the failed run left it. A fleet where
 * every task ended well is `E_NOTHING_TO_RETRY`.
 */
export async function retryTasks(
  ref: string,
  options: { cwd?: string; states?: readonly RunState[]; agent?: unknown; caller?: CorralRunOptions } = {},
): Promise<{ fleet: string; tasks: RetriedTask[]; safety: RecordedSafety }> {
  const { root } = await reviewLocation(options.cwd ?? process.cwd());
  const fleet = await readFleet(root, ref);
  const states = options.states ?? RETRY_STATES;
  // A task run more than once (an earlier retry) counts by its last run.
  const last = new Map<string, JournalRun>();
  for (const r of fleet.runs) if (r.name) last.set(r.name, r);
  const tasks: RetriedTask[] = [];
  for (const from of last.values()) {
    if (from.state === "running" || from.state === "created" || !states.includes(from.state)) continue;
    const agent = recordedPlugin(from.options.agent);
    const sandbox = recordedPlugin(from.options.sandbox);
    const prompt = promptOf(from.options);
    if (!prompt.prompt && !prompt.promptFile) continue; // nothing recorded to run again
    const task = {
      name: from.name!,
      ...(prompt.prompt !== undefined ? { prompt: prompt.prompt } : { promptFile: prompt.promptFile! }),
      ...(prompt.promptArgs ? { promptArgs: prompt.promptArgs } : {}),
      // The caller's agent (a flag), with its options, wins over the name the journal kept.
      ...(agent && options.agent === undefined ? { agent: agent.name } : {}),
      ...(from.model && options.agent === undefined ? { model: from.model } : {}),
      ...(sandbox ? { sandbox: sandbox.name } : {}),
      ...(typeof from.options.maxIterations === "number" ? { maxIterations: from.options.maxIterations } : {}),
    } as Task;
    tasks.push({ task, from });
  }
  if (!tasks.length) {
    throw new UsageError(`Fleet ${fleet.id} has no task that is ${states.join(", ")}: nothing to run again.`, {
      code: "E_NOTHING_TO_RETRY",
      hint: states.includes("incomplete") ? "`corral runs list` shows how its tasks ended." : "Add --include-incomplete to also run the tasks that ran out of iterations or budget.",
    });
  }
  // The fleet's network, credentials, workspace and limits, as for --resume: its tasks ran with the same flags.
  const { config } = await configFor({ cwd: options.cwd ?? process.cwd(), ...(options.caller?.config !== undefined ? { config: options.caller.config } : {}) });
  const each = tasks.map(({ from }) => recordedSafety(from.options, config, options.caller ?? {}));
  const same = each.every((s) => JSON.stringify(s.options) === JSON.stringify(each[0]!.options));
  const safety: RecordedSafety = same
    ? { options: each[0]!.options, warnings: [...new Set(each.flatMap((s) => s.warnings))] }
    : { options: {}, warnings: ["The retried tasks recorded different network, credentials, workspace or limits settings: none is kept, the config's apply (pass the flags to choose)."] };
  return { fleet: fleet.id, tasks, safety };
}

/** A folder, not a symlink to one (`lstat`). */
async function isRealFolder(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isDirectory() === true;
}

/**
 * A recorded prompt file is read on the host and sent to the model: only one inside the repository
 * (resolved, symlinks too) is taken from the journal, which an agent may have written; give another
 * with --prompt-file.
 */
async function promptInside(prompt: ReturnType<typeof promptOf>, repoRoot: string): Promise<ReturnType<typeof promptOf>> {
  if (prompt.promptFile === undefined) return prompt;
  const [root, file] = await Promise.all([realpath(repoRoot), realpath(resolve(repoRoot, prompt.promptFile)).catch(() => undefined)]);
  if (file !== undefined && (file === root || file.startsWith(root + sep))) return { ...prompt, promptFile: file };
  throw new CorralError("E_RUN_NOT_RESUMABLE", `The run's prompt file ${prompt.promptFile} is not inside the repository ${repoRoot} (or is gone).`, {
    hint: "Give the prompt again with --prompt or --prompt-file.",
  });
}

/** The prompt the journal recorded: inline, or the template file and its arguments. */
function promptOf(recorded: Record<string, unknown>): Pick<CorralRunOptions, "prompt" | "promptFile" | "promptArgs"> {
  const promptArgs = recorded.promptArgs && typeof recorded.promptArgs === "object" ? (recorded.promptArgs as Record<string, string>) : undefined;
  if (typeof recorded.promptFile === "string") return { promptFile: recorded.promptFile, ...(promptArgs ? { promptArgs } : {}) };
  if (typeof recorded.prompt === "string") return { prompt: recorded.prompt, ...(promptArgs ? { promptArgs } : {}) };
  return {};
}

function recordedPlugin(value: unknown): RecordedPlugin | undefined {
  if (!value || typeof value !== "object") return undefined;
  const { name } = value as { name?: unknown };
  // A plugin name, as the registry knows them (never a path or a package specifier).
  if (typeof name !== "string" || !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(name) || name === "custom") return undefined;
  return { name };
}

function refName(ref: NonNullable<CorralRunOptions["agent"]>): string | undefined {
  if (typeof ref === "string") return ref;
  if ("plugin" in ref && ref.plugin && typeof ref.plugin === "object") return (ref.plugin as { meta: { name: string } }).meta.name;
  return "name" in ref && typeof ref.name === "string" ? ref.name : undefined;
}

/** The last session id in an older journal that did not record it in run.json. */
async function lastSessionId(from: JournalRun): Promise<string | undefined> {
  let id: string | undefined;
  try {
    for await (const event of streamEvents(from)) if (event.type === "agent" && event.event.type === "session") id = event.event.sessionId;
  } catch {
    return undefined; // an unreadable journal: a new session
  }
  return id;
}
