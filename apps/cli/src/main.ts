import { readFileSync } from "node:fs";
import { MAIN_HELP } from "./help.js";
import { EXIT, defaultIO, type CliIO } from "./io.js";

/** Each command lives in its own module, imported only when it runs. */
const COMMANDS: Record<string, () => Promise<{ default: (argv: string[], io: CliIO) => Promise<number> }>> = {
  run: () => import("./commands/run.js"),
  plugins: () => import("./commands/plugins.js"),
  worktrees: () => import("./commands/worktrees.js"),
  runs: () => import("./commands/runs.js"),
  diff: () => import("./commands/diff.js"),
  log: () => import("./commands/log.js"),
  merge: () => import("./commands/merge.js"),
  pr: () => import("./commands/pr.js"),
  discard: () => import("./commands/discard.js"),
  shell: () => import("./commands/shell.js"),
  clean: () => import("./commands/clean.js"),
  image: () => import("./commands/image.js"),
  init: () => import("./commands/init.js"),
  doctor: () => import("./commands/doctor.js"),
};

/** The `corral` command. Returns the exit code; never calls process.exit. */
export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    // Asked for: help on stdout, exit 0. No command at all is a usage error: help on stderr, exit 2.
    (command === undefined ? io.stderr : io.stdout).write(MAIN_HELP);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === "-v" || command === "--version") {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    io.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[command];
  if (!load) {
    io.stderr.write(`corral: unknown command "${command}".\n  hint: run \`corral --help\` to see the commands.\n`);
    return EXIT.usage;
  }
  try {
    const { default: commandMain } = await load();
    return await commandMain(rest, io);
  } catch (error) {
    // Loaded only on failure: rendering errors needs core, and --help must not load it.
    const { reportError } = await import("./report.js");
    return reportError(io, error);
  }
}
