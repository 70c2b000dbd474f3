import { resolve } from "node:path";
import {
  instantiate,
  isConfigured,
  parsePolicy,
  resolveAgentProgram,
  run as runCore,
  UsageError,
  type Agent,
  type AgentProgram,
  type Configured,
  type Display,
  type Isolation,
  type PluginKind,
  type PluginInstanceOf,
  type RunOptions as CoreRunOptions,
  type RunResult,
  type Sandbox,
} from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { configFor, type CorralConfig, type LoadedConfig, type PluginRefConfig } from "./config.js";
import { logFileDisplay } from "./displays/log-file.js";
import { collectEnv } from "./env.js";
import { runJournal, type JournalSettings } from "./journal/index.js";
import { probeGit, type GitProbe } from "./journal/root.js";
import { PluginLoader } from "./plugins.js";

type Ref<K extends PluginKind> = string | { name: string; options?: Record<string, unknown> } | Configured<K> | PluginInstanceOf[K];

/**
 * The options of `run()`: core's `RunOptions`, with plugins given by name (resolved through the
 * registry, falling back to corral.config.*), plus config, env and journal settings. `T` is the
 * type of the structured result, when `output` asks for one.
 */
export interface CorralRunOptions<T = undefined> extends Omit<CoreRunOptions<T>, "agent" | "sandbox" | "isolation"> {
  /** `"claude"`, `{ name: "claude", options }`, `claude({ model })`, or an Agent. Falls back to the config. */
  agent?: Ref<"agent">;
  /** Default: the config's, else `host`. */
  sandbox?: Ref<"sandbox">;
  /** Default: the config's, else `worktree` in a git repository when installed, else `in-place`. */
  isolation?: Ref<"isolation">;
  /** Shorthand for the agent's `model` option. */
  model?: string;
  /** A config file path, or false to ignore config files. Default: corral.config.* found from cwd. */
  config?: string | false;
  /** An already loaded config (fleets load it once); used instead of reading a file. */
  configData?: LoadedConfig;
  /** Host env var names to pass into the sandbox (values treated as secrets). */
  envNames?: string[];
  /** dotenv files whose vars are passed into the sandbox (values treated as secrets). */
  envFiles?: string[];
  /** Also write a plain-text log here. */
  logFile?: string;
  /**
   * Record the run in `.corral/runs/<id>/` (state, events, log). Default: on inside a git repository;
   * settings (`{ maxBytes }`, the journal's size cap, 64 MiB by default) turn it on anywhere.
   */
  journal?: boolean | JournalSettings;
  /** The id of the fleet this run is a task of; `runMany` sets it, and the journal records it (`corral diff --fleet`). */
  fleetId?: string;
}

/** What `resolveRun` hands the loop: core's options, fully resolved, and where they came from. */
export interface ResolvedRun<T> {
  /** Core's run options: plugin instances, config merged under the caller's options, env collected, warnings added. */
  options: CoreRunOptions<T>;
  /** The config that was used (`{}` when none). */
  config: CorralConfig;
  /** The config file it came from, if any. */
  configFile?: string;
  /** The plain-text log's path, absolute (a config's `logFile` is relative to the config file). */
  logFile?: string;
  /** The agent's program as the run will find it (where the sandbox runs host programs). */
  program?: AgentProgram;
}

/**
 * Everything `run()` does before the loop: loads the config, resolves plugin names through the
 * registry (importing only the packages needed), merges options over config, collects the env,
 * and checks that the isolation can work in `cwd`. Throws UsageError on bad input; creates nothing.
 */
export async function resolveRun<T = undefined>(options: CorralRunOptions<T>): Promise<ResolvedRun<T>> {
  return resolveProbed(options, probeGit(resolve(options.cwd ?? process.cwd())));
}

