import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { git } from "@corral/core/plugin-kit";

/** Where the journal of runs started in `cwd` lives, and whether that is a git repository. */
export interface JournalLocation {
  /** `<repository root>/.corral/runs`, or `<cwd>/.corral/runs` outside git. */
  root: string;
  /** The main checkout (not a worktree of it), when `cwd` is inside git. */
  repoRoot?: string;
  /** The shared git dir, when inside git (its `info/exclude` gets `/.corral/runs/`). */
  commonDir?: string;
}

/** What one git call says of a folder: whether it is inside a work tree, and where its journal goes. */
export interface GitProbe {
  /** `git rev-parse --is-inside-work-tree` said true (false outside git, in a git dir, in a bare repository). */
  insideWorkTree: boolean;
  location: JournalLocation;
}

/**
 * Asks git once what a run's setup needs of `cwd`: whether it is inside a work tree (the default
 * isolation) and where the journal goes. It never throws: outside git, both say so.
 */
export async function probeGit(cwd: string): Promise<GitProbe> {
  const dir = resolve(cwd);
  const r = await git(["rev-parse", "--path-format=absolute", "--is-inside-work-tree", "--git-common-dir", "--show-toplevel"], { cwd: dir, allowFailure: true }).catch(() => undefined);
  // In a git dir or a bare repository git says "false" and then fails on --show-toplevel.
  const [inside, commonDir, toplevel] = r?.exitCode === 0 ? r.stdout.split("\n") : [];
  const insideWorkTree = inside === "true";
  if (!commonDir || !toplevel) return { insideWorkTree, location: { root: join(dir, ".corral", "runs") } };
  // A normal repository's common dir is `<root>/.git`; otherwise (bare-ish layouts) use the checkout.
  const repoRoot = basename(commonDir) === ".git" ? dirname(commonDir) : toplevel;
  return { insideWorkTree, location: { root: join(repoRoot, ".corral", "runs"), repoRoot, commonDir } };
}

/**
 * Finds the journal for `cwd`: runs started anywhere in a repository, or in one of its worktrees,
 * share the main checkout's `.corral/runs`.
 */
export async function journalLocation(cwd: string): Promise<JournalLocation> {
  return (await probeGit(cwd)).location;
}

/**
 * Adds `/.corral/runs/` to the repository's `info/exclude` (once), so the journal never shows as
 * untracked and an agent's `git add -A` never commits it. Only the journal: the rest of `.corral/`
 * (the prompt `corral init` writes) is the user's to commit.
 */
export function excludeCorralFolder(commonDir: string): void {
  const file = join(commonDir, "info", "exclude");
  let current = "";
  try {
    current = readFileSync(file, "utf8");
  } catch {
    mkdirSync(dirname(file), { recursive: true });
  }
  if (current.split("\n").some((line) => ["/.corral/", ".corral/", "/.corral/runs/", ".corral/runs/"].includes(line.trim()))) return;
  appendFileSync(file, `${current && !current.endsWith("\n") ? "\n" : ""}/.corral/runs/\n`);
}
