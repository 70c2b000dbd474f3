import { inert } from "@corral/core/plugin-kit";
import { logRun } from "corral";
import { parseFlags } from "../args.js";
import { LOG_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { commandCwd, jsonErrors, showSections, write } from "../review.js";

/** `corral log <run>` and `corral log --fleet <id>`: a run's commits, oldest first, shown inert. */
export default async function log(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags("log", argv, { fleet: { type: "string" }, json: { type: "boolean" }, cwd: { type: "string" }, help: { type: "boolean", short: "h" } }, true);
  if (values.help) {
    io.stdout.write(LOG_HELP);
    return EXIT.ok;
  }
  return jsonErrors(io, values.json, () =>
    showSections(io, { cwd: commandCwd(io, values.cwd), positionals, fleet: values.fleet, json: values.json, command: "log" }, async (change, shown) => {
      const commits = await logRun(change);
      if (shown.json) return { base: change.base, tip: change.tip, commits };
      if (!commits.length) await write(io, "No commits.\n");
      for (const c of commits) {
        const body = c.body ? `\n${c.body.replace(/^/gm, "    ")}\n` : "";
        await write(io, inert(`commit ${c.sha}\nAuthor: ${c.author}\nDate:   ${c.time}\n\n    ${c.subject}\n${body}\n`));
      }
      return {};
    }),
  );
}

