import { UsageError } from "@corral/core";
import type { CliIO } from "../io.js";

/** `corral doctor`: not built yet. */
export default async function doctor(_argv: string[], _io: CliIO): Promise<number> {
  throw new UsageError("`corral doctor` is not available in this version.", { hint: "See `corral --help` for the commands that are." });
}
