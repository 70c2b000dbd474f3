import { inert, inertJson } from "@corral/core/plugin-kit";
import { diffRun, type DiffFile } from "corral";
import { parseFlags } from "../args.js";
import { DIFF_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { changesFor, commandCwd, jsonErrors, sectionHeading, write } from "../review.js";

/** `corral diff <run> [--stat]` and `corral diff --fleet <id>`: what a run changed since its base, shown inert. */
export default async function diff(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(
    "diff",
    argv,
    { stat: { type: "boolean" }, fleet: { type: "string" }, json: { type: "boolean" }, cwd: { type: "string" }, help: { type: "boolean", short: "h" } },
    true,
  );
  if (values.help) {
    io.stdout.write(DIFF_HELP);
    return EXIT.ok;
  }
  return jsonErrors(io, values.json, async () => {
    const sections = await changesFor(commandCwd(io, values.cwd), positionals, values.fleet, "diff");
    const fleet = values.fleet !== undefined;
    const out: unknown[] = [];
    let failed = false;
    for (const { run, change, error } of sections) {
      if (fleet && !values.json) await write(io, sectionHeading(run, change));
      if (!change) {
        // A fleet task without a branch (it failed before its workspace, or was discarded) says so in its section.
        failed = true;
        if (values.json) out.push({ runId: run.id, ...(run.name ? { name: run.name } : {}), error: error!.toJSON() });
        else await write(io, inert(`(${error!.message})\n\n`));
        continue;
      }
      const d = await diffRun(change, { stat: values.stat === true });
      if (values.json) {
        out.push({ runId: run.id, ...(run.name ? { name: run.name } : {}), ...(change.branch ? { branch: change.branch } : {}), ...d });
        continue;
      }
      if (values.stat) await write(io, inert(statText(d.files)));
      else await write(io, inert(d.patch ?? ""));
      if (fleet) await write(io, "\n");
    }
    if (values.json) io.stdout.write(`${inertJson(fleet ? { fleet: values.fleet, tasks: out } : out[0], 2)}\n`);
    return failed && !fleet ? EXIT.failed : EXIT.ok;
  });
}

/** `  M  src/a.ts  +3 -1` per file, then the totals. */
function statText(files: DiffFile[]): string {
  if (!files.length) return "No changes.\n";
  const count = (n: number | null) => (n === null ? "bin" : String(n));
  const lines = files.map((f) => `  ${f.status}  ${f.oldPath ? `${f.oldPath} -> ` : ""}${f.path}  +${count(f.additions)} -${count(f.deletions)}`);
  const sum = (key: "additions" | "deletions") => files.reduce((n, f) => n + (f[key] ?? 0), 0);
  return `${lines.join("\n")}\n ${files.length} file(s) changed, ${sum("additions")} insertion(s), ${sum("deletions")} deletion(s)\n`;
}
