import { UsageError } from "@corral/core";
import type { CliIO } from "../io.js";

/** `corral image`: not built yet. */
export default async function image(_argv: string[], _io: CliIO): Promise<number> {
  throw new UsageError("`corral image` is not available in this version.", { hint: "See `corral --help` for the commands that are." });
}
