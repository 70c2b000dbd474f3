import { CorralError } from "./errors.js";
import { git, gitMessage } from "./git.js";

/**
 * How a run's work is taken into a branch: `merge` (a fast-forward when it can, else a merge
 * commit), `squash` (one new commit), `rebase` (the run's commits replayed on the target),
 * `ff-only` (a fast-forward or nothing).
 */
export type MergeStrategy = "merge" | "squash" | "rebase" | "ff-only";

/** The commit a target branch should move to, computed without touching any checkout. */
export interface ComputedMerge {
  /** What the target should point at: `from` itself (a fast-forward) or a new commit. */
  commit: string;
  /** True when `commit` is `from` itself: the target only moves forward. */
  fastForward: boolean;
}

/**
 * Computes, in the object store only, the commit a branch at `into` should move to so that it
 * holds `from`'s work: `undefined` when it does already. No checkout, index or ref is touched, so
 * a conflict changes nothing; moving the branch (a compare-and-swap, or `merge --ff-only` in the
 * checkout that has it) is the caller's. `names` say what `from` and `into` are, for messages; `message` is the merge or squash commit's message; a
 * rebase keeps each commit's own message and author.
 *
 * Throws `E_MERGE_CONFLICT` (with `files`), `E_MERGE_REFUSED` (`ff-only` when the histories
 * diverged, `rebase` over merge commits), or `E_GIT`. Runs the one safe host-side git in `repoRoot`,
 * the user's checkout: never in a run's worktree or git dir.
 */
export async function computeMerge(repoRoot: string, into: string, from: string, options: { strategy: MergeStrategy; message: string; names: { from: string; into: string } }): Promise<ComputedMerge | undefined> {
  const { strategy } = options;
  const { from: fromName, into: intoName } = options.names;
  const isAncestor = async (a: string, b: string) => (await git(["merge-base", "--is-ancestor", a, b], { cwd: repoRoot, allowFailure: true })).exitCode === 0;
  if (await isAncestor(from, into)) return undefined;
  if (strategy !== "squash" && (await isAncestor(into, from))) return { commit: from, fastForward: true };
  if (strategy === "ff-only") {
    throw new CorralError("E_MERGE_REFUSED", `${intoName} has commits ${fromName} does not: it cannot be fast-forwarded; nothing was changed.`, { hint: "Merge it, or replay it on top (rebase)." });
  }
  if (strategy === "rebase") return { commit: await replay(repoRoot, into, from, fromName), fastForward: false };
  const tree = await mergedTree(repoRoot, into, from, `${fromName} into ${intoName}`);
  return { commit: await commitTree(repoRoot, tree, strategy === "squash" ? [into] : [into, from], options.message), fastForward: false };
}

/** The merged tree of two commits, or `E_MERGE_CONFLICT` naming the files. */
async function mergedTree(repoRoot: string, ours: string, theirs: string, what: string): Promise<string> {
  const r = await git(["merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs], { cwd: repoRoot, allowFailure: true });
  if (r.exitCode === 1) {
    const files = [...new Set(r.stdout.split("\n").slice(1).filter(Boolean))];
    throw Object.assign(
      new CorralError("E_MERGE_CONFLICT", `Merging ${what} would conflict in ${files.length} file(s): ${files.slice(0, 10).join(", ")}${files.length > 10 ? ", …" : ""}. Nothing was changed.`, {
        hint: "Resolve it by hand (git merge in your checkout), or replay the run on a newer base.",
      }),
      { files },
    );
  }
  if (r.exitCode !== 0) throw new CorralError("E_GIT", `git merge-tree failed: ${gitMessage(r.stderr)}`);
  return r.stdout.split("\n")[0]!.trim();
}

async function commitTree(repoRoot: string, tree: string, parents: string[], message: string, env?: Record<string, string>): Promise<string> {
  const r = await git(["commit-tree", tree, ...parents.flatMap((p) => ["-p", p]), "-F", "-"], { cwd: repoRoot, input: message, allowFailure: true, ...(env ? { env } : {}) });
  if (r.exitCode !== 0) throw new CorralError("E_GIT", `git commit-tree failed: ${gitMessage(r.stderr)}`, { hint: "Set your identity (git config user.name / user.email) if git asks for it." });
  return r.stdout.trim();
}

/**
 * `from`'s commits (those `into` lacks) replayed one by one on `into`, as `git rebase` would,
 * without a checkout: each is a three-way merge of its change (its parent to it) into the new tip.
 * Authors and messages are kept.
 */
async function replay(repoRoot: string, into: string, from: string, what: string): Promise<string> {
  const rows = (await git(["rev-list", "--reverse", "--parents", `${into}..${from}`], { cwd: repoRoot })).stdout.split("\n").filter(Boolean).map((row) => row.split(" "));
  if (rows.some((row) => row.length !== 2)) {
    throw new CorralError("E_MERGE_REFUSED", `${what} has merge commits: it cannot be replayed as it is; nothing was changed.`, { hint: "Merge it or squash it instead." });
  }
  let tip = into;
  for (const [sha, parent] of rows as [string, string][]) {
    // git 2.39's merge-tree has no --merge-base: a stand-in commit (the new tip's tree on the commit's parent) makes the parent the base.
    const standIn = await commitTree(repoRoot, `${tip}^{tree}`, [parent], "corral replay\n");
    const tree = await mergedTree(repoRoot, standIn, sha, `${sha.slice(0, 12)} onto ${tip.slice(0, 12)}`);
    const raw = (await git(["cat-file", "commit", sha], { cwd: repoRoot })).stdout;
    const author = /^author (.*) <(.*)> (\d+ [+-]\d{4})$/m.exec(raw.slice(0, raw.indexOf("\n\n")));
    const env = author ? { GIT_AUTHOR_NAME: author[1]!, GIT_AUTHOR_EMAIL: author[2]!, GIT_AUTHOR_DATE: author[3]! } : undefined;
    tip = await commitTree(repoRoot, tree, [tip], raw.slice(raw.indexOf("\n\n") + 2), env);
  }
  return tip;
}

