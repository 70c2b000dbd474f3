import { lstat, mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { git } from "../git.js";
import type { Commit, Isolation, Workspace } from "../isolation.js";
import { defineIsolation } from "../plugin.js";
import { CORE_VERSION } from "../version.js";
import { IsolationError } from "../errors.js";

/**
 * The `in-place` isolation: the run works in the current checkout, on whatever is checked out.
 * No branch is made and nothing is removed afterwards.
 */
export const inPlaceIsolation = defineIsolation({
  name: "in-place",
  version: CORE_VERSION,
  packageName: "@corral/core",
  description: "The current checkout, no new branch",
  options: z.object({}).strict(),
  create: (): Isolation => ({
    name: "in-place",
    requiresGit: false,
    async acquire({ cwd }) {
      const info = await stat(cwd).catch(() => undefined);
      if (!info?.isDirectory()) {
        throw new IsolationError(`The folder ${cwd} does not exist.`, { code: "E_NO_SUCH_FOLDER", hint: "Pass an existing folder with --cwd." });
      }
      const top = await git(["rev-parse", "--show-toplevel"], { cwd, allowFailure: true });
      if (top.exitCode !== 0) return { path: cwd, cwd, gitMounts: { readWrite: [], readOnly: [] } };
      const head = await git(["rev-parse", "--verify", "-q", "HEAD"], { cwd, allowFailure: true });
      const branch = await git(["symbolic-ref", "--short", "-q", "HEAD"], { cwd, allowFailure: true });
      const dotGit = join(top.stdout, ".git");
      if ((await lstat(dotGit).catch(() => undefined))?.isDirectory()) {
        for (const folder of ["hooks", "modules"]) await mkdir(join(dotGit, folder), { recursive: true });
      }
      const workspace: Workspace = {
        path: top.stdout,
        cwd,
        repoRoot: top.stdout,
        // The agent works in the real .git, so what makes git run code or look elsewhere stays read-only
        // (hooks/ and modules/ are made if missing, so a sandbox has folders to protect).
        gitMounts: { readWrite: [], readOnly: await existing(PROTECTED_IN_GIT_DIR.map((name) => join(top.stdout, ".git", name))) },
      };
      if (head.exitCode === 0) workspace.baseCommit = head.stdout;
      if (branch.exitCode === 0) workspace.branch = workspace.baseBranch = branch.stdout;
      return workspace;
    },
    // Planted redirects go before host-side git reads the repository, so they are never followed.
    async commits(workspace) {
      await removeRedirects(workspace);
      return commitsSince(workspace.path, workspace.baseCommit);
    },
    async release(workspace) {
      const notes = await removeRedirects(workspace);
      return { removed: false, keptReason: "in-place runs work in your checkout", ...(notes.length ? { notes } : {}) };
    },
  }),
});

/** Inside a checkout's .git: what runs code (config, hooks, submodules' configs) or changes what git reads (info). */
const PROTECTED_IN_GIT_DIR = ["config", "hooks", "info", "modules"];
/** Files that repoint a .git and never belong in a main checkout's .git. */
const REDIRECTS = ["commondir", "gitdir", "config.worktree"];

/**
 * Files that would repoint the repository (a sandbox can create them, though not change config or
 * hooks) are never part of a main checkout's .git: removes any the run planted, and says so. The
 * notes are kept on the workspace, so release reports them even when commits() removed the files.
 */
async function removeRedirects(workspace: Workspace): Promise<string[]> {
  const meta = (workspace.meta ??= {}) as { redirectNotes?: string[] };
  const notes = (meta.redirectNotes ??= []);
  for (const name of REDIRECTS) {
    const path = join(workspace.path, ".git", name);
    if (await lstat(path).catch(() => undefined)) {
      await rm(path, { recursive: true, force: true });
      notes.push(`Removed ${path}: a run must not repoint the repository.`);
    }
  }
  return notes;
}

async function existing(paths: string[]): Promise<string[]> {
  const found = await Promise.all(paths.map(async (path) => ((await lstat(path).catch(() => undefined)) ? path : undefined)));
  return found.filter((path): path is string => path !== undefined);
}

const FIELD = "\x1f";
const RECORD = "\x1e";

/**
 * Commits reachable from HEAD but not from `base`, oldest first, with the files each changed.
 * Shared by every git-based isolation.
 */
export async function commitsSince(cwd: string, base: string | undefined, head = "HEAD"): Promise<Commit[]> {
  if (!base) return [];
  const log = await git(
    ["log", "--reverse", "--no-color", "--name-only", `--format=${RECORD}%H${FIELD}%s${FIELD}%an <%ae>${FIELD}%aI${FIELD}`, `${base}..${head}`],
    { cwd, allowFailure: true },
  );
  if (log.exitCode !== 0) return [];
  return log.stdout
    .split(RECORD)
    .filter((chunk) => chunk.trim())
    .map((chunk) => {
      const [sha = "", subject = "", author = "", time = "", rest = ""] = chunk.split(FIELD);
      return { sha, subject, author, time, files: rest.split("\n").map((f) => f.trim()).filter(Boolean) };
    });
}
