import { packageVersion } from "@corral/core";

/** This plugin's version (for `meta` and the `corral.version` label). */
export const VERSION = packageVersion(import.meta.url);
