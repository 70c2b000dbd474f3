import { capture } from "./process.js";
import { lstat, mkdir, readdir, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, sep } from "node:path";
import { UsageError } from "./errors.js";

/** What `copyIntoWorkspace` copied. */
export interface CopyReport {
  /** Paths copied, relative to the repository root. */
  paths: string[];
  /** How long the copy took. */
  durationMs: number;
  /** How the copy was made: `reflink` (copy-on-write) when the filesystem could, else `copy`. */
  method: "reflink-or-copy";
}

/**
 * Copies untracked files (node_modules, .env, build output) from the main checkout into a fresh
 * workspace, before hooks run. Patterns are paths or globs relative to the repository (`*`, `?`,
 * `**`). A pattern or match that escapes the repository — `..`, an absolute path, a symlink whose
 * target is outside — is refused. Copies are copy-on-write where the filesystem supports it
 * (`cp --reflink=auto`) and plain copies otherwise; never hard links, so the agent cannot change
 * the host's files through them.
 */
export async function copyIntoWorkspace(repoRoot: string, workspace: string, patterns: readonly string[]): Promise<CopyReport> {
  const started = performance.now();
  const root = await realpath(repoRoot);
  for (const pattern of patterns) checkCopyPattern(pattern);
  const matches = new Set<string>();
  for (const pattern of patterns) {
    for (const match of await expand(root, pattern.split("/").filter((s) => s !== "" && s !== "."))) matches.add(match);
  }
  // Parents first, and a path inside an already-copied folder is skipped.
  const sorted = [...matches].sort();
  const chosen = sorted.filter((path, i) => !sorted.slice(0, i).some((parent) => path.startsWith(`${parent}/`)));
  for (const rel of chosen) {
    const source = join(root, rel);
    const resolved = await realpath(source);
    if (resolved !== root && !resolved.startsWith(root + sep)) {
      throw new UsageError(`Refusing to copy ${rel}: it is a symlink to ${resolved}, outside the repository.`, {
        hint: "copy only takes paths inside the repository; remove the pattern or the symlink.",
      });
    }
    const target = join(workspace, rel);
    await checkDestination(workspace, rel);
    await mkdir(dirname(target), { recursive: true });
    // -R with -P keeps symlinks as symlinks (never followed out of the tree); no -l: no hard links.
    const argv = ["cp", "-R", "-P", "--preserve=mode,timestamps", "--reflink=auto", "--", source, target];
    const copied = await capture(argv, { env: { ...process.env } as Record<string, string> });
    if (copied.exitCode !== 0) throw new Error(`Command failed (${copied.error?.message ?? `exit code ${copied.exitCode ?? copied.signal}`}): ${argv.join(" ")}\n${copied.stderr.trim()}`);
  }
  return { paths: chosen, durationMs: Math.round(performance.now() - started), method: "reflink-or-copy" };
}

/**
 * The destination must not exist yet (copy is for untracked paths; a fresh worktree has none of
 * them), and no folder on the way to it may be a symlink: the branch the worktree was made from
 * may come from someone else, and `cp`/`mkdir` would follow a committed symlink out of the worktree.
 */
async function checkDestination(workspace: string, rel: string): Promise<void> {
  const parts = rel.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const path = join(workspace, ...parts.slice(0, i));
    const info = await lstat(path).catch(() => undefined);
    if (!info) return; // nothing below a missing folder exists either
    if (i === parts.length) {
      throw new UsageError(`Refusing to copy ${rel}: it already exists in the worktree (it is tracked in git, or was made by a hook).`, {
        hint: "copy is for untracked paths; remove the pattern or untrack the path.",
      });
    }
    if (info.isSymbolicLink()) {
      throw new UsageError(`Refusing to copy ${rel}: ${parts.slice(0, i).join("/")} is a symlink in the worktree, and copying would follow it.`, {
        hint: "A symlink committed in the branch may point outside the worktree; remove it from the branch or drop the pattern.",
      });
    }
  }
}

/** Refuses a copy pattern that is empty, absolute, leaves the repository or names git metadata. */
export function checkCopyPattern(pattern: string): void {
  const refuse = (why: string) => {
    throw new UsageError(`Refusing the copy pattern "${pattern}": ${why}.`, { hint: "Use a path or glob relative to the repository root, e.g. node_modules or packages/*/dist." });
  };
  if (!pattern.trim()) refuse("it is empty");
  if (isAbsolute(pattern) || pattern.startsWith("~")) refuse("it is absolute");
  if (pattern.split(/[\\/]/).includes("..")) refuse("it leaves the repository");
  if (pattern.split("/").includes(".git")) refuse("git metadata is never copied");
}

/** Expands glob segments against the filesystem; `**` matches any depth. Returns relative paths. */
async function expand(root: string, segments: string[], base = ""): Promise<string[]> {
  if (segments.length === 0) return base ? [base] : [];
  const [segment, ...rest] = segments as [string, ...string[]];
  if (segment === "**") {
    const here = await expand(root, rest, base);
    const below: string[] = [];
    for (const dir of await subdirectories(join(root, base))) below.push(...(await expand(root, segments, join(base, dir))));
    return [...here, ...below];
  }
  if (!/[*?[]/.test(segment)) {
    const path = join(base, segment);
    const exists = await lstat(join(root, path)).then(() => true, () => false);
    return exists ? expand(root, rest, path) : [];
  }
  const matcher = globSegment(segment);
  const entries = await readdir(join(root, base)).catch(() => [] as string[]);
  const out: string[] = [];
  for (const entry of entries) if (entry !== ".git" && matcher.test(entry)) out.push(...(await expand(root, rest, join(base, entry))));
  return out;
}

async function subdirectories(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && e.name !== ".git").map((e) => e.name);
}

function globSegment(segment: string): RegExp {
  const source = segment.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
  return new RegExp(`^${source}$`);
}
