import { inert, inertJson } from "@corral/core/plugin-kit";
import { logRun } from "corral";
import { parseFlags } from "../args.js";
import { LOG_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { changesFor, commandCwd, jsonErrors, sectionHeading, write } from "../review.js";

/** `corral log <run>` and `corral log --fleet <id>`: a run's commits, oldest first, shown inert. */
export default async function log(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags("log", argv, { fleet: { type: "string" }, json: { type: "boolean" }, cwd: { type: "string" }, help: { type: "boolean", short: "h" } }, true);
  if (values.help) {
    io.stdout.write(LOG_HELP);
    return EXIT.ok;
  }
  return jsonErrors(io, values.json, async () => {
    const sections = await changesFor(commandCwd(io, values.cwd), positionals, values.fleet, "log");
    const fleet = values.fleet !== undefined;
    const out: unknown[] = [];
    let failed = false;
    for (const { run, change, error } of sections) {
      if (fleet && !values.json) await write(io, sectionHeading(run, change));
      if (!change) {
        failed = true;
        if (values.json) out.push({ runId: run.id, ...(run.name ? { name: run.name } : {}), error: error!.toJSON() });
        else await write(io, inert(`(${error!.message})\n\n`));
        continue;
      }
      const commits = await logRun(change);
      if (values.json) {
        out.push({ runId: run.id, ...(run.name ? { name: run.name } : {}), ...(change.branch ? { branch: change.branch } : {}), base: change.base, tip: change.tip, commits });
        continue;
      }
      if (!commits.length) await write(io, "No commits.\n");
      for (const c of commits) {
        const body = c.body ? `\n${c.body.replace(/^/gm, "    ")}\n` : "";
        await write(io, inert(`commit ${c.sha}\nAuthor: ${c.author}\nDate:   ${c.time}\n\n    ${c.subject}\n${body}\n`));
      }
    }
    if (values.json) io.stdout.write(`${inertJson(fleet ? { fleet: values.fleet, tasks: out } : out[0], 2)}\n`);
    return failed && !fleet ? EXIT.failed : EXIT.ok;
  });
}
