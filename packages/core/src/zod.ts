/**
 * @corral/core/zod — the zod every corral package runs with, bundled into core once (ADR 0730).
 *
 * zod ships as ~100 small modules (64 of them locales); loading them is most of a run's import time.
 * One bundled file loads in about half of that, and every first-party package's built code imports
 * `z` from here, so a process pays for it once. Same zod, same version: schemas from here and from a
 * user's own `zod` work together (zod's `instanceof` checks traits, not classes).
 */
export { z } from "zod";
