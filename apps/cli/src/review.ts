import { once } from "node:events";
import { resolve } from "node:path";
import { CorralError, toCorralError, UsageError } from "@corral/core";
import { inert, inertJson } from "@corral/core/plugin-kit";
import { AmbiguousRunError, fleetChanges, runChange, type JournalRun, type RunChange } from "corral";
import { EXIT, type CliIO } from "./io.js";

/**
 * What `corral diff|log|merge|pr|discard` share: naming the run (`readRun` in the library, the one
 * resolver), the fleet sections, and --json errors. Everything they print that a run wrote (a
 * branch, a commit message, a file name, a diff) goes through `inert` or `inertJson`.
 */

/** The one `<run>` positional of a review command, or a usage error naming the command. */
export function oneRun(command: string, positionals: string[], example: string): string {
  if (positionals.length === 0) throw new UsageError(`corral ${command} needs a run (its id, name or a unique prefix).`, { hint: `e.g. ${example}; \`corral runs list\` shows the runs.` });
  if (positionals.length > 1) throw new UsageError(`Unexpected argument "${positionals[1]}".`, { hint: `See \`corral ${command} --help\`.` });
  return positionals[0]!;
}

/** The folder the command works on: --cwd, else where it was started. */
export const commandCwd = (io: CliIO, cwd: string | undefined): string => resolve(io.cwd, cwd ?? ".");

/** The change of one run, or of every task of a fleet (`--fleet`): one section each. */
export async function changesFor(cwd: string, positionals: string[], fleet: string | undefined, command: string): Promise<Array<{ run: JournalRun; change?: RunChange; error?: CorralError }>> {
  if (positionals.length > 1) throw new UsageError(`Unexpected argument "${positionals[1]}".`, { hint: `See \`corral ${command} --help\`.` });
  const ref = positionals[0];
  if (fleet !== undefined) {
    if (ref !== undefined) throw new UsageError(`corral ${command} takes a run or --fleet, not both.`, { hint: `e.g. corral ${command} --fleet <id>` });
    return (await fleetChanges(cwd, fleet)).tasks;
  }
  if (ref === undefined) throw new UsageError(`corral ${command} needs a run (its id, name or a unique prefix) or --fleet <id>.`, { hint: `e.g. corral ${command} fix-login; \`corral runs list\` shows the runs.` });
  const change = await runChange(cwd, ref);
  return [{ run: change.run, change }];
}

/**
 * The section loop of `corral diff` and `corral log`: for the run (or each fleet task) with a branch,
 * `section` gives its JSON fields and writes its text (without --json); a task without one says why.
 * Prints the JSON document at the end; exit 1 when a single run had no branch to show.
 */
export async function showSections(
  io: CliIO,
  input: { cwd: string; positionals: string[]; fleet: string | undefined; json: boolean | undefined; command: string },
  section: (change: RunChange, shown: { json: boolean; fleet: boolean }) => Promise<Record<string, unknown>>,
): Promise<number> {
  const fleet = input.fleet !== undefined;
  const out: unknown[] = [];
  let failed = false;
  for (const { run, change, error } of await changesFor(input.cwd, input.positionals, input.fleet, input.command)) {
    const named = { runId: run.id, ...(run.name ? { name: run.name } : {}) };
    if (fleet && !input.json) await write(io, sectionHeading(run, change));
    if (!change) {
      // A fleet task without a branch (it failed before its workspace, or was discarded) says so in its section.
      failed = true;
      if (input.json) out.push({ ...named, error: error!.toJSON() });
      else await write(io, inert(`(${error!.message})\n\n`));
      continue;
    }
    const fields = await section(change, { json: input.json === true, fleet });
    if (input.json) out.push({ ...named, ...(change.branch ? { branch: change.branch } : {}), ...fields });
  }
  if (input.json) io.stdout.write(`${inertJson(fleet ? { fleet: input.fleet, tasks: out } : out[0], 2)}\n`);
  return failed && !fleet ? EXIT.failed : EXIT.ok;
}

/** The heading of one run's section: `== fix-login (run <id>, succeeded) corral/fix-login`. */
export function sectionHeading(run: JournalRun, change?: RunChange): string {
  return inert(`== ${run.name ?? run.id} (run ${run.id}, ${run.state})${change?.branch ? ` ${change.branch}` : ""}\n`);
}

/** Writes and waits for a slow reader (a pager): a diff can be large. */
export async function write(io: CliIO, text: string): Promise<void> {
  if (!io.stdout.write(text)) await Promise.race([once(io.stdout, "drain"), once(io.stdout, "close")]);
}

/**
 * Runs a command; with --json, an error is also one JSON object on stdout (its code, message, hint,
 * and for an ambiguous run the runs it could mean), so a script reading stdout learns of it.
 */
export async function jsonErrors(io: CliIO, json: boolean | undefined, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (json) {
      const e = toCorralError(error);
      const extra = error instanceof AmbiguousRunError ? { candidates: error.candidates } : "files" in e ? { files: (e as CorralError & { files: unknown }).files } : {};
      io.stdout.write(`${inertJson({ error: { ...e.toJSON(), ...extra } }, 2)}\n`);
    }
    throw error;
  }
}
