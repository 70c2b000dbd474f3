import { resolve } from "node:path";
import { git, inert, inertJson, installCommand, listRunTempDirs, removeRunTempDirs, toCorralError } from "@corral/core";
import { listRuns, type JournalRun, type RunRecord } from "corral";
import { importInstalled, journalLocation, killRunProcesses, runProcesses, writeRecord } from "corral/internal";
import { parseFlags } from "../args.js";
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

const CONTAINER_PACKAGES: Record<string, string> = { docker: "@corral/sandbox-docker", podman: "@corral/sandbox-podman" };

/**
 * `corral clean`: for every interrupted run, stops the processes it left running, removes its
 * containers, its temporary folders (found by its run id) and its worktree (keeping the branch,
 * and a dirty worktree unless --force), prunes git's worktree records, and marks the run cleaned.
 * bwrap sandboxes need no stopping: they die with their parent (`--die-with-parent`).
 */
export default async function clean(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags("clean", argv, {
    "dry-run": { type: "boolean" },
    force: { type: "boolean" },
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
  const location = await journalLocation(cwd);
  const interrupted = (await listRuns(location.root)).filter((run) => run.state === "interrupted" && !run.cleaned);

  const reports: CleanReport[] = [];
  for (const run of interrupted) reports.push(await cleanRun(run, { cwd, repoRoot: location.repoRoot, dryRun, force: values.force === true }));
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

async function cleanRun(run: JournalRun, options: { cwd: string; repoRoot: string | undefined; dryRun: boolean; force: boolean }): Promise<CleanReport> {
  const report: CleanReport = { id: run.id, ...(run.name ? { name: run.name } : {}), actions: [], kept: [], problems: [], cleaned: false };
  const would = options.dryRun ? "would " : "";

  // 1. Processes it left running (the host sandbox's agent outlives a SIGKILLed orchestrator).
  const pids = options.dryRun ? runProcesses(run.id) : await killRunProcesses(run.id);
  if (pids.length) report.actions.push(`${would}stop ${pids.length} process(es): ${pids.join(", ")}`);

  // 2. Its containers, through the sandbox plugin that made them.
  const containerPackage = run.sandbox ? CONTAINER_PACKAGES[run.sandbox.name] : undefined;
  if (containerPackage) {
    const plugin = await importInstalled<{ reapOrphans(o: { runId: string; dryRun: boolean }): Promise<{ containers: Array<{ name: string; action: string; reason: string }> }> }>(containerPackage, options.cwd);
    if (!plugin) {
      report.problems.push(`its ${run.sandbox!.name} containers need ${containerPackage} to be removed: ${installCommand(containerPackage)}`);
    } else {
      try {
        const { containers } = await plugin.reapOrphans({ runId: run.id, dryRun: options.dryRun });
        for (const c of containers) {
          if (c.action === "removed" || c.action === "would-remove") report.actions.push(`${would}remove container ${c.name} (${c.reason})`);
          else if (c.action === "kept") report.kept.push(`container ${c.name}: ${c.reason}`);
          else report.problems.push(`could not remove container ${c.name}: ${c.reason}`);
        }
      } catch (error) {
        report.problems.push(`could not list its ${run.sandbox!.name} containers: ${toCorralError(error).message}`);
      }
    }
  }

  // 3. Its temporary folders (its HOME, a sandbox's /tmp, an engine's env files), found by its run id alone.
  try {
    const dirs = options.dryRun ? await listRunTempDirs(run.id) : await removeRunTempDirs(run.id);
    for (const dir of dirs) report.actions.push(`${would}remove temporary folder ${dir}`);
  } catch (error) {
    report.problems.push(`could not remove its temporary folders: ${toCorralError(error).message}`);
  }

  // 4. Its worktree: removed when clean (the branch and its commits stay), kept when dirty unless --force.
  if (run.isolation === "worktree" && options.repoRoot) {
    const wt = await importInstalled<typeof import("@corral/worktree-git")>("@corral/worktree-git", options.cwd);
    if (!wt) {
      report.problems.push(`its worktree needs @corral/worktree-git to be removed: ${installCommand("@corral/worktree-git")}`);
    } else {
      const mine = (await wt.listWorktrees(options.repoRoot)).filter((w) => w.runId === run.id || (run.workspace !== undefined && w.path === run.workspace));
      for (const w of mine) {
        const label = `worktree ${w.path}${w.branch ? ` (branch ${w.branch} kept)` : ""}`;
        try {
          const dirty = w.state === "missing" || w.state === "stale" ? [] : ((await wt.worktreeInfo(options.repoRoot, w.slug)).uncommitted ?? []);
          if (dirty.length && !options.force) {
            report.kept.push(`worktree ${w.path}: ${dirty.length} uncommitted change(s) (--force removes it)`);
            continue;
          }
          if (!options.dryRun) await wt.removeWorktree(options.repoRoot, w.slug, { force: options.force || w.state === "active" });
          report.actions.push(`${would}remove ${label}${dirty.length ? `, discarding ${dirty.length} uncommitted change(s)` : ""}`);
        } catch (error) {
          report.problems.push(`could not remove ${label}: ${toCorralError(error).message}`);
        }
      }
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
