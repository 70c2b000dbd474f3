import { lstat, rename, rm, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { z } from "zod";
import { IsolationError } from "../errors.js";
import { git } from "../git.js";
import type { Commit, Isolation, ReleaseResult, Workspace } from "../isolation.js";
import { defineIsolation } from "../plugin.js";
import { EMPTY_TREE, Quarantine, swapRef } from "../quarantine.js";
import { borrowedObjectMounts, createRunGitDir, SHARED_OBJECTS } from "../run-git-dir.js";
import type { GitMount } from "../sandbox.js";
import { CORE_VERSION } from "../version.js";


/** The config files `corral run` looks for in a folder, in this order. */
export const CORRAL_CONFIG_FILES = ["corral.config.ts", "corral.config.mts", "corral.config.js", "corral.config.mjs", "corral.config.json"] as const;

/** What the in-place isolation keeps in `Workspace.meta`. */
interface InPlaceMeta {
  inPlace: true;
  /** The checkout's own git dir (`.git`, or a linked worktree's admin dir) and the shared one. */
  gitDir: string;
  commonDir: string;
  /** The run's private git dir. */
  runGitDir: string;
  objectFormat: "sha1" | "sha256";
  /** What HEAD was: a branch (its tip, or unborn) or a detached commit. */
  head: { branch: string; commit?: string } | { detached: string };
  /** corral config paths that did not exist before the run (they must not exist after it). */
  absentConfig: string[];
}

/** A run outside any sandbox works on the checkout as it is: there is nothing to bring back. */
type PlainMeta = { inPlace: true; plain: true };

/**
 * The `in-place` isolation: the run works in the current checkout, on whatever is checked out.
 * No branch is made and nothing is removed afterwards. In a git checkout the agent gets a git dir
 * of its own in place of `.git` (it borrows the objects read-only), so it can commit but cannot
 * touch the user's objects, refs, config, hooks or index; afterwards corral brings the commits
 * back through a verified transfer and fast-forwards the checked-out branch.
 */
export const inPlaceIsolation = defineIsolation({
  name: "in-place",
  version: CORE_VERSION,
  packageName: "@corral/core",
  description: "The current checkout, no new branch",
  options: z.object({}).strict(),
  create: (): Isolation<InPlaceMeta | PlainMeta> => ({
    name: "in-place",
    requiresGit: false,
    async acquire({ cwd, runId, sandboxed = true }) {
      const info = await stat(cwd).catch(() => undefined);
      if (!info?.isDirectory()) {
        throw new IsolationError(`The folder ${cwd} does not exist.`, { code: "E_NO_SUCH_FOLDER", hint: "Pass an existing folder with --cwd." });
      }
      const probe = await git(["rev-parse", "--path-format=absolute", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"], { cwd, allowFailure: true });
      if (probe.exitCode !== 0) return { path: cwd, cwd, gitMounts: [] };
      const [top, gitDir, commonDir] = probe.stdout.split("\n").map((line) => line.trim()) as [string, string, string];
      const head = await checkedOut(top);
      const base = "detached" in head ? head.detached : head.commit;
      const describe = (workspace: Workspace<InPlaceMeta | PlainMeta>): Workspace<InPlaceMeta | PlainMeta> => {
        if (base) workspace.baseCommit = base;
        if ("branch" in head) workspace.branch = workspace.baseBranch = head.branch;
        return workspace;
      };
      // The agent sees the host as it is: it works in the real .git, and the commits are read from there.
      if (!sandboxed) return describe({ path: top, cwd, repoRoot: top, gitMounts: [], meta: { inPlace: true, plain: true } });
      const runGitDir = join(commonDir, "corral", "gitdirs", runId.replace(/[^A-Za-z0-9_.-]/g, "_"));
      const dotGit = join(top, ".git");
      const dotGitIsDir = (await lstat(dotGit)).isDirectory();
      // Inside the sandbox the run's git dir stands where `.git` leads: over `.git` itself in a main
      // checkout (a mount point, so it cannot be renamed or replaced), over the admin dir in a linked
      // worktree (whose `.git` file is pinned read-only). The user's objects are shown read-only inside it.
      const gitDirInSandbox = dotGitIsDir ? dotGit : gitDir;
      const modules = join(commonDir, "modules");
      const hasModules = dotGitIsDir && !!(await stat(modules).catch(() => undefined))?.isDirectory();
      const { objectFormat } = await createRunGitDir({
        path: runGitDir,
        repo: top,
        sourceGitDir: gitDir,
        commonDir,
        alternates: [join(gitDirInSandbox, SHARED_OBJECTS)],
        head: "detached" in head ? head : { branch: head.branch, ...(head.commit ? { commit: head.commit } : {}) },
        mountTargets: [SHARED_OBJECTS, ...(hasModules ? ["modules"] : [])],
        hideRefs: ["refs/heads/corral/"],
      });
      const configGuard = await guardConfig(top, cwd);
      const gitMounts: GitMount[] = [
        ...(dotGitIsDir ? [] : [{ host: dotGit, sandbox: dotGit, readonly: true }]),
        { host: runGitDir, sandbox: gitDirInSandbox, readonly: false },
        ...(await borrowedObjectMounts(commonDir, join(gitDirInSandbox, SHARED_OBJECTS))),
        // Submodules' git dirs live in .git/modules: visible (read-only) where their `.git` files point.
        ...(hasModules ? [{ host: modules, sandbox: join(gitDirInSandbox, "modules"), readonly: true }] : []),
        ...configGuard.present.map((path) => ({ host: path, sandbox: path, readonly: true })),
      ];
      const meta: InPlaceMeta = { inPlace: true, gitDir, commonDir, runGitDir, objectFormat, head, absentConfig: configGuard.absent };
      return describe({ path: top, cwd, repoRoot: top, gitMounts, meta });
    },
    release: (workspace) => releaseInPlace(workspace),
  }),
});

/** What is checked out in `top`: a branch (with its tip, or unborn) or a detached commit. */
async function checkedOut(top: string): Promise<InPlaceMeta["head"]> {
  const commit = await git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], { cwd: top, allowFailure: true });
  const branch = await git(["symbolic-ref", "--short", "-q", "HEAD"], { cwd: top, allowFailure: true });
  if (branch.exitCode === 0) return { branch: branch.stdout.trim(), ...(commit.exitCode === 0 ? { commit: commit.stdout.trim() } : {}) };
  return { detached: commit.stdout.trim() };
}

/**
 * corral's own config in the checkout must not change: the user's next `corral run` would load it
 * (a `.ts` config runs code). The existing files are mounted read-only; the names that do not exist
 * yet, in every folder from the checkout root to the run's cwd, are checked after the run.
 */
async function guardConfig(top: string, cwd: string): Promise<{ present: string[]; absent: string[] }> {
  const folders = [top];
  const rel = relative(top, cwd);
  if (rel && !rel.startsWith("..")) {
    let dir = top;
    for (const part of rel.split(sep)) folders.push((dir = join(dir, part)));
  }
  const candidates = [join(top, ".corral"), ...folders.flatMap((folder) => CORRAL_CONFIG_FILES.map((name) => join(folder, name)))];
  const present: string[] = [];
  const absent: string[] = [];
  for (const path of candidates) {
    const info = await lstat(path).catch(() => undefined);
    if (!info) absent.push(path);
    else if (!info.isSymbolicLink()) present.push(path);
  }
  return { present, absent };
}

/** The meta of a workspace this isolation made (a caller may hand release any workspace: it is checked). */
function metaOf(workspace: Workspace<InPlaceMeta | PlainMeta>): InPlaceMeta | PlainMeta | undefined {
  const meta = workspace.meta;
  if (meta && "plain" in meta && meta.plain) return meta;
  return meta?.inPlace ? meta : undefined;
}

/**
 * After the run (the sandbox is closed): brings the run's commits on the checked-out branch back
 * through the quarantine, fast-forwards the branch (compare-and-swap), moves the index along, and
 * checks that no corral config appeared. Anything else is a problem the run reports.
 */
async function releaseInPlace(workspace: Workspace<InPlaceMeta | PlainMeta>): Promise<ReleaseResult> {
  const kept = { removed: false, keptReason: "in-place runs work in your checkout" } as const;
  const meta = metaOf(workspace);
  if (!meta) return { ...kept, commits: [] };
  if ("plain" in meta) return { ...kept, commits: await commitsSince(workspace.path, workspace.baseCommit, workspace.branch ? `refs/heads/${workspace.branch}` : "HEAD") };
  const problems: string[] = [];
  const notes: string[] = [];
  for (const path of meta.absentConfig) {
    if (!(await lstat(path).catch(() => undefined))) continue;
    const aside = `${path}.rejected-${Date.now()}`;
    await rename(path, aside);
    problems.push(`The run created ${path}, which corral would load on its next run; it was moved to ${aside}.`);
  }
  const top = workspace.path;
  const base = workspace.baseCommit;
  let commits: Commit[] = [];
  const quarantine = await Quarantine.open({ commonDir: meta.commonDir, runGitDir: meta.runGitDir, objectFormat: meta.objectFormat, name: "in-place" });
  try {
    const runRef = "branch" in meta.head ? `refs/heads/${meta.head.branch}` : undefined;
    const read = runRef ? await quarantine.readRunRef(runRef) : await detachedTip(quarantine);
    const tip = "sha" in read ? read.sha : undefined;
    if ("problem" in read) problems.push(`The run's ${runRef ?? "HEAD"} could not be read (${read.problem}); its commits were not brought back.`);
    if (tip && tip !== base) {
      const incoming = `refs/corral/incoming/${quarantine.path.split("/").pop()}`;
      const moved = await bringBack(quarantine, { top, meta, tip, base, incoming });
      if (moved.problem) problems.push(moved.problem);
      else {
        commits = await commitsSince(top, base, tip);
        const index = await git(["read-tree", "-m", base ?? EMPTY_TREE[meta.objectFormat], tip], { cwd: top, allowFailure: true, env: { GIT_DIR: meta.gitDir } });
        if (index.exitCode !== 0) notes.push(`Your index still shows the state before the run (${index.stderr.trim().split("\n")[0]}); \`git reset\` brings it up to date.`);
      }
    }
  } finally {
    await quarantine.dispose();
    await rm(meta.runGitDir, { recursive: true, force: true });
  }
  return { ...kept, commits, ...(notes.length ? { notes } : {}), ...(problems.length ? { problems } : {}) };
}

/** A detached run: its tip is its HEAD, when HEAD still is a commit id. */
async function detachedTip(quarantine: Quarantine): Promise<{ sha: string } | { problem: string } | { missing: true }> {
  const head = await quarantine.readRunHead();
  if ("detached" in head) return { sha: head.detached };
  if ("branch" in head) return { problem: `HEAD was moved onto the branch ${head.branch}` };
  return head;
}

/** The fetch and the fast-forward: only a descendant of the base moves the user's branch (or HEAD). */
async function bringBack(quarantine: Quarantine, options: { top: string; meta: InPlaceMeta; tip: string; base: string | undefined; incoming: string }): Promise<{ problem?: string }> {
  const { top, meta, tip, base, incoming } = options;
  const transferred = await quarantine.transfer(top, tip, incoming);
  if (!transferred.ok) return { problem: `The run's commits did not pass verification, so nothing was brought back: ${transferred.reason}` };
  if (base && (await git(["merge-base", "--is-ancestor", base, tip], { cwd: top, allowFailure: true })).exitCode !== 0) {
    const kept = `refs/corral/rejected/${quarantine.path.split("/").pop()}`;
    await git(["update-ref", kept, tip], { cwd: top, allowFailure: true });
    await git(["update-ref", "-d", incoming], { cwd: top, allowFailure: true });
    return { problem: `The run rewrote history it did not make (${tip.slice(0, 12)} does not descend from ${base.slice(0, 12)}), so your checkout was not moved; its commits are kept at ${kept} (\`git log ${kept}\`).` };
  }
  const ref = "branch" in meta.head ? `refs/heads/${meta.head.branch}` : "HEAD";
  const swapped = await swapRef(top, ref, tip, base, { incomingRef: incoming, message: "corral: in-place run" });
  if (!swapped.ok) {
    await git(["update-ref", "-d", incoming], { cwd: top, allowFailure: true });
    return { problem: `${ref} moved while the run worked, so the run's commits were not applied (${swapped.reason}).` };
  }
  return {};
}


const FIELD = "\x1f";
const RECORD = "\x1e";

/**
 * Commits reachable from `head` but not from `base`, oldest first, with the files each changed.
 * Read from the user's repository (after the run's commits were brought back and verified).
 * Shared by every git-based isolation.
 */
export async function commitsSince(cwd: string, base: string | undefined, head = "HEAD"): Promise<Commit[]> {
  const range = base ? [`${base}..${head}`] : [head];
  const log = await git(["log", "--reverse", "--no-color", "--no-show-signature", "--name-only", `--format=${RECORD}%H${FIELD}%s${FIELD}%an <%ae>${FIELD}%aI${FIELD}`, ...range, "--"], {
    cwd,
    allowFailure: true,
  });
  if (log.exitCode !== 0) return [];
  return log.stdout
    .split(RECORD)
    .filter((chunk) => chunk.trim())
    .map((chunk) => {
      const [sha = "", subject = "", author = "", time = "", rest = ""] = chunk.split(FIELD);
      return { sha, subject, author, time, files: rest.split("\n").map((f) => f.trim()).filter(Boolean) };
    });
}
