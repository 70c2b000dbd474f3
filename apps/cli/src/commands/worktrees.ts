import { resolve } from "node:path";
import { FIRST_PARTY_PLUGINS, installCommand, isCorralError, UsageError, type ListedWorkspace, type RemovedWorkspace } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { loadConfig } from "corral";
import { PluginLoader } from "corral/internal";
import { parseFlags } from "../args.js";
import { pluginsWith } from "../capabilities.js";
import { WORKTREES_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { table } from "./runs.js";

/**
 * `corral worktrees list|remove|prune`: the workspaces corral's isolations keep in this repository
 * (git worktrees, with @corral/worktree-git), through the isolation capabilities `listWorkspaces`,
 * `removeWorkspace` and `reclaim` of every installed isolation that has them.
 */
export default async function worktrees(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(
    "worktrees",
    argv,
    {
      json: { type: "boolean" },
      "dry-run": { type: "boolean" },
      force: { type: "boolean" },
      "delete-branch": { type: "boolean" },
      cwd: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    io.stdout.write(WORKTREES_HELP);
    return EXIT.ok;
  }
  const [action = "list", target, ...extra] = positionals;
  if (!["list", "remove", "prune"].includes(action)) throw new UsageError(`Unknown action "${action}" for corral worktrees.`, { hint: "Use list, remove <name> or prune." });
  if (extra.length || (action !== "remove" && target !== undefined)) throw new UsageError(`Unexpected argument "${extra[0] ?? target}".`, { hint: "See `corral worktrees --help`." });
  if (action === "remove" && target === undefined) throw new UsageError("corral worktrees remove needs a worktree (slug, run name, branch or path).", { hint: "`corral worktrees list` shows them." });
  const misplaced = (["dry-run", "force", "delete-branch"] as const).find((flag) => values[flag] && action !== (flag === "dry-run" ? "prune" : "remove"));
  if (misplaced) throw new UsageError(`--${misplaced} does not go with \`corral worktrees ${action}\`.`, { hint: "See `corral worktrees --help`." });

  const cwd = resolve(io.cwd, values.cwd ?? ".");
  const top = await git(["rev-parse", "--show-toplevel"], { cwd, allowFailure: true }).catch(() => undefined);
  if (top?.exitCode !== 0) throw new UsageError(`${cwd} is not inside a git repository.`, { hint: "Run it in the repository whose worktrees you want, or pass --cwd." });
  const { config } = await loadConfig({ cwd });
  const loader = new PluginLoader({ cwd, ...(config.plugins ? { plugins: config.plugins } : {}) });
  const capability = action === "list" ? "listWorkspaces" : action === "remove" ? "removeWorkspace" : "reclaim";
  const isolations = (await pluginsWith(loader, "isolation", capability, config.isolation)).map((p) => p.instance);
  if (!isolations.length) {
    const pkg = FIRST_PARTY_PLUGINS.isolation.worktree!;
    throw new UsageError(`corral worktrees needs an isolation that keeps workspaces, such as the package ${pkg}, which is not installed.`, { code: "E_PLUGIN_NOT_FOUND", hint: `Install it: ${installCommand(pkg)}` });
  }

  if (action === "list") {
    const all: ListedWorkspace[] = [];
    for (const isolation of isolations) all.push(...(await isolation.listWorkspaces!(cwd)));
    if (values.json) io.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    else if (!all.length) io.stderr.write("No corral worktrees.\n");
    else io.stdout.write(table([["SLUG", "STATE", "BRANCH", "RUN", "PATH"], ...all.map((w) => [w.id, w.state + (w.keptReason ? ` (${w.keptReason})` : ""), w.branch ?? "(detached)", w.runId ?? "", w.path])]));
    return EXIT.ok;
  }
  if (action === "remove") {
    const removed = await removeFromAny(isolations, cwd, target!, { force: values.force === true, deleteBranch: values["delete-branch"] === true });
    if (values.json) io.stdout.write(`${JSON.stringify({ ...removed, removed: true }, null, 2)}\n`);
    else io.stderr.write(`removed ${removed.path}${removed.branch ? `; branch ${removed.branch} ${removed.branchDeleted ? "deleted" : "kept"}` : ""}\n`);
    return EXIT.ok;
  }
  const dryRun = values["dry-run"] === true;
  const result: { dryRun: boolean; pruned: Array<{ slug: string; path: string; branch?: string; reason: string }>; kept: Array<{ slug: string; path: string; reason: string }> } = { dryRun, pruned: [], kept: [] };
  for (const isolation of isolations) {
    for (const w of (await isolation.reclaim!({ repoRoot: cwd, dryRun })).workspaces) {
      if (w.action === "removed" || w.action === "would-remove") result.pruned.push({ slug: w.id, path: w.path, ...(w.branch ? { branch: w.branch } : {}), reason: w.reason });
      else result.kept.push({ slug: w.id, path: w.path, reason: w.reason });
    }
  }
  if (!result.dryRun) await git(["worktree", "prune"], { cwd, allowFailure: true });
  if (values.json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT.ok;
  }
  const verb = result.dryRun ? "would remove" : "removed";
  for (const p of result.pruned) io.stderr.write(`${verb} ${p.path} (${p.reason})${p.branch ? `; branch ${p.branch} kept` : ""}\n`);
  for (const k of result.kept) io.stderr.write(`kept ${k.path}: ${k.reason}\n`);
  if (!result.pruned.length && !result.kept.length) io.stderr.write("Nothing to prune.\n");
  return EXIT.ok;
}

/** Removes `target` with the first isolation that knows it (each says "not found" with a code ending in NOT_FOUND). */
async function removeFromAny(isolations: Array<{ removeWorkspace?: (repo: string, target: string, options?: { force?: boolean; deleteBranch?: boolean }) => Promise<RemovedWorkspace> }>, repo: string, target: string, options: { force: boolean; deleteBranch: boolean }): Promise<RemovedWorkspace> {
  let notFound: unknown;
  for (const isolation of isolations) {
    try {
      return await isolation.removeWorkspace!(repo, target, options);
    } catch (error) {
      if (!(isCorralError(error) && error.code.endsWith("NOT_FOUND"))) throw error;
      notFound = error;
    }
  }
  throw notFound;
}