/** `resolveRun` with git's answers for the cwd asked already (`run()` asks once for this and the journal). */
async function resolveProbed<T>(options: CorralRunOptions<T>, probe: Promise<GitProbe>): Promise<ResolvedRun<T>> {
  const cwd = resolve(options.cwd ?? process.cwd());
  // git answers while the config and the plugins load (it never throws: false outside git).
  const insideGit = probe.then((p) => p.insideWorkTree);
  const { config, file, warnings: configWarnings = [] } = await configFor({ ...options, cwd });
  const loader = new PluginLoader({ cwd, ...(config.plugins ? { plugins: config.plugins } : {}) });

  const choiceWarnings: string[] = [];
  const agentRef = chooseRef("agent", options.agent, config.agent as Ref<"agent"> | undefined, choiceWarnings);
  if (!agentRef) throw new UsageError("No agent was chosen.", { hint: "Pass --agent claude|codex|gemini|opencode|pi|command, or set agent in corral.config.*." });
  const model = options.model ?? config.model;
  const agent = await resolveRef(loader, "agent", agentRef, model ? { model } : {});
  const sandbox = await resolveRef(loader, "sandbox", chooseRef("sandbox", options.sandbox, config.sandbox as Ref<"sandbox"> | undefined, choiceWarnings) ?? "host");
  const chosenIsolation = chooseRef("isolation", options.isolation, config.isolation as Ref<"isolation"> | undefined, choiceWarnings);
  // A chosen isolation is resolved while git answers; one that starts from the last commit has the
  // checkout's status asked at once (outside git it fails, and is not used).
  const chosen = chosenIsolation === undefined ? undefined : await resolveRef(loader, "isolation", chosenIsolation);
  const leftEarly = chosen?.fromCommit ? notInTheLastCommit(cwd) : undefined;
  leftEarly?.catch(() => {});
  const isGit = await insideGit;
  // The default is looked for (an import of the worktree package) only when none was chosen.
  const defaultIsolation = async () => (isGit && (await loader.get("isolation", "worktree").then(() => true, () => false)) ? "worktree" : "in-place");
  const isolation = chosen ?? (await resolveRef(loader, "isolation", await defaultIsolation()));
  if (isolation.requiresGit && !isGit) {
    throw new UsageError(`${cwd} is not inside a git repository, and the ${isolation.name} isolation needs one.`, {
      hint: "Run corral in a git repository (git init && git commit), pass --cwd to one, or use --isolation in-place.",
    });
  }

  const baseDir = file ? resolve(file, "..") : cwd;
  const env = {
    ...collectEnv({ names: config.env ?? [], files: config.envFile ? [resolve(baseDir, config.envFile)] : [], ...(options.hostEnv ? { hostEnv: options.hostEnv } : {}), source: "env in the config" }),
    ...collectEnv({ names: options.envNames ?? [], files: options.envFiles ?? [], ...(options.hostEnv ? { hostEnv: options.hostEnv } : {}) }),
    ...options.env,
  };
  const promptFile = options.promptFile ?? (options.prompt === undefined && config.promptFile ? resolve(baseDir, config.promptFile) : undefined);
  const prompt = options.prompt ?? (promptFile === undefined ? config.prompt : undefined);
  const logFile = options.logFile ?? (config.logFile ? resolve(baseDir, config.logFile) : undefined);

  const { agent: _a, sandbox: _s, isolation: _i, model: _m, config: _c, configData: _cd, envNames: _e, envFiles: _f, logFile: _l, journal: _j, fleetId: _fl, ...rest } = options;
  const core: CoreRunOptions<T> = {
    ...rest,
    cwd,
    agent,
    sandbox,
    isolation,
    env,
    secretEnv: [...new Set([...Object.keys(env), ...(options.secretEnv ?? [])])],
    ...(prompt !== undefined ? { prompt } : {}),
    ...(promptFile !== undefined ? { promptFile } : {}),
    ...pick(options, config, ["promptArgs", "maxIterations", "completionSignal", "idleTimeout", "completionTimeout", "maxLineChars", "network", "credentials", "gitIdentity", "branchExists", "workspace"]),
    // Flags add to the config: limits per key, mounts and copy patterns to its lists.
    ...(options.limits || config.limits ? { limits: { ...config.limits, ...options.limits } } : {}),
    ...(options.budget || config.budget ? { budget: { ...config.budget, ...options.budget } } : {}),
    ...(options.mounts || config.mounts ? { mounts: [...(config.mounts ?? []), ...(options.mounts ?? [])] } : {}),
    ...(options.copy || config.copy ? { copy: [...new Set([...(config.copy ?? []), ...(options.copy ?? [])])] } : {}),
    // Hooks merge per hook: `--setup` replaces the config's onWorkspaceReady, `--notify` its onRunFinished, and the others stay.
    ...(options.hooks || config.hooks ? { hooks: { ...(config.hooks as CoreRunOptions<T>["hooks"]), ...options.hooks } } : {}),
  };
  // What the run will not see, said before it starts.
  const warnings = [...configWarnings, ...choiceWarnings, ...(options.warnings ?? [])];
  if (!isGit && chosenIsolation === undefined) {
    warnings.push(`${cwd} is not a git repository: the agent works in this folder itself (in-place), with no branch to review. Run \`git init && git commit\` first for a worktree of its own.`);
  }
  if (isGit && isolation.fromCommit) {
    const left = await (leftEarly ?? notInTheLastCommit(cwd));
    if (left) warnings.push(`The run starts from the last commit: ${left} of your checkout are not in its workspace. Commit them, or name untracked ones in \`copy\` (--copy GLOB).`);
  }
  if (warnings.length) core.warnings = warnings;
  // A bad rule is a usage error now, before the journal or anything else exists.
  if (core.network !== undefined) parsePolicy(core.network);
  // So is a missing agent program (core's own check, the one `run` repeats and doctor reports).
  const program = resolveAgentProgram({ agent, sandbox, cwd, env, hostEnv: options.hostEnv ?? process.env, ...(core.mounts ? { mounts: core.mounts } : {}) });
  return { options: core, config, ...(file ? { configFile: file } : {}), ...(logFile ? { logFile } : {}), ...(program ? { program } : {}) };
}

