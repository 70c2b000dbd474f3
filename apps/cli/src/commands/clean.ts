import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { toCorralError, type PluginInstanceOf, type PluginKind } from "@corral/core";
import { git, inert, inertJson, listRunTempDirs, removeRunTempDirs } from "@corral/core/plugin-kit";
import { listRuns, loadConfig, type JournalRun, type RunRecord } from "corral";
import { journalLocation, killRunProcesses, PluginLoader, runProcesses, writeRecord } from "corral/internal";
import { parseFlags } from "../args.js";
import { pluginInstance, pluginsWith } from "../capabilities.js";
import { CLEAN_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";

/** What `corral clean` did (or, with --dry-run, would do) for one run that left something. */
interface CleanReport {
  id: string;
  name?: string;
  /** Done (or to be done). */
  actions: string[];
  /** Left in place on purpose (a dirty worktree without --force). */
  kept: string[];
  /** What could not be done; the run stays uncleaned so a later `corral clean` retries. */
  problems: string[];
  cleaned: boolean;
}

/**
 * `corral clean`: for every run that left something — interrupted (its process died), or recorded
 * with an incomplete teardown (a container the engine would not remove), or whose id an orphaned
 * container still carries (whatever its journal says, also when its run.json is unreadable) —
 * stops the processes it left running, has its sandbox plugin reap what it left (`Sandbox.reap`:
 * the docker and podman containers, by their labels), removes its temporary folders (found by its
 * run id), has its isolation plugin reclaim an interrupted run's workspace (`Isolation.reclaim`: a
 * worktree goes, its branch stays, a dirty one unless --force), prunes git's worktree records, and
 * marks the run cleaned. Plugins are found through the registry, so a third party's sandbox or
 * isolation takes part; one without the capability left nothing to remove (bwrap sandboxes die
 * with their parent, `--die-with-parent`).
 */
export default async function clean(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags("clean", argv, {
    "dry-run": { type: "boolean" },
    force: { type: "boolean" },
    branches: { type: "boolean" },
    json: { type: "boolean" },
    cwd: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(CLEAN_HELP);
    return EXIT.ok;
  }
  const cwd = resolve(io.cwd, values.cwd ?? ".");
  const dryRun = values["dry-run"] === true;
  if (values.branches) return (await import("./clean-branches.js")).cleanBranchesCommand(cwd, { dryRun, force: values.force === true, json: values.json === true }, io);
  const location = await journalLocation(cwd);
  const runs = await listRuns(location.root);
  const needsCleaning = (run: JournalRun) => !run.cleaned && (run.state === "interrupted" || (isOver(run) && (run.teardownIncomplete?.length ?? 0) > 0));
  const targets: Target[] = runs.filter(needsCleaning).map((run) => ({ id: run.id, run, sandboxes: run.sandbox ? [run.sandbox.name] : [] }));

  // The config's third-party plugins and options (a run's sandbox may be one of them).
  const { config } = await loadConfig({ cwd });
  const loader = new PluginLoader({ cwd, ...(config.plugins ? { plugins: config.plugins } : {}) });
  const instance = <K extends PluginKind>(kind: K, name: string) => pluginInstance(loader, kind, name, kind === "sandbox" ? config.sandbox : config.isolation);

  // Whatever the journal says: every installed sandbox that can reap is asked which containers
  // have lost their orchestrator; a run of this journal (or a run folder without a readable
  // record) that such a container names is cleaned too.
  const unreachable: string[] = [];
  for (const { name, instance: sandbox } of await pluginsWith(loader, "sandbox", "reap", config.sandbox)) {
    let orphans: string[];
    try {
      orphans = (await sandbox.reap({ dryRun: true })).reaped.filter((r) => r.action !== "kept" && r.runId).map((r) => r.runId!);
    } catch (error) {
      unreachable.push(`could not look for what ${name} runs left: ${described(error)}`);
      continue;
    }
    for (const id of new Set(orphans)) {
      const known = targets.find((t) => t.id === id);
      if (known) {
        if (!known.sandboxes.includes(name)) known.sandboxes.push(name);
        continue;
      }
      const run = runs.find((r) => r.id === id);
      if (run ? !run.cleaned && isOver(run) : unreadableRunFolder(location.root, id)) targets.push({ id, ...(run ? { run } : {}), sandboxes: [name] });
    }
  }

  const reports: CleanReport[] = [];
  for (const target of targets) reports.push(await cleanRun(target, { instance, repoRoot: location.repoRoot, dryRun, force: values.force === true }));
  if (location.repoRoot && !dryRun) await git(["worktree", "prune"], { cwd: location.repoRoot, allowFailure: true });

  // What is reported quotes paths, branches and errors a run left: inert on the terminal.
  if (values.json) {
    io.stdout.write(`${inertJson({ dryRun, runs: reports, ...(unreachable.length ? { unreachable } : {}) }, 2)}\n`);
  } else {
    if (!reports.length) io.stderr.write("Nothing to clean: no interrupted run, none with an unfinished teardown, no orphaned container.\n");
    for (const r of reports) {
      const lines = [`${r.id}${r.name ? ` (${r.name})` : ""}: ${dryRun ? "would clean" : r.cleaned ? "cleaned" : "partly cleaned"}`, ...r.actions.map((a) => `  ${a}`), ...r.kept.map((k) => `  kept: ${k}`), ...r.problems.map((p) => `  problem: ${p}`)];
      io.stderr.write(inert(`${lines.join("\n")}\n`));
    }
    for (const u of unreachable) io.stderr.write(inert(`note: ${u}\n`));
  }
  return reports.some((r) => r.problems.length) ? EXIT.failed : EXIT.ok;
}

/** A run to clean: its journal record when it has a readable one, and the sandbox plugins to ask. */
interface Target {
  id: string;
  run?: JournalRun;
  sandboxes: string[];
}

/** Its process is done with it: finished, or gone (`interrupted`). */
const isOver = (run: JournalRun) => run.state !== "created" && run.state !== "running";

/** The run's journal folder is there but its run.json cannot be read (a full disk left it empty). */
function unreadableRunFolder(root: string, id: string): boolean {
  return existsSync(join(root, id)) && !id.includes("/") && id !== "." && id !== "..";
}

type Instance = <K extends PluginKind>(kind: K, name: string) => Promise<PluginInstanceOf[K]>;

async function cleanRun(target: Target, options: { instance: Instance; repoRoot: string | undefined; dryRun: boolean; force: boolean }): Promise<CleanReport> {
  const { run } = target;
  const report: CleanReport = { id: target.id, ...(run?.name ? { name: run.name } : {}), actions: [], kept: [], problems: [], cleaned: false };
  const would = options.dryRun ? "would " : "";
  if (run?.teardownIncomplete?.length) report.actions.push(`${would}finish its teardown (${run.teardownIncomplete.join("; ")})`);

  // 1. Processes it left running (the host sandbox's agent outlives a SIGKILLed orchestrator).
  const pids = options.dryRun ? runProcesses(target.id) : await killRunProcesses(target.id);
  if (pids.length) report.actions.push(`${would}stop ${pids.length} process(es): ${pids.join(", ")}`);

  // 2. What its sandbox left (its containers), through the plugin that made them.
  for (const name of target.sandboxes) {
    try {
      const sandbox = await options.instance("sandbox", name);
      const reaped = sandbox.reap ? (await sandbox.reap({ runId: target.id, dryRun: options.dryRun })).reaped : [];
      for (const r of reaped) {
        if (r.action === "removed" || r.action === "would-remove") report.actions.push(`${would}remove ${r.kind} ${r.name} (${r.reason})`);
        else if (r.action === "kept") report.kept.push(`${r.kind} ${r.name}: ${r.reason}`);
        else report.problems.push(`could not remove ${r.kind} ${r.name}: ${r.reason}`);
      }
    } catch (error) {
      report.problems.push(`could not reap what its ${name} sandbox left: ${described(error)}`);
    }
  }

  // 3. Its temporary folders (its HOME, a sandbox's /tmp, an engine's env files), found by its run id alone.
  try {
    const dirs = options.dryRun ? await listRunTempDirs(target.id) : await removeRunTempDirs(target.id);
    for (const dir of dirs) report.actions.push(`${would}remove temporary folder ${dir}`);
  } catch (error) {
    report.problems.push(`could not remove its temporary folders: ${toCorralError(error).message}`);
  }

  // 4. An interrupted run's workspace, through its isolation plugin: a worktree is removed when clean (the branch and its
  //    commits stay), kept when dirty unless --force. A run that finished released its own (kept on purpose, or gone).
  if (run?.state === "interrupted" && run.isolation && options.repoRoot) {
    const name = run.isolation;
    try {
      const isolation = await options.instance("isolation", name);
      const request = { repoRoot: options.repoRoot, runId: run.id, ...(run.workspace !== undefined ? { workspace: run.workspace } : {}), dryRun: options.dryRun, force: options.force };
      for (const w of isolation.reclaim ? (await isolation.reclaim(request)).workspaces : []) {
        const label = `${name} ${w.path}${w.branch ? ` (branch ${w.branch} kept)` : ""}`;
        if (w.action === "kept") report.kept.push(`${name} ${w.path}: ${w.reason}${w.uncommitted ? " (--force removes it)" : ""}`);
        else if (w.action === "failed") report.problems.push(`could not remove ${label}: ${w.reason}`);
        else report.actions.push(`${would}remove ${label}${w.uncommitted ? `, discarding ${w.uncommitted} uncommitted change(s)` : ""}`);
      }
    } catch (error) {
      report.problems.push(`could not reclaim its ${name} workspace: ${described(error)}`);
    }
  }

  if (!options.dryRun && !report.problems.length && !report.kept.length) {
    // Its state stays what it was (`interrupted`, or how it finished); a run folder without a record gets none.
    if (run) {
      const { dir, recordedState: _r, ...record } = run;
      const done: RunRecord = { ...record, state: run.state, cleaned: { time: new Date().toISOString(), actions: report.actions } };
      writeRecord(dir, done);
    }
    report.cleaned = true;
  }
  return report;
}

/** An error's message and, when it has one, its hint (a missing plugin says what to install). */
function described(error: unknown): string {
  const e = toCorralError(error);
  return e.hint ? `${e.message} (${e.hint})` : e.message;
}
