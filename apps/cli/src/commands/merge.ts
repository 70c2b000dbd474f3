import { UsageError } from "@corral/core";
import { inert, inertJson } from "@corral/core/plugin-kit";
import { mergeRun, runChange, type RunMergeMode } from "corral";
import { parseFlags } from "../args.js";
import { MERGE_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { commandCwd, jsonErrors, oneRun } from "../review.js";

/** `corral merge <run> [--squash | --rebase | --ff-only] [--into B]`: the run's branch into its base branch, all or nothing. */
export default async function merge(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(
    "merge",
    argv,
    {
      squash: { type: "boolean" },
      rebase: { type: "boolean" },
      "ff-only": { type: "boolean" },
      into: { type: "string" },
      json: { type: "boolean" },
      cwd: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    io.stdout.write(MERGE_HELP);
    return EXIT.ok;
  }
  return jsonErrors(io, values.json, async () => {
    const modes = (["squash", "rebase", "ff-only"] as const).filter((m) => values[m]);
    if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} go separately: a run is merged one way.`, { hint: "Pick one of --squash, --rebase, --ff-only (or none: a merge)." });
    const mode: RunMergeMode = modes[0] ?? "merge";
    const change = await runChange(commandCwd(io, values.cwd), oneRun("merge", positionals, "corral merge fix-login --squash"));
    const result = await mergeRun(change, { mode, ...(values.into !== undefined ? { into: values.into } : {}) });
    if (values.json) {
      io.stdout.write(`${inertJson({ runId: change.run.id, branch: change.branch, ...result }, 2)}\n`);
      return EXIT.ok;
    }
    const how = result.fastForward ? "fast-forwarded" : mode === "squash" ? "squashed" : mode === "rebase" ? "rebased" : "merged";
    io.stderr.write(
      inert(
        result.merged
          ? `${change.branch} ${how} into ${result.into}: ${result.before.slice(0, 12)} -> ${result.after.slice(0, 12)}${result.checkout ? ` (${result.checkout} updated)` : ""}.\n  \`corral discard ${change.run.name ?? change.run.id}\` removes the run's branch.\n`
          : `Nothing to merge: ${result.into} already has everything on ${change.branch}.\n`,
      ),
    );
    return EXIT.ok;
  });
}
