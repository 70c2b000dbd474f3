import { resolve } from "node:path";
import { UsageError, type RunEvent } from "@corral/core";
import { inert, inertJson } from "@corral/core/plugin-kit";
import { shellRun } from "corral";
import { parseFlags } from "../args.js";
import { SHELL_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { commandCwd, jsonErrors, oneRun } from "../review.js";
import { trapInterrupts } from "../run-options.js";

type RunFinished = Extract<RunEvent, { type: "run.finished" }>;

/**
 * `corral shell <run> [-- cmd…]`: a terminal inside a finished run's sandbox, on its worktree, as an
 * unattended run would have it (env, mounts, network, limits). Commits made there land on the run's branch.
 */
export default async function shell(argv: string[], io: CliIO): Promise<number> {
  const dashdash = argv.indexOf("--");
  const command = dashdash === -1 ? [] : argv.slice(dashdash + 1);
  const { values, positionals } = parseFlags("shell", dashdash === -1 ? argv : argv.slice(0, dashdash), { json: { type: "boolean" }, config: { type: "string" }, cwd: { type: "string" }, help: { type: "boolean", short: "h" } }, true);
  if (values.help) {
    io.stdout.write(SHELL_HELP);
    return EXIT.ok;
  }
  if (dashdash !== -1 && !command.length) throw new UsageError("Nothing after --: give the command to run, or drop the --.", { hint: "e.g. corral shell fix-login -- git log" });
  return jsonErrors(io, values.json, async () => {
    const cwd = commandCwd(io, values.cwd);
    const ref = oneRun("shell", positionals, "corral shell fix-login");
    const controller = new AbortController();
    // Ctrl-C belongs to the program at the terminal; SIGTERM stops the session and cleans up.
    const stop = trapInterrupts(controller, io, ["SIGTERM", "SIGHUP"]);
    let finished: RunFinished | undefined;
    try {
      await shellRun(ref, {
        cwd,
        ...(values.config !== undefined ? { config: resolve(io.cwd, values.config) } : {}),
        ...(command.length ? { argv: command } : {}),
        signal: controller.signal,
        handleProcessSignals: false,
        onEvent: (event) => {
          if (event.type === "run.finished") finished = event;
          // Warnings before the terminal is handed over (no sandbox, an env file…): said once, inert.
          if (event.type === "log" && event.level === "warn") io.stderr.write(inert(`corral: ${event.message}\n`));
        },
      });
    } finally {
      stop();
    }
    if (values.json) {
      io.stdout.write(`${inertJson(finished ? { runId: finished.runId, status: finished.status, branch: finished.branch, commits: finished.commits } : {}, 2)}\n`);
    } else if (finished) {
      const commits = finished.commits?.length ?? 0;
      io.stderr.write(inert(`corral: shell ended (${finished.status}); ${commits ? `${commits} commit(s) on ${finished.branch}` : `no new commits on ${finished.branch ?? "the branch"}`}\n`));
    }
    return finished?.status === "incomplete" ? EXIT.incomplete : EXIT.ok;
  });
}
