import { existsSync } from "node:fs";
import { CorralError, type Isolation } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { listRuns, type JournalRun } from "../journal/reader.js";
import { assertRunOver, branchTip, isBranchName, reviewLocation, type RunChange } from "./change.js";

/** Where a branch stands against its base: what removing it would lose. */
export interface BranchStanding {
  /** Commits on the branch that its base does not have. */
  unmerged: number;
  /** True when `unmerged` is more than 0 but merging the branch into its base would change nothing (it was squashed or rebased in). */
  contentMerged: boolean;
  /** What the branch was compared with: its base branch, or (base unknown) every local branch outside `corral/`. */
  against: string;
}

/**
 * How many commits of `tip` its base lacks: compared with `baseBranch` when known, else with every
 * local branch outside `corral/` (a branch reachable from any of them loses nothing).
 */
export async function branchStanding(repoRoot: string, tip: string, baseBranch?: string): Promise<BranchStanding> {
  const baseTip = baseBranch ? await branchTip(repoRoot, baseBranch) : undefined;
  const bases = baseTip
    ? [baseTip]
    : (await git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/"], { cwd: repoRoot })).stdout
        .split("\n")
        .filter((line) => line && !line.includes(" refs/heads/corral/"))
        .map((line) => line.split(" ")[0]!);
  const count = Number((await git(["rev-list", "--count", tip, ...(bases.length ? ["--not", ...bases] : [])], { cwd: repoRoot })).stdout.trim());
  let contentMerged = false;
  if (count > 0 && baseTip) {
    // Squashed or rebased in: merging it again would leave the base's tree as it is.
    const merged = await git(["merge-tree", "--write-tree", "--no-messages", baseTip, tip], { cwd: repoRoot, allowFailure: true });
    const baseTree = (await git(["rev-parse", `${baseTip}^{tree}`], { cwd: repoRoot })).stdout.trim();
    contentMerged = merged.exitCode === 0 && merged.stdout.split("\n")[0]!.trim() === baseTree;
  }
  return { unmerged: count, contentMerged, against: baseBranch && baseTip ? baseBranch : "the local branches outside corral/" };
}

/** Deletes `refs/heads/<branch>` only if it still points at `tip` (nothing the caller did not see is lost). */
async function deleteBranch(repoRoot: string, branch: string, tip: string): Promise<void> {
  const r = await git(["update-ref", "-d", `refs/heads/${branch}`, tip], { cwd: repoRoot, allowFailure: true });
  if (r.exitCode !== 0) throw new CorralError("E_GIT", `Could not delete ${branch}: ${r.stderr.trim().split("\n")[0]}`, { hint: "It moved meanwhile; look at it (git log) and run the command again." });
}

/** Branches checked out in some worktree of the repository (git refuses to delete those, and so does corral). */
async function checkedOutBranches(repoRoot: string): Promise<Map<string, string>> {
  const out = (await git(["worktree", "list", "--porcelain", "-z"], { cwd: repoRoot })).stdout;
  const held = new Map<string, string>();
  let path = "";
  for (const field of out.split("\0")) {
    if (field.startsWith("worktree ")) path = field.slice(9);
    else if (field.startsWith("branch refs/heads/")) held.set(field.slice(18), path);
  }
  return held;
}

/** What `discardRun` removed (or, with `dryRun`, would remove). */
export interface DiscardResult {
  /** The run. */
  runId: string;
  /** The run's branch and the commit it was at (`git branch <branch> <tip>` brings it back while git keeps the objects). */
  branch?: { name: string; tip: string; deleted: boolean; unmerged: number };
  /** The run's worktree, when it still existed. */
  workspace?: { path: string; removed: boolean };
  /** Nothing was changed. */
  dryRun: boolean;
}

/**
 * Throws a finished run's work away: its kept worktree (through the isolation's `removeWorkspace`,
 * which refuses uncommitted work unless `force`) and its branch. A branch with commits its base
 * does not have is kept unless `force` (`E_BRANCH_UNMERGED`); everything is checked before anything is removed.
 */
export async function discardRun(change: RunChange, options: { force?: boolean; dryRun?: boolean; isolation?: Isolation } = {}): Promise<DiscardResult> {
  const { run, repoRoot } = change;
  assertRunOver(run);
  const dryRun = options.dryRun === true;
  const result: DiscardResult = { runId: run.id, dryRun };
  if (!change.branch) throw new CorralError("E_RUN_NO_BRANCH", `Run ${run.id} has no branch to discard (it worked in place, on your checkout).`, { hint: "Undo its commits with git (git log shows them)." });
  const standing = await branchStanding(repoRoot, change.tip, change.baseBranch);
  const unmerged = standing.contentMerged ? 0 : standing.unmerged;
  if (unmerged > 0 && !options.force) {
    throw new CorralError("E_BRANCH_UNMERGED", `${change.branch} has ${unmerged} commit(s) that ${standing.against} does not have; nothing was removed.`, {
      hint: "`corral merge` takes them, `corral diff` shows them; --force discards them anyway.",
    });
  }
  const worktree = run.workspace && run.workspace !== repoRoot && existsSync(run.workspace) ? run.workspace : undefined;
  const held = (await checkedOutBranches(repoRoot)).get(change.branch);
  if (held && held !== worktree) throw new CorralError("E_MERGE_REFUSED", `${change.branch} is checked out in ${held}; nothing was removed.`, { hint: "Check out another branch there first." });
  if (worktree) {
    if (!options.isolation?.removeWorkspace) {
      throw new CorralError("E_PLUGIN_CAPABILITY", `Run ${run.id} left its worktree ${worktree}, and its isolation (${run.isolation ?? "?"}) cannot remove workspaces.`, { hint: "Remove it by hand (git worktree remove), then run corral discard again." });
    }
    if (!dryRun) await options.isolation.removeWorkspace(repoRoot, worktree, { force: options.force === true, deleteBranch: false });
    result.workspace = { path: worktree, removed: !dryRun };
  }
  if (!dryRun) await deleteBranch(repoRoot, change.branch, change.tip);
  result.branch = { name: change.branch, tip: change.tip, deleted: !dryRun, unmerged };
  return result;
}

/** One branch `cleanBranches` looked at. */
export interface BranchCleanup {
  /** Short name (`corral/fix-login`). */
  branch: string;
  /** The commit it was at. */
  tip: string;
  /** `deleted` (or `would-delete` with dryRun), or `kept`. */
  action: "deleted" | "would-delete" | "kept";
  /** Why. */
  reason: string;
  /** Commits its base lacks (0 for an empty or merged branch). */
  unmerged: number;
  /** The run that made it, when the journal knows it. */
  runId?: string;
}

/**
 * Removes every `corral/*` branch with no commits beyond its base (empty, or merged — also squashed
 * or rebased in), the base being the run's base branch when the journal knows it. A branch with
 * unmerged commits is kept unless `force`; a branch checked out somewhere, or of a run still
 * running, is always kept. `dryRun` changes nothing and reports what would go.
 */
export async function cleanBranches(cwd: string, options: { dryRun?: boolean; force?: boolean } = {}): Promise<BranchCleanup[]> {
  const { root, repoRoot } = await reviewLocation(cwd);
  const runs = await listRuns(root);
  const byBranch = new Map<string, JournalRun>();
  for (const run of [...runs].reverse()) if (run.branch) byBranch.set(run.branch, run); // the newest run of a branch wins
  const held = await checkedOutBranches(repoRoot);
  const refs = (await git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/corral/"], { cwd: repoRoot })).stdout.split("\n").filter(Boolean);
  const report: BranchCleanup[] = [];
  for (const line of refs) {
    const space = line.indexOf(" ");
    const tip = line.slice(0, space);
    const branch = line.slice(space + 1 + "refs/heads/".length);
    const run = byBranch.get(branch);
    const entry = { branch, tip, ...(run ? { runId: run.id } : {}) };
    if (!(await isBranchName(repoRoot, branch))) continue;
    if (run && (run.state === "running" || run.state === "created")) {
      report.push({ ...entry, action: "kept", reason: `its run ${run.id} is still running`, unmerged: 0 });
      continue;
    }
    if (held.has(branch)) {
      report.push({ ...entry, action: "kept", reason: `checked out in ${held.get(branch)}`, unmerged: 0 });
      continue;
    }
    const baseBranch = run?.baseBranch && (await isBranchName(repoRoot, run.baseBranch)) ? run.baseBranch : undefined;
    const standing = await branchStanding(repoRoot, tip, baseBranch);
    const empty = standing.unmerged === 0 && run?.baseCommit === tip;
    const reason =
      standing.unmerged === 0
        ? empty ? "no commits beyond its base" : `merged into ${standing.against}`
        : standing.contentMerged
          ? `its changes are in ${standing.against} already (squashed or rebased)`
          : `${standing.unmerged} commit(s) ${standing.against} does not have${options.force ? " (--force)" : ""}`;
    const deletable = standing.unmerged === 0 || standing.contentMerged || options.force === true;
    if (!deletable) {
      report.push({ ...entry, action: "kept", reason, unmerged: standing.unmerged });
      continue;
    }
    if (!options.dryRun) await deleteBranch(repoRoot, branch, tip);
    report.push({ ...entry, action: options.dryRun ? "would-delete" : "deleted", reason, unmerged: standing.contentMerged ? 0 : standing.unmerged });
  }
  return report;
}
