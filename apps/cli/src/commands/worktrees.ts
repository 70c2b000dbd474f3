import { UsageError } from "@corral/core";
import type { CliIO } from "../io.js";

/** `corral worktrees`: not built yet. */
export default async function worktrees(_argv: string[], _io: CliIO): Promise<number> {
  throw new UsageError("`corral worktrees` is not available in this version.", { hint: "See `corral --help` for the commands that are." });
}
