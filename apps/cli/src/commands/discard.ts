import { resolve } from "node:path";
import { inert, inertJson } from "@corral/core/plugin-kit";
import { discardRun, loadConfig, runChange } from "corral";
import { PluginLoader } from "corral/internal";
import { parseFlags } from "../args.js";
import { pluginInstance } from "../capabilities.js";
import { DISCARD_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { commandCwd, jsonErrors, oneRun } from "../review.js";

/** `corral discard <run>`: the run's kept worktree (through its isolation plugin) and its branch go; unmerged work only with --force. */
export default async function discard(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(
    "discard",
    argv,
    { force: { type: "boolean" }, "dry-run": { type: "boolean" }, json: { type: "boolean" }, cwd: { type: "string" }, help: { type: "boolean", short: "h" } },
    true,
  );
  if (values.help) {
    io.stdout.write(DISCARD_HELP);
    return EXIT.ok;
  }
  return jsonErrors(io, values.json, async () => {
    const cwd = commandCwd(io, values.cwd);
    const change = await runChange(cwd, oneRun("discard", positionals, "corral discard fix-login"));
    // The run's isolation plugin removes its worktree (only asked for when the run left one).
    const isolationName = change.run.isolation;
    const isolation =
      isolationName && change.run.workspace && change.run.workspace !== change.repoRoot
        ? await (async () => {
            const { config } = await loadConfig({ cwd: resolve(cwd) });
            const loader = new PluginLoader({ cwd, ...(config.plugins ? { plugins: config.plugins } : {}) });
            return pluginInstance(loader, "isolation", isolationName, config.isolation).catch(() => undefined);
          })()
        : undefined;
    const result = await discardRun(change, { force: values.force === true, dryRun: values["dry-run"] === true, ...(isolation ? { isolation } : {}) });
    if (values.json) {
      io.stdout.write(`${inertJson(result, 2)}\n`);
      return EXIT.ok;
    }
    const would = result.dryRun ? "would remove" : "removed";
    const lines = [
      ...(result.workspace ? [`${would} worktree ${result.workspace.path}`] : []),
      ...(result.branch ? [`${result.dryRun ? "would delete" : "deleted"} branch ${result.branch.name} (was ${result.branch.tip.slice(0, 12)}${result.branch.unmerged ? `, ${result.branch.unmerged} unmerged commit(s)` : ""})`] : []),
      ...(result.branch && !result.dryRun ? [`  git branch ${result.branch.name} ${result.branch.tip.slice(0, 12)}   brings it back`] : []),
    ];
    io.stderr.write(inert(`${lines.join("\n")}\n`));
    return EXIT.ok;
  });
}
