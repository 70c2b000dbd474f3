import { CorralError, UsageError } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { readFleet, readRun, type JournalRun } from "../journal/reader.js";
import { journalLocation } from "../journal/root.js";

/**
 * A run's work as the user's repository holds it: the run's branch, the commit it started from, the
 * commit its branch is at now. Every git call on it runs in the main checkout (`repoRoot`), whose
 * config is the user's: never in the run's worktree or its git dir, which the agent wrote.
 */
export interface RunChange {
  /** The run, as the journal has it. */
  run: JournalRun;
  /** The main checkout of the repository. */
  repoRoot: string;
  /** The run's branch (short name, `corral/fix-login`); absent for an in-place run. */
  branch?: string;
  /** The commit the run started from. */
  base: string;
  /** The local branch the run started from, when it started from one: where `mergeRun` merges into. */
  baseBranch?: string;
  /** The commit the run's work ends at now: its branch's tip (an in-place run: its last commit). */
  tip: string;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The repository (main checkout) and journal root for commands started in `cwd`. */
export async function reviewLocation(cwd: string): Promise<{ root: string; repoRoot: string }> {
  const location = await journalLocation(cwd);
  if (!location.repoRoot) throw new UsageError(`${cwd} is not inside a git repository.`, { code: "E_NOT_GIT_REPOSITORY", hint: "Run the command in the repository the run was started in (or pass --cwd)." });
  return { root: location.root, repoRoot: location.repoRoot };
}

/** The run named `ref` (run id, name or unique prefix: `readRun`) and its work in the repository around `cwd`. */
export async function runChange(cwd: string, ref: string): Promise<RunChange> {
  const { root, repoRoot } = await reviewLocation(cwd);
  return changeOf(await readRun(root, ref), repoRoot);
}

/** Every task of a fleet (by fleet id or unique prefix) with its work, in the order they started. */
export async function fleetChanges(cwd: string, ref: string): Promise<{ fleet: string; tasks: Array<{ run: JournalRun; change?: RunChange; error?: CorralError }> }> {
  const { root, repoRoot } = await reviewLocation(cwd);
  const fleet = await readFleet(root, ref);
  const tasks = [];
  for (const run of fleet.runs) {
    try {
      tasks.push({ run, change: await changeOf(run, repoRoot) });
    } catch (error) {
      if (!(error instanceof CorralError)) throw error;
      tasks.push({ run, error }); // a task without a branch still gets its section
    }
  }
  return { fleet: fleet.id, tasks };
}

/**
 * The work of a run already read from the journal. The journal's fields are checked before git sees
 * them (the journal can sit in an in-place run's workspace): a branch must be a valid branch name, a
 * commit a full object id; every ref is passed to git spelled out (`refs/heads/…`), never as an option.
 */
export async function changeOf(run: JournalRun, repoRoot: string): Promise<RunChange> {
  if (!run.baseCommit || !SHA.test(run.baseCommit)) {
    throw new CorralError("E_RUN_NO_BRANCH", `Run ${run.id} has no base commit recorded: it never made its workspace.`, { hint: "`corral runs show` says what it did." });
  }
  const baseBranch = run.baseBranch && (await isBranchName(repoRoot, run.baseBranch)) ? run.baseBranch : undefined;
  const common = { run, repoRoot, base: run.baseCommit, ...(baseBranch ? { baseBranch } : {}) };
  if (run.branch === undefined) {
    // In place: the run committed on the user's branch; its work is base..its last commit.
    const last = run.commits?.at(-1)?.sha;
    if (run.workspace === repoRoot && last && SHA.test(last) && (await commitExists(repoRoot, last))) return { ...common, tip: last };
    throw new CorralError("E_RUN_NO_BRANCH", `Run ${run.id} has no branch${run.workspace === repoRoot ? " (it worked in place, on your checkout)" : ""}.`, {
      hint: "Its commits, if any, are already where it worked: `git log` shows them.",
    });
  }
  if (!(await isBranchName(repoRoot, run.branch))) throw new CorralError("E_RUN_NO_BRANCH", `Run ${run.id} recorded a branch that is not a valid branch name.`, { hint: "Its journal was changed; look at `corral runs show`." });
  const tip = await branchTip(repoRoot, run.branch);
  if (!tip) {
    throw new CorralError("E_BRANCH_GONE", `The branch ${run.branch} of run ${run.id} is no longer in the repository.`, {
      hint: run.commits?.length ? `Its last commit was ${run.commits.at(-1)!.sha.slice(0, 12)}: \`git branch ${run.branch} ${run.commits.at(-1)!.sha.slice(0, 12)}\` brings it back if git still has it.` : "It was discarded or deleted; nothing is left to review.",
    });
  }
  return { ...common, branch: run.branch, tip };
}

/** A run that may still move its branch: merging, pushing or discarding it waits until it ends. */
export function assertRunOver(run: JournalRun): void {
  if (run.state === "running" || run.state === "created") {
    throw new CorralError("E_RUN_ACTIVE", `Run ${run.id} is still running (pid ${run.pid}).`, { hint: "Wait for it to end (`corral runs logs <run> -f`), or stop it with Ctrl-C in its terminal." });
  }
}

/** Whether `name` is a branch name git accepts (and not an option). */
export async function isBranchName(repoRoot: string, name: string): Promise<boolean> {
  if (!name || name.startsWith("-")) return false;
  return (await git(["check-ref-format", "--branch", name], { cwd: repoRoot, allowFailure: true })).exitCode === 0;
}

/** The commit `refs/heads/<branch>` points at, or undefined when there is no such branch. */
export async function branchTip(repoRoot: string, branch: string): Promise<string | undefined> {
  const r = await git(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`], { cwd: repoRoot, allowFailure: true });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

async function commitExists(repoRoot: string, sha: string): Promise<boolean> {
  return (await git(["cat-file", "-e", `${sha}^{commit}`], { cwd: repoRoot, allowFailure: true })).exitCode === 0;
}

/** Whether commit `a` is an ancestor of (or is) commit `b`. */
export async function isAncestor(repoRoot: string, a: string, b: string): Promise<boolean> {
  return (await git(["merge-base", "--is-ancestor", a, b], { cwd: repoRoot, allowFailure: true })).exitCode === 0;
}