/**
 * Runs an agent: `run({ agent: "claude", sandbox: "bwrap", prompt: "…" })`. Plugin names are
 * resolved through the registry; config from corral.config.* fills what is not given.
 */
export async function run<T = undefined>(options: CorralRunOptions<T>): Promise<RunResult<T> & { logFile?: string }> {
  // Whether cwd is in git and where the journal goes: one git call, asked while the run resolves (it never throws).
  const probe = probeGit(resolve(options.cwd ?? process.cwd()));
  const location = options.journal === false ? undefined : probe.then((p) => p.location);
  const resolved = await resolveProbed(options, probe);
  const displays: Display[] = [...(resolved.options.displays ?? [])];
  const log = resolved.logFile ? logFileDisplay(resolved.logFile, options.name ? { title: options.name } : {}) : undefined;
  if (log) displays.push(log);
  const model = options.model ?? resolved.config.model;
  const journal = await runJournal(resolved.options, options.journal ?? resolved.config.journal, { ...(options.fleetId ? { fleet: options.fleetId } : {}), ...(model ? { model } : {}) }, location);
  if (journal) displays.push(journal.display);
  try {
    const result = await runCore({ ...resolved.options, ...journal?.runOptions, displays });
    return { ...result, ...(resolved.logFile ? { logFile: resolved.logFile } : {}) };
  } finally {
    await log?.close?.();
    await journal?.display.close?.();
  }
}

/**
 * The caller's plugin (a flag) over the config's. Naming the config's own plugin keeps the config's
 * options (the caller's on top): `--sandbox docker` with `{ name: "docker", options: { image } }`
 * keeps the image. Naming another plugin drops them, and says so in `warnings`.
 */
