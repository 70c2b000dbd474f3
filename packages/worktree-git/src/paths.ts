import { appendFile, lstat, mkdir, readFile, realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, sep } from "node:path";
import { baseWriteError, UnsafePathError } from "./errors.js";
import { inside, type Repo } from "./repo.js";

/**
 * The canonical base folder for worktrees, created if needed. A relative `baseDir` must stay inside
 * the repository once every symlink is resolved; this is checked on the deepest folder that exists
 * BEFORE anything is created, so a symlink pointing outside never gets a folder made through it.
 * An absolute `baseDir` is the user's explicit choice and is its own allowed root.
 */
export async function prepareBaseDir(repo: Repo, baseDir: string): Promise<string> {
  const target = isAbsolute(baseDir) ? baseDir : join(repo.root, baseDir);
  const allowedRoot = isAbsolute(baseDir) ? undefined : repo.root;
  const missing: string[] = [];
  let existing = target;
  for (;;) {
    const info = await lstat(existing).catch(() => undefined);
    if (info) break;
    missing.unshift(basename(existing));
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  let real = await realpath(existing);
  check(real, allowedRoot, baseDir);
  for (const part of missing) {
    const next = join(real, part);
    await mkdir(next).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw baseWriteError(real, error);
    });
    real = await realpath(next); // a symlink raced in: resolved here, then checked
    check(real, allowedRoot, baseDir);
  }
  const info = await lstat(real);
  if (!info.isDirectory()) throw new UnsafePathError(`The worktree base folder ${target} is not a folder.`);
  return real;
}

function check(real: string, allowedRoot: string | undefined, baseDir: string): void {
  if (allowedRoot !== undefined && inside(allowedRoot, real) === undefined) {
    throw new UnsafePathError(`The worktree base folder "${baseDir}" resolves to ${real}, outside the repository ${allowedRoot}.`, {
      hint: "Remove the symlink or pick a base folder inside the repository; pass an absolute baseDir to put worktrees elsewhere on purpose.",
    });
  }
}

/**
 * Reserves `<base>/<slug>` by creating it (atomic: exactly one caller wins). Returns false when taken.
 * The result is verified in canonical form to be a direct child of the canonical base.
 */
export async function reserveFolder(base: string, slug: string): Promise<string | undefined> {
  const path = join(base, slug);
  if (dirname(path) !== base || slug.includes(sep)) throw new UnsafePathError(`The worktree name "${slug}" is not a single folder name.`);
  try {
    await mkdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw baseWriteError(base, error);
  }
  if ((await realpath(path)) !== path) throw new UnsafePathError(`The worktree folder ${path} does not resolve to itself.`);
  return path;
}

const excludeQueue = new Map<string, Promise<void>>();

/** Adds `patterns` to the repository's `info/exclude` (once), so corral's folders never show as untracked. */
export async function ensureExcluded(repo: Repo, patterns: string[]): Promise<void> {
  const file = join(repo.commonDir, "info", "exclude");
  const previous = excludeQueue.get(file) ?? Promise.resolve();
  const next = previous.then(async () => {
    const current = await readFile(file, "utf8").catch(() => "");
    const lines = new Set(current.split("\n").map((l) => l.trim()));
    const add = patterns.filter((p) => !lines.has(p));
    if (!add.length) return;
    await mkdir(dirname(file), { recursive: true });
    await appendFile(file, `${current && !current.endsWith("\n") ? "\n" : ""}${add.join("\n")}\n`);
  });
  excludeQueue.set(file, next.catch(() => {}));
  return next;
}

/**
 * The exclude pattern for the base folder when it lies inside the repository (outside: none). Only
 * that folder: the rest of `.corral/` (the prompt `corral init` writes) is the user's to commit.
 */
export function excludePatterns(repo: Repo, baseDir: string): string[] {
  const rel = inside(repo.root, baseDir);
  return rel ? [`/${rel.split(sep).join("/")}/`] : [];
}
