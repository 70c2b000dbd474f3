import { UsageError } from "@corral/core";
import type { CliIO } from "../io.js";

/** `corral init`: not built yet. */
export default async function init(_argv: string[], _io: CliIO): Promise<number> {
  throw new UsageError("`corral init` is not available in this version.", { hint: "See `corral --help` for the commands that are." });
}
