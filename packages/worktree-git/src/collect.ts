import { lstat, readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { type Commit, type ReleaseFailure, type Workspace } from "@corral/core";
import { commitsSince, git, gitIdentity, Quarantine, swapRef, type ReflogEntry } from "@corral/core/plugin-kit";
import type { WorktreeOptions } from "./options.js";
import type { WorktreeMeta } from "./workspace.js";

/** What came back from a run's worktree, before release decides what to do with the folder. */
export interface Collected {
  /** Where the run's branch (or detached HEAD) now is in the user's repository; the base when nothing came back. */
  tip: string;
  /** Paths whose content differs from `tip`: work the run did not commit. */
  dirty: string[];
  /** Nested repositories in the work tree (their history exists only in their own `.git`). */
  nested: string[];
  /** Set when `uncommitted: "commit"` saved the dirty paths as a WIP commit (now `tip`). */
  wip?: { sha: string; files: number };
  /** Problems that kept work from coming back (a bad ref, forged objects, a moved branch). */
  problems: string[];
  /** Commits the run made that are not on its branch (refused, or dropped by its own reset), each kept under a ref; a branch moved behind its base. */
  failures: ReleaseFailure[];
  /** The commits on the run's branch since its base (`commitsSince`), asked once the branch was final; undefined without a branch or unless asked for. */
  commits?: Promise<Commit[]>;
  /** corral's index for the work tree at `tip` (fresh stat data): installed when the worktree stays. */
  installIndex(): Promise<void>;
  dispose(): Promise<void>;
}

const WIP_AUTHOR = { name: "corral", email: "corral@localhost" };

/** A promise started ahead of its turn: marked handled, so one that fails before it is awaited is not an unhandled rejection. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Brings a run's work back from its worktree, after the sandbox is closed. The run's ref is read
 * from its own git dir as data, its commits cross into the user's repository through a quarantine
 * (objects re-hashed, see core's quarantine.ts), the work tree is read into a tree object with no
 * filter or driver able to run, and the user's branch moves only by compare-and-swap from where the
 * run started. Without a run git dir (the host sandbox) the branch is read where the agent wrote it.
 */
export async function collect(options: WorktreeOptions, workspace: Workspace, meta: WorktreeMeta, { readWorkTree = true, listCommits = false } = {}): Promise<Collected> {
  const base = workspace.baseCommit!;
  const branch = workspace.branch;
  const problems: string[] = [];
  // Without a run git dir the branch is read in the user's repository: asked while the quarantine is made.
  const hostTip = meta.runGitDir ? undefined : handled(hostRunTip(workspace, meta));
  const quarantine = await Quarantine.open({ commonDir: meta.commonDir, ...(meta.runGitDir ? { runGitDir: meta.runGitDir } : {}), objectFormat: meta.objectFormat, name: meta.slug });
  // The work tree's snapshot does not depend on where the run left its branch: read meanwhile, taken in its turn.
  const snapshotRead = readWorkTree ? handled(quarantine.snapshot(workspace.path, join(meta.gitDir, "index"))) : undefined;
  const incoming = `refs/corral/incoming/${quarantine.path.split("/").pop()}`;
  let fetched = false;
  const bringBack = async (commit: string): Promise<string | undefined> => {
    fetched = true;
    const transferred = await quarantine.transfer(meta.root, commit, incoming);
    return transferred.ok ? undefined : `The run's commits did not pass verification, so they were not brought back: ${transferred.reason}`;
  };
  try {
    // Where the user's ref is now: the base (the agent wrote only its own git dir), or, without a
    // run git dir, wherever the agent moved it.
    const from = hostTip ? await hostTip : base;
    let tip = meta.runGitDir ? await runTip(quarantine, workspace, meta, problems) : from;
    // The agent's commits cross first: a failed transfer leaves the branch at the base, and the work
    // tree (which still holds the changes) then counts as uncommitted, so it is kept, not lost.
    if (tip !== from) {
      const failed = await bringBack(tip);
      if (failed) {
        problems.push(failed);
        tip = from;
      }
    }
    const firstTip = tip;
    const [tipTree, baseTree] = await quarantine.treesOf([tip, base]);
    const snapshot = snapshotRead ? await snapshotRead : { tree: tipTree!, index: undefined, unreadable: [] };
    let dirty = [...(snapshot.tree === tipTree ? [] : await quarantine.changedPaths(tipTree!, snapshot.tree)), ...snapshot.unreadable];
    // Repositories nested in the work tree show as gitlinks among what changed since the base. Asked
    // now; awaited before anything is written (so its error still comes first), or, when nothing is
    // written before the lost-commit checks, beside them.
    const nestedRead = readWorkTree && snapshot.tree !== baseTree ? handled(nestedRepositories(quarantine, workspace.path, baseTree!, snapshot.tree)) : undefined;
    const writesAhead = fetched || tip !== from || (dirty.length > 0 && !snapshot.unreadable.length && options.uncommitted === "commit" && branch !== undefined);
    const nestedEarly = writesAhead ? ((await nestedRead) ?? []) : undefined;
    let wip: Collected["wip"];
    if (dirty.length && !snapshot.unreadable.length && options.uncommitted === "commit" && branch) {
      const made = await commitSnapshot(quarantine, meta, snapshot.tree, tip);
      const failed = await bringBack(made);
      if (failed) problems.push(`The uncommitted changes could not be saved as a WIP commit: ${failed}`);
      else {
        wip = { sha: made, files: dirty.length };
        tip = made;
        dirty = [];
      }
    }
    if (tip !== from && meta.runGitDir && !(await quarantine.landed(meta.root, tip, base))) {
      // A `gc --prune=now` beside the release took what the fetch wrote: the run's git dir still has it.
      await git(["update-ref", "-d", incoming], { cwd: meta.root, allowFailure: true });
      const failed = await bringBack(tip);
      if (failed || !(await quarantine.landed(meta.root, tip, base))) {
        problems.push(`The run's commits were removed from your repository while they were brought back (a \`git gc --prune=now\` beside the run?), so they were not put on ${branch ?? "its HEAD"}${failed ? `: ${failed}` : ""}.`);
        tip = from;
      }
    }
    if (tip !== from && branch) {
      const swapped = await swapRef(meta.root, `refs/heads/${branch}`, tip, from, { incomingRef: incoming, message: `corral: run ${meta.runId}` });
      if (swapped.ok) fetched = false; // the transaction dropped the incoming ref
      else {
        problems.push(`The branch ${branch} moved while the run worked, so the run's commits were not put on it (${swapped.reason}); they are kept at ${await keepAside(meta, incoming)}.`);
        tip = from;
      }
    } else if (tip !== from) {
      // A detached run: its HEAD, in corral's admin dir, keeps the commits reachable.
      await git(["update-ref", "--no-deref", "HEAD", tip], { cwd: meta.root, env: { GIT_DIR: meta.gitDir, GIT_COMMON_DIR: meta.commonDir } });
    }
    if (fetched) await git(["update-ref", "-d", incoming], { cwd: meta.root, allowFailure: true });
    fetched = false;
    // The branch is final: its commits are listed while the lost ones are looked for (which moves no branch).
    const commits = listCommits && branch ? handled(commitsSince(meta.root, base, `refs/heads/${branch}`)) : undefined;
    const failures = meta.runGitDir || branch ? await lostCommits(quarantine, workspace, meta, tip, problems, nestedRead) : [];
    const nested = nestedEarly ?? (await nestedRead) ?? [];
    // `tip` is the WIP commit, the run's tip or the base here: their trees are known already.
    const known = tip === firstTip ? tipTree : tip === base ? baseTree : undefined;
    const finalTree = wip ? snapshot.tree : (known ?? (await quarantine.treesOf([tip]))[0] ?? tipTree!);
    return {
      tip,
      dirty,
      nested,
      ...(wip ? { wip } : {}),
      problems,
      failures,
      ...(commits ? { commits } : {}),
      async installIndex() {
        if (!snapshot.index) return;
        // From the snapshot (stat data fresh for every file) to `tip`'s tree: unchanged files keep their
        // stat data, so the user's first `git status` there is quick and shows exactly the run's leftovers.
        if (finalTree !== snapshot.tree) await quarantine.git(["read-tree", "-m", snapshot.tree, finalTree], { index: snapshot.index });
        await rename(snapshot.index, join(meta.gitDir, "index"));
      },
      dispose: () => quarantine.dispose(),
    };
  } catch (error) {
    if (fetched) await git(["update-ref", "-d", incoming], { cwd: meta.root, allowFailure: true });
    // Not removed under a snapshot still being written.
    await snapshotRead?.catch(() => {});
    await quarantine.dispose();
    throw error;
  }
}

/**
 * What `collect` would find uncommitted, without bringing anything back (for a dry run): the work
 * tree against where the run left its branch, both read from a quarantine.
 */
export async function previewUncommitted(workspace: Workspace, meta: WorktreeMeta): Promise<string[]> {
  const quarantine = await Quarantine.open({ commonDir: meta.commonDir, ...(meta.runGitDir ? { runGitDir: meta.runGitDir } : {}), objectFormat: meta.objectFormat, name: `${meta.slug}-preview` });
  try {
    const tip = await runTip(quarantine, workspace, meta, []);
    const [tipTree, baseTree] = await quarantine.treesOf([tip, workspace.baseCommit!]);
    const tree = (tipTree ?? baseTree)!;
    const snapshot = await quarantine.snapshot(workspace.path, join(meta.gitDir, "index"));
    return [...(snapshot.tree === tree ? [] : await quarantine.changedPaths(tree, snapshot.tree)), ...snapshot.unreadable];
  } finally {
    await quarantine.dispose();
  }
}

/** Where the run left its branch (or detached HEAD): read from its own git dir as data, or from the user's repository without one. */
async function runTip(quarantine: Quarantine, workspace: Workspace, meta: WorktreeMeta, problems: string[]): Promise<string> {
  const base = workspace.baseCommit!;
  const what = workspace.branch ? `branch ${workspace.branch}` : "HEAD";
  if (!meta.runGitDir) return hostRunTip(workspace, meta);
  const read = workspace.branch ? await quarantine.readRunRef(`refs/heads/${workspace.branch}`) : await quarantine.readRunHead();
  if ("sha" in read) return read.sha;
  if ("detached" in read) return read.detached;
  if ("problem" in read) problems.push(`The run's ${what} could not be read (${read.problem}); its commits were not brought back.`);
  else if ("branch" in read) problems.push(`The run moved HEAD onto the branch ${read.branch}; only a detached HEAD is brought back from a detached run.`);
  else problems.push(`The run deleted its ${what}; nothing was brought back.`);
  return base;
}

/** Without a run git dir: where the agent left its branch (or HEAD) in the user's repository; the base when it is not a commit. */
async function hostRunTip(workspace: Workspace, meta: WorktreeMeta): Promise<string> {
  const ref = workspace.branch ? `refs/heads/${workspace.branch}` : "HEAD";
  const r = await git(["rev-parse", "--verify", "-q", `${ref}^{commit}`], { cwd: meta.root, allowFailure: true, env: { GIT_DIR: meta.gitDir, GIT_COMMON_DIR: meta.commonDir } });
  return r.exitCode === 0 ? r.stdout.trim() : workspace.baseCommit!;
}

/** Gitlinks added or changed since `baseTree` that have a `.git` in the work tree: repositories the agent made there. */
async function nestedRepositories(quarantine: Quarantine, workTree: string, baseTree: string, tree: string): Promise<string[]> {
  // --raw -z: ":<old mode> <new mode> <old> <new> <status>\0<path>\0" per change.
  const fields = (await quarantine.git(["diff-tree", "-r", "-z", "--no-renames", "--raw", baseTree, tree])).stdout.split("\0");
  const gitlinks: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.split(" ")[1] === "160000") gitlinks.push(fields[i + 1]!);
  const found: string[] = [];
  for (const path of gitlinks) if (await lstat(join(workTree, path, ".git")).catch(() => undefined)) found.push(path);
  return found;
}

