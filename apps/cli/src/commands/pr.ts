import { inert, inertJson } from "@corral/core/plugin-kit";
import { pullRequest, runChange } from "corral";
import { parseFlags } from "../args.js";
import { PR_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { commandCwd, jsonErrors, oneRun } from "../review.js";

/** `corral pr <run>`: push the run's branch and open a pull request with gh; without gh, the commands to do it by hand. */
export default async function pr(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(
    "pr",
    argv,
    {
      remote: { type: "string" },
      base: { type: "string" },
      title: { type: "string" },
      draft: { type: "boolean" },
      push: { type: "boolean" },
      json: { type: "boolean" },
      cwd: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    io.stdout.write(PR_HELP);
    return EXIT.ok;
  }
  return jsonErrors(io, values.json, async () => {
    const change = await runChange(commandCwd(io, values.cwd), oneRun("pr", positionals, "corral pr fix-login"));
    const result = await pullRequest(change, {
      env: io.env,
      ...(values.remote !== undefined ? { remote: values.remote } : {}),
      ...(values.base !== undefined ? { base: values.base } : {}),
      ...(values.title !== undefined ? { title: values.title } : {}),
      ...(values.draft ? { draft: true } : {}),
      ...(values.push ? { push: true } : {}),
    });
    if (values.json) {
      io.stdout.write(`${inertJson({ runId: change.run.id, ...result }, 2)}\n`);
      return EXIT.ok;
    }
    const lines = [
      ...(result.pushed ? [`Pushed ${result.branch} to ${result.remote}.`] : [`gh is not installed: nothing was pushed. To open the pull request by hand:`, `  ${result.pushCommand.join(" ")}`]),
      ...(result.url ? [`Pull request: ${result.url}`] : result.compareUrl ? [`  then open ${result.compareUrl}`] : []),
    ];
    io.stderr.write(inert(`${lines.join("\n")}\n`));
    // The URL is what a script wants: alone on stdout.
    if (result.url) io.stdout.write(inert(`${result.url}\n`));
    return EXIT.ok;
  });
}
