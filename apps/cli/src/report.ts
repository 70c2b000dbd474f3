import { CorralError, toCorralError, UsageError } from "@corral/core";
import { inert, inertJson } from "@corral/core/plugin-kit";
import { EXIT, type CliIO } from "./io.js";

/**
 * One error, rendered for people: the message, then what to do. Returns the exit code. A message
 * can carry what the sandbox printed (an output tail, a commit subject), so it is rendered inert.
 */
export function reportError(io: CliIO, error: unknown): number {
  if (error instanceof CorralError) {
    io.stderr.write(`corral: ${inert(error.message)}\n`);
    if (error.hint) io.stderr.write(`  hint: ${inert(error.hint)}\n`);
    if (error.code === "E_ABORTED") return EXIT.interrupted;
    return error instanceof UsageError ? EXIT.usage : EXIT.failed;
  }
  io.stderr.write(`corral: ${inert((error as Error)?.stack ?? String(error))}\n`);
  return EXIT.failed;
}

/**
 * With `--json`, an error that no `run.finished` event carries (bad flags, a bad config, a task list
 * that does not parse) is also one JSON line on stdout, so a machine reading stdout learns of it.
 */
export function reportJsonError(io: CliIO, error: unknown): void {
  const { code, message, hint } = toCorralError(error).toJSON();
  io.stdout.write(`${inertJson({ type: "error", time: new Date().toISOString(), error: { code, message, ...(hint ? { hint } : {}) } })}\n`);
}

/** Whether `--json` was asked for, read before the flags are parsed (a usage error must still answer in JSON). */
export function wantsJson(argv: readonly string[]): boolean {
  const dashdash = argv.indexOf("--");
  return (dashdash === -1 ? argv : argv.slice(0, dashdash)).includes("--json");
}
