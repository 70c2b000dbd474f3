import { inert, inertJson } from "@corral/core/plugin-kit";
import { cleanBranches } from "corral";
import { EXIT, type CliIO } from "../io.js";

/** `corral clean --branches`: every corral/* branch with nothing beyond its base goes (`cleanBranches`); unmerged ones only with --force. */
export async function cleanBranchesCommand(cwd: string, options: { dryRun: boolean; force: boolean; json: boolean }, io: CliIO): Promise<number> {
  const branches = await cleanBranches(cwd, { dryRun: options.dryRun, force: options.force });
  if (options.json) {
    io.stdout.write(`${inertJson({ dryRun: options.dryRun, branches }, 2)}\n`);
    return EXIT.ok;
  }
  if (!branches.length) {
    io.stderr.write("No corral/* branches.\n");
    return EXIT.ok;
  }
  const verb = { deleted: "deleted", "would-delete": "would delete", kept: "kept" } as const;
  // Branch names and paths come from runs: inert.
  io.stderr.write(inert(branches.map((b) => `${verb[b.action]} ${b.branch} (${b.tip.slice(0, 12)}): ${b.reason}\n`).join("")));
  const gone = branches.filter((b) => b.action !== "kept").length;
  io.stderr.write(`${gone} of ${branches.length} corral/* branch(es) ${options.dryRun ? "would be deleted" : "deleted"}.\n`);
  return EXIT.ok;
}
