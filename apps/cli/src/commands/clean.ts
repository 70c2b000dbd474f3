import { resolve } from "node:path";
import { toCorralError, type PluginInstanceOf, type PluginKind } from "@corral/core";
import { git, inert, inertJson, listRunTempDirs, removeRunTempDirs } from "@corral/core/plugin-kit";
import { listRuns, loadConfig, type JournalRun, type RunRecord } from "corral";
import { journalLocation, killRunProcesses, PluginLoader, runProcesses, writeRecord } from "corral/internal";
import { parseFlags } from "../args.js";
import { pluginInstance } from "../capabilities.js";
import { CLEAN_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";

/** What `corral clean` did (or, with --dry-run, would do) for one interrupted run. */
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
 * `corral clean`: for every interrupted run, stops the processes it left running, has its sandbox
 * plugin reap what it left (`Sandbox.reap`: the docker and podman containers), removes its
 * temporary folders (found by its run id), has its isolation plugin reclaim its workspace
 * (`Isolation.reclaim`: a worktree goes, its branch stays, a dirty one unless --force), prunes
 * git's worktree records, and marks the run cleaned. Plugins are found through the registry, so a
 * third party's sandbox or isolation takes part; one without the capability left nothing to
 * remove (bwrap sandboxes die with their parent, `--die-with-parent`).
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
  const interrupted = (await listRuns(location.root)).filter((run) => run.state === "interrupted" && !run.cleaned);

  const reports: CleanReport[] = [];
  if (interrupted.length) {
    // The config's third-party plugins and options (a run's sandbox may be one of them).
    const { config } = await loadConfig({ cwd });
    const loader = new PluginLoader({ cwd, ...(config.plugins ? { plugins: config.plugins } : {}) });
    const instance = <K extends PluginKind>(kind: K, name: string) => pluginInstance(loader, kind, name, kind === "sandbox" ? config.sandbox : config.isolation);
    for (const run of interrupted) reports.push(await cleanRun(run, { instance, repoRoot: location.repoRoot, dryRun, force: values.force === true }));
  }
  if (location.repoRoot && !dryRun) await git(["worktree", "prune"], { cwd: location.repoRoot, allowFailure: true });

  // What is reported quotes paths, branches and errors a run left: inert on the terminal.
  if (values.json) {
    io.stdout.write(`${inertJson({ dryRun, runs: reports }, 2)}\n`);
  } else if (!reports.length) {
    io.stderr.write("Nothing to clean: no interrupted run.\n");
  } else {
    for (const r of reports) {
      const lines = [`${r.id}${r.name ? ` (${r.name})` : ""}: ${dryRun ? "would clean" : r.cleaned ? "cleaned" : "partly cleaned"}`, ...r.actions.map((a) => `  ${a}`), ...r.kept.map((k) => `  kept: ${k}`), ...r.problems.map((p) => `  problem: ${p}`)];
      io.stderr.write(inert(`${lines.join("\n")}\n`));
    }
  }
  return reports.some((r) => r.problems.length) ? EXIT.failed : EXIT.ok;
}

type Instance = <K extends PluginKind>(kind: K, name: string) => Promise<PluginInstanceOf[K]>;

async function cleanRun(run: JournalRun, options: { instance: Instance; repoRoot: string | undefined; dryRun: boolean; force: boolean }): Promise<CleanReport> {
  const report: CleanReport = { id: run.id, ...(run.name ? { name: run.name } : {}), actions: [], kept: [], problems: [], cleaned: false };
  const would = options.dryRun ? "would " : "";

  // 1. Processes it left running (the host sandbox's agent outlives a SIGKILLed orchestrator).
  const pids = options.dryRun ? runProcesses(run.id) : await killRunProcesses(run.id);
  if (pids.length) report.actions.push(`${would}stop ${pids.length} process(es): ${pids.join(", ")}`);

  // 2. What its sandbox left (its containers), through the plugin that made them.
  if (run.sandbox) {
    const name = run.sandbox.name;
    try {
      const sandbox = await options.instance("sandbox", name);
      const reaped = sandbox.reap ? (await sandbox.reap({ runId: run.id, dryRun: options.dryRun })).reaped : [];
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
    const dirs = options.dryRun ? await listRunTempDirs(run.id) : await removeRunTempDirs(run.id);
    for (const dir of dirs) report.actions.push(`${would}remove temporary folder ${dir}`);
  } catch (error) {
    report.problems.push(`could not remove its temporary folders: ${toCorralError(error).message}`);
  }

  // 4. Its workspace, through its isolation plugin: a worktree is removed when clean (the branch and its commits stay), kept when dirty unless --force.
  if (run.isolation && options.repoRoot) {
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
    const { dir, recordedState: _r, ...record } = run;
    const done: RunRecord = { ...record, state: "interrupted", cleaned: { time: new Date().toISOString(), actions: report.actions } };
    writeRecord(dir, done);
    report.cleaned = true;
  }
  return report;
}

/** An error's message and, when it has one, its hint (a missing plugin says what to install). */
function described(error: unknown): string {
  const e = toCorralError(error);
  return e.hint ? `${e.message} (${e.hint})` : e.message;
}