function chooseRef<K extends PluginKind>(kind: K, asked: Ref<K> | undefined, configured: Ref<K> | undefined, warnings: string[]): Ref<K> | undefined {
  if (asked === undefined || configured === undefined) return asked ?? configured;
  const [askedName, configuredName] = [refName(asked), refName(configured)];
  const configuredOptions = refOptions(configured);
  if (askedName === undefined || configuredName === undefined || !configuredOptions || !Object.keys(configuredOptions).length) return asked;
  if (askedName !== configuredName) {
    warnings.push(`The ${kind} ${JSON.stringify(askedName)} was asked for, so the config's ${kind} ${JSON.stringify(configuredName)} and its options (${Object.keys(configuredOptions).join(", ")}) were not used.`);
    return asked;
  }
  if (typeof asked === "string") return configured;
  const askedOptions = refOptions(asked);
  if (isConfigured(asked)) return asked.plugin.configure({ ...configuredOptions, ...(asked.options as object) }) as Configured<K>;
  return askedOptions === undefined ? configured : { name: askedName, options: { ...configuredOptions, ...askedOptions } };
}

/** The plugin a ref names; undefined for an instance passed directly. */
function refName(ref: Ref<PluginKind>): string | undefined {
  if (typeof ref === "string") return ref;
  if (isConfigured(ref)) return ref.plugin.meta.name;
  return isSpec(ref) ? ref.name : undefined;
}

/** `{ name, options }`: a plugin by name with options (a config's form), not an instance. */
function isSpec(ref: unknown): ref is { name: string; options?: Record<string, unknown> } {
  return typeof ref === "object" && ref !== null && "name" in ref && typeof ref.name === "string" && !("create" in ref) && !("command" in ref) && !("acquire" in ref);
}

/** The options a ref carries (a name alone carries none). */
function refOptions(ref: Ref<PluginKind>): Record<string, unknown> | undefined {
  if (typeof ref === "string") return undefined;
  if (isConfigured(ref)) return ref.options as Record<string, unknown>;
  return isSpec(ref) && typeof ref.options === "object" && ref.options !== null ? ref.options : undefined;
}

async function resolveRef<K extends PluginKind>(loader: PluginLoader, kind: K, ref: Ref<K> | PluginRefConfig, extra: Record<string, unknown> = {}): Promise<PluginInstanceOf[K]> {
  if (typeof ref === "string") return instantiate(kind, (await loader.get(kind, ref)).configure(extra) as Configured<K>);
  if (isConfigured(ref)) {
    if (Object.keys(extra).length) return instantiate(kind, ref.plugin.configure({ ...(ref.options as object), ...extra }) as Configured<K>);
    return instantiate(kind, ref as Configured<K>);
  }
  if (isSpec(ref)) return instantiate(kind, (await loader.get(kind, ref.name)).configure({ ...ref.options, ...extra }) as Configured<K>);
  return ref as PluginInstanceOf[K]; // an instance (Agent, Sandbox, Isolation) passed directly
}

/** "2 uncommitted change(s) and 1 untracked file(s)", or undefined when the checkout is clean. */
async function notInTheLastCommit(cwd: string): Promise<string | undefined> {
  const status = await git(["status", "--porcelain=v1", "-z", "--untracked-files=normal", "--ignore-submodules=all"], { cwd, allowFailure: true });
  if (status.exitCode !== 0) return undefined;
  let changed = 0;
  let untracked = 0;
  const entries = status.stdout.split("\0");
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (!entry) continue;
    if (entry.startsWith("??")) untracked++;
    else changed++;
    if (entry[0] === "R" || entry[0] === "C") i++; // a rename's source path follows
  }
  const parts = [...(changed ? [`${changed} uncommitted change(s)`] : []), ...(untracked ? [`${untracked} untracked file(s)`] : [])];
  return parts.length ? parts.join(" and ") : undefined;
}

function pick<T>(options: CorralRunOptions<T>, config: CorralConfig, keys: readonly (keyof CorralConfig & keyof CorralRunOptions<T>)[]): Partial<CoreRunOptions<T>> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = options[key] ?? config[key];
    if (value !== undefined) out[key] = value;
  }
  return out as Partial<CoreRunOptions<T>>;
}

export type { Agent, Isolation, Sandbox };
