import { CorralError, inert, UsageError } from "@corral/core";
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
