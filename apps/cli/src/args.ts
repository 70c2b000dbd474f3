import { parseArgs, type ParseArgsConfig } from "node:util";

// parseArgs' option types are not all exported by @types/node; name the ones we need.
type ParsedFlags<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: boolean }>>;
import { UsageError } from "@corral/core";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Strict flag parsing: an unknown flag or a missing value is a UsageError (exit 2) naming it. */
export function parseFlags<O extends Options>(command: string, argv: string[], options: O, allowPositionals = false): ParsedFlags<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals }) as ParsedFlags<O>;
  } catch (cause) {
    const message = (cause as Error).message.replace(/\. To specify a positional argument.*$/s, ".");
    throw new UsageError(message, { hint: `See \`corral ${command} --help\`.`, cause });
  }
}

/** A non-negative (or positive) number flag. */
export function numberFlag(name: string, value: string | undefined, { integer = false, min = 0, exclusiveMin = false } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const bad = value.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || (exclusiveMin && n === min);
  if (bad) {
    throw new UsageError(`--${name} must be a ${integer ? "whole " : ""}number${exclusiveMin ? ` greater than ${min}` : ` of at least ${min}`}, got "${value}".`, {
      hint: `e.g. --${name} ${integer ? 5 : 300}`,
    });
  }
  return n;
}

/** `KEY=VALUE` pairs (repeatable flag) into a record. */
export function keyValues(flag: string, values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of values ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${flag} needs a name, "=" and a value, got "${pair}".`, { hint: `e.g. --${flag} issue=42` });
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
