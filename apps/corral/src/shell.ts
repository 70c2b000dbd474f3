import type { RunResult } from "@corral/core";
import { reclaimInterrupted, resumeOptions } from "./resume.js";
import { run, type CorralRunOptions } from "./run.js";

/** What `shellRun` takes: the run's options on top of the recorded ones, and the command to open. */
export interface ShellOptions extends Omit<CorralRunOptions, "interactive" | "resume"> {
  /** The command to run with the terminal (default `sh`); `corral shell <run> -- git log` gives one. */
  argv?: readonly string[];
}

/**
 * The command `corral shell` opens when none is given: the POSIX shell every sandbox image has,
 * without job control (`+m`): in a sandbox with its own pid namespace that shares the caller's
 * terminal (bwrap), a job-control shell cannot hand the terminal back to a process group it cannot
 * see, and exits 2 ("Cannot set tty process group"). Ctrl-C still interrupts the command it runs.
 */
export const DEFAULT_SHELL: readonly string[] = ["sh", "+m"];

/**
 * Opens a terminal session inside a finished run's sandbox (`corral shell <run>`): the run's
 * branch and kept worktree (recreated from the branch when it was removed), its agent, sandbox and
 * isolation as the journal recorded them (by name: their options are the config's and the caller's),
 * and so the same env, mounts, network policy and limits an unattended run has. It is a run of its own
 * (`resumedFrom` the earlier one, journaled) whose commits land on the branch through the verifying
 * transfer. A run still running is `E_RUN_ACTIVE`; one merged is `E_RUN_MERGED`; one discarded
 * (branch gone) is `E_BRANCH_GONE`; a sandbox that cannot attach a terminal is `E_ATTACH_UNSUPPORTED`.
 */
export async function shellRun(ref: string, options: ShellOptions = {}): Promise<RunResult<undefined> & { logFile?: string }> {
  const { argv, ...overrides } = options;
  const plan = await resumeOptions(ref, { ...overrides, interactive: { argv: argv?.length ? [...argv] : DEFAULT_SHELL } });
  await reclaimInterrupted(plan.from, plan.options);
  // Journaled as `<name>-shell`, so the run's name still names the run (not each session in it).
  if (plan.from.name) plan.options.name = `${plan.from.name}-shell`;
  return run(plan.options);
}