/** A WIP commit of the work tree's snapshot on top of `parent`, by the user's identity (or corral's). */
async function commitSnapshot(quarantine: Quarantine, meta: WorktreeMeta, tree: string, parent: string): Promise<string> {
  const who = (await gitIdentity(meta.root)) ?? WIP_AUTHOR;
  const env = { GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email };
  const r = await quarantine.git(["commit-tree", tree, "-p", parent, "-F", "-"], { input: `WIP: uncommitted changes left by corral run ${meta.runId}\n`, env });
  return r.stdout.trim();
}

/** Keeps the fetched commits reachable under `refs/corral/kept/…` when they could not go on the branch. */
async function keepAside(meta: WorktreeMeta, incoming: string): Promise<string> {
  const kept = `refs/corral/kept/${meta.runId.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
  const tip = (await git(["rev-parse", incoming], { cwd: meta.root })).stdout.trim();
  await git(["update-ref", kept, tip], { cwd: meta.root });
  return kept;
}

/** Subjects of the commits `git stash` makes: work the agent parked on purpose (and popped, most likely). */
const STASH_SUBJECT = /^(WIP on |index on |untracked files on |On \S+: )/;

/**
 * Commits the run's git made that its branch does not hold: ones its git wrote but never put on a
 * ref (a commit git refused, say because it could not lock the ref), and ones the agent's own
 * reset (or checkout) left behind, found in the run's reflogs, read as data. What an amend or a
 * rebase replaced is not lost. Each lost line of work is brought back through the verifying
 * transfer and kept under `refs/corral/dropped/<run>/<n>`. A branch moved behind its base is said too.
 */
async function lostCommits(quarantine: Quarantine, workspace: Workspace, meta: WorktreeMeta, tip: string, problems: string[], beforeWrites?: Promise<unknown>): Promise<ReleaseFailure[]> {
  const base = workspace.baseCommit!;
  // Without a run git dir (the host sandbox: a trusted run) the agent's git wrote the user's own
  // repository: its branch's reflog there says what it did, and its objects are the user's.
  const logName = meta.runGitDir ? "HEAD" : workspace.branch!;
  // The reflogs, the commits no ref names and whether the branch went behind its base do not depend
  // on each other: asked side by side (each marked handled; the errors are taken in this order).
  const behind = tip === base ? undefined : handled(quarantine.git(["merge-base", "--is-ancestor", tip, base], { allowFailure: true }));
  const headLogRead = handled(meta.runGitDir ? quarantine.readRunReflog("HEAD") : hostReflog(meta, workspace.branch!));
  const branchLogRead = handled(workspace.branch && meta.runGitDir ? quarantine.readRunReflog(`refs/heads/${workspace.branch}`) : Promise.resolve([]));
  const unreferencedRead = handled(meta.runGitDir ? quarantine.agentCommits() : hostUnreferencedCommits(meta, base, tip));
  const headLog = await headLogRead;
  const reflog = [...headLog, ...(await branchLogRead)];
  const superseded = new Set(reflog.filter((e) => /^(commit \(amend\)|rebase)/.test(e.message)).map((e) => e.old));
  const unreferenced = await unreferencedRead;
  // The tip and the base are what `rev-list ... ^tip ^base` takes away: with nothing else, nothing is lost.
  const candidates = [...new Set([...reflog.flatMap((e) => [e.old, e.new]), ...unreferenced])].filter((c) => !superseded.has(c) && !/^0+$/.test(c) && c !== tip && c !== base);
  const failures: ReleaseFailure[] = [];
  if (candidates.length) {
    const listed = await quarantine.git(["rev-list", "--parents", "--ignore-missing", "--stdin"], { input: [...candidates, `^${tip}`, `^${base}`, ""].join("\n"), allowFailure: true });
    const rows = listed.stdout.split("\n").filter(Boolean).map((row) => row.split(" "));
    const lost = new Set(rows.map((row) => row[0]!));
    const parents = new Set(rows.flatMap((row) => row.slice(1)));
    const tips = [...lost].filter((c) => !parents.has(c));
    const subjects = new Map<string, string>();
    if (tips.length) {
      const log = await quarantine.git(["log", "--no-walk=unsorted", "--format=%H %s", "--stdin"], { input: `${tips.join("\n")}\n`, allowFailure: true });
      for (const row of log.stdout.split("\n")) if (row) subjects.set(row.slice(0, row.indexOf(" ")), row.slice(row.indexOf(" ") + 1));
    }
    const run = meta.runId.replace(/[^A-Za-z0-9_.-]/g, "_");
    let n = 0;
    for (const lostTip of tips) {
      const subject = subjects.get(lostTip) ?? "";
      if (STASH_SUBJECT.test(subject)) continue;
      const count = (await quarantine.git(["rev-list", "--count", lostTip, `^${tip}`, `^${base}`], { allowFailure: true })).stdout.trim();
      const ref = `refs/corral/dropped/${run}/${++n}`;
      await beforeWrites;
      const kept = await quarantine.transfer(meta.root, lostTip, ref);
      if (!kept.ok) {
        problems.push(`The run made ${count} commit(s) that are not on its branch, and they did not pass verification, so they were not brought back: ${kept.reason}`);
        continue;
      }
      // The newest HEAD entry that left this commit behind names how it was dropped.
      const index = headLog.findLastIndex((e) => e.old === lostTip && e.new !== lostTip);
      const how =
        index >= 0
          ? `the agent's own git left them behind (${logName}@{${headLog.length - 1 - index}} in the run's reflog: "${headLog[index]!.message}")`
          : "the agent's git wrote them but never put them on a branch (a commit git refused, e.g. it could not lock the ref)";
      failures.push({ code: "E_COMMITS_DROPPED", ref, message: `${count} commit(s) the run made are not on ${workspace.branch ?? "its HEAD"} (the newest: ${lostTip.slice(0, 12)} "${subject}"): ${how}; they are kept at ${ref}.` });
    }
  }
  if (behind && (await behind).exitCode === 0) {
    failures.push({ code: "E_COMMITS_DROPPED", message: `The run moved ${workspace.branch ?? "its HEAD"} behind where it started (${base.slice(0, 12)}${workspace.baseBranch ? `, still on ${workspace.baseBranch}` : ""}) to ${tip.slice(0, 12)}.` });
  }
  return failures;
}

/**
 * Without a run git dir (the host sandbox) a commit git refused (it could not lock the branch) is a
 * loose object in the user's repository that nothing names. Such commits are found among the loose
 * objects written since the workspace was handed out: commits that no ref and no reflog holds (so
 * the user's own commits of the meantime, on any branch, are not taken for the run's), made on the
 * run's own line — on top of the base or of a commit its branch holds, or of another one found here
 * (so another run's, with its own branch, is not taken either).
 */
async function hostUnreferencedCommits(meta: WorktreeMeta, base: string, tip: string): Promise<string[]> {
  if (meta.acquiredAt === undefined) return [];
  const objects = join(meta.commonDir, "objects");
  // Every fan-out folder, and every loose object in it, looked at side by side: one after another, this
  // walk grew with the repository's loose objects (~0.5 s at 240 folders, more than the rest of the run).
  const acquiredAt = meta.acquiredAt;
  const fanouts = (await readdir(objects).catch(() => [] as string[])).filter((fanout) => /^[0-9a-f]{2}$/.test(fanout));
  const perFanout = await Promise.all(
    fanouts.map(async (fanout) => {
      const names = (await readdir(join(objects, fanout), { withFileTypes: true }).catch(() => []))
        .filter((entry) => entry.isFile() && /^[0-9a-f]{38}(?:[0-9a-f]{24})?$/.test(entry.name))
        .map((entry) => entry.name);
      const infos = await Promise.all(names.map((name) => lstat(join(objects, fanout, name)).catch(() => undefined)));
      return names.filter((_, i) => infos[i] !== undefined && infos[i]!.mtimeMs >= acquiredAt).map((name) => fanout + name);
    }),
  );
  const fresh = perFanout.flat();
  if (!fresh.length) return [];
  const types = await git(["cat-file", "--batch-check=%(objectname) %(objecttype)"], { cwd: meta.root, input: `${fresh.join("\n")}\n`, allowFailure: true });
  // The tip and the base are never the run's lost commits (the caller takes them away), and no commit
  // found below can be an ancestor of them: without other fresh commits, git is not asked.
  const commits = new Set(types.stdout.split("\n").filter((row) => row.endsWith(" commit")).map((row) => row.slice(0, row.indexOf(" "))).filter((commit) => commit !== tip && commit !== base));
  if (!commits.size) return [];
  // Oldest first, each with its parents: a parent is taken before its children are looked at.
  const unnamed = await git(["rev-list", "--reverse", "--parents", "--stdin", "--not", "--all", "--reflog"], { cwd: meta.root, input: `${[...commits].join("\n")}\n`, allowFailure: true });
  const isAncestor = async (a: string, b: string) => (await git(["merge-base", "--is-ancestor", a, b], { cwd: meta.root, allowFailure: true })).exitCode === 0;
  const found = new Set<string>();
  for (const [commit, parent] of unnamed.stdout.split("\n").filter(Boolean).map((row) => row.split(" "))) {
    if (!commit || !parent || !commits.has(commit)) continue;
    if (found.has(parent) || ((await isAncestor(base, parent)) && (await isAncestor(parent, tip)))) found.add(commit);
  }
  return [...found];
}

/** The branch's reflog in the user's repository, oldest entry first (each entry's old value is the one before it). */
async function hostReflog(meta: WorktreeMeta, branch: string): Promise<ReflogEntry[]> {
  const r = await git(["reflog", "show", "--format=%H %gs", `refs/heads/${branch}`, "--"], { cwd: meta.root, allowFailure: true });
  const rows = r.stdout.split("\n").filter(Boolean).reverse();
  return rows.slice(1).map((row, i) => ({ old: rows[i]!.slice(0, rows[i]!.indexOf(" ")), new: row.slice(0, row.indexOf(" ")), message: row.slice(row.indexOf(" ") + 1) }));
}
