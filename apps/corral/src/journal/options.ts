import { isConfigured, type RunOptions } from "@corral/core";
import { createRedactor, redactDeep } from "@corral/core/plugin-kit";

/** Keys that are not data (callbacks, signals), or are summarized separately. */
const SKIP = new Set(["agent", "sandbox", "isolation", "env", "hostEnv", "displays", "onEvent", "signal", "output", "handleProcessSignals", "resume", "keepSession"]);

/**
 * The run's options as the journal keeps them: plugin names with their options, env var NAMES
 * (never values), everything else that is plain data, and every string redacted, including the
 * exact values of the run's env (they are all treated as secrets).
 */
export function journalOptions(options: RunOptions<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (SKIP.has(key) || value === undefined) continue;
    const plain = plainData(value);
    if (plain !== undefined) out[key] = plain;
  }
  for (const kind of ["agent", "sandbox", "isolation"] as const) {
    const ref = options[kind] as unknown;
    if (ref === undefined) continue;
    out[kind] = isConfigured(ref) ? { name: ref.plugin.meta.name, options: plainData(ref.options) ?? {} } : { name: (ref as { name?: string }).name ?? "custom" };
  }
  if (options.env) out.env = Object.keys(options.env).sort();
  if (options.output) out.output = { tag: options.output.tag, kind: options.output.kind };
  const redactor = createRedactor(Object.values(options.env ?? {}));
  return redactDeep(out, redactor);
}

/** JSON-safe copy of plain data; functions, class instances and cycles are dropped. */
function plainData(value: unknown, seen = new Set<unknown>()): unknown {
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return value;
  if (typeof value !== "object" || seen.has(value)) return undefined;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => plainData(item, seen) ?? null);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const plain = plainData(item, seen);
    if (plain !== undefined) out[key] = plain;
  }
  return out;
}
