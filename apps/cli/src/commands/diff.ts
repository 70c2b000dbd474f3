import { inert } from "@corral/core/plugin-kit";
import { diffRun, type DiffFile } from "corral";
import { parseFlags } from "../args.js";
import { DIFF_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { commandCwd, jsonErrors, showSections, write } from "../review.js";

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
  return jsonErrors(io, values.json, () =>
    showSections(io, { cwd: commandCwd(io, values.cwd), positionals, fleet: values.fleet, json: values.json, command: "diff" }, async (change, shown) => {
      const d = await diffRun(change, { stat: values.stat === true });
      if (shown.json) return d;
      await write(io, inert(values.stat ? statText(d.files) : (d.patch ?? "")));
      if (shown.fleet) await write(io, "\n");
      return {};
    }),
  );
}

/** `  M  src/a.ts  +3 -1` per file, then the totals. */
function statText(files: DiffFile[]): string {
  if (!files.length) return "No changes.\n";
  const count = (n: number | null) => (n === null ? "bin" : String(n));
  const lines = files.map((f) => `  ${f.status}  ${f.oldPath ? `${f.oldPath} -> ` : ""}${f.path}  +${count(f.additions)} -${count(f.deletions)}`);
  const sum = (key: "additions" | "deletions") => files.reduce((n, f) => n + (f[key] ?? 0), 0);
  return `${lines.join("\n")}\n ${files.length} file(s) changed, ${sum("additions")} insertion(s), ${sum("deletions")} deletion(s)\n`;
}
