import { UsageError } from "@corral/core";
import type { CliIO } from "../io.js";

/** `corral clean`: not built yet. */
export default async function clean(_argv: string[], _io: CliIO): Promise<number> {
  throw new UsageError("`corral clean` is not available in this version.", { hint: "See `corral --help` for the commands that are." });
}
