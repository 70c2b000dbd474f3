import { UsageError } from "@corral/core";
import type { CliIO } from "../io.js";

/** `corral runs`: not built yet. */
export default async function runs(_argv: string[], _io: CliIO): Promise<number> {
  throw new UsageError("`corral runs` is not available in this version.", { hint: "See `corral --help` for the commands that are." });
}
