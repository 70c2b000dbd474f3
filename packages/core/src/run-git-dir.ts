import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { git } from "./git.js";
import type { GitMount } from "./sandbox.js";

/**
 * A run's own git dir: what the agent's `git` uses inside the sandbox. corral writes it from
 * trusted sources (the user's repository, read by host git) before the agent starts; from then on
 * it is the agent's, and everything in it is hostile data. It borrows the user's objects through
 * a read-only alternate, so making one costs a few small files, not a copy of the history.
 */
export interface RunGitDirSpec {
  /** Where to make it; must not exist yet. */
  path: string;
  /** The user's repository (any checkout of it): the source of refs and config values. */
  repo: string;
  /** The user's git dir of that checkout (its index, `info/exclude`, `shallow` are copied in). */
  sourceGitDir: string;
  /** The shared git dir (objects, refs). */
  commonDir: string;
  /** Object dirs as the sandbox sees them, written to `objects/info/alternates`. */
  alternates: string[];
  /** HEAD: a branch (created at `commit`, or left unborn) or a detached commit. */
  head: { branch: string; commit?: string } | { detached: string };
  /** Folders to make inside (mount targets for the sandbox). */
  mountTargets?: string[];
  /** Copy this index instead of the source git dir's own (a new worktree's, say). */
  indexFrom?: string;
  /** Ref prefixes left out of the snapshot besides the run's own branch: other runs' branches. */
  hideRefs?: string[];
}

/** Where the user's objects are shown inside a run's git dir (read-only, borrowed through an alternate). */
export const SHARED_OBJECTS = "corral-shared-objects";

/** Config keys copied from the user's repository: they shape how files are read, never run anything. */
const DATA_ONLY_CONFIG = ["core.filemode", "core.symlinks", "core.ignorecase", "core.precomposeunicode", "core.autocrlf", "core.eol", "core.safecrlf"];

/** Refs the agent may look at (a snapshot, as packed refs): branches, tags and remote branches, never other runs'. */
const VISIBLE_REFS = ["refs/heads/", "refs/tags/", "refs/remotes/"];

/** Makes the run's git dir; its object format is returned (the user's repository's). */
export async function createRunGitDir(spec: RunGitDirSpec): Promise<{ objectFormat: "sha1" | "sha256" }> {
  const { path } = spec;
  await mkdir(dirname(path), { recursive: true });
  await mkdir(path); // exclusive: a leftover of another run is never reused
  const [userConfig, refs] = await Promise.all([readConfig(spec.repo), visibleRefs(spec.repo, spec.head, spec.hideRefs ?? [])]);
  // No [user] here: the run gives the agent its identity in its HOME, where anything the agent sets wins.
  const { objectFormat, values } = userConfig;

  const config = [
    "[core]",
    `\trepositoryformatversion = ${objectFormat === "sha1" ? 0 : 1}`,
    "\tbare = false",
    "\tlogallrefupdates = true",
    ...values.map(([key, value]) => `\t${key.slice("core.".length)} = ${value}`),
    ...(objectFormat === "sha1" ? [] : ["[extensions]", `\tobjectformat = ${objectFormat}`]),
    // No background gc: it would outlive the exec, and repack the borrowed objects into the run's own.
    "[gc]",
    "\tauto = 0",
  ];
  await mkdir(join(path, "objects", "info"), { recursive: true });
  await mkdir(join(path, "objects", "pack"));
  await mkdir(join(path, "refs", "tags"), { recursive: true });
  await mkdir(join(path, "info"));
  await writeFile(join(path, "config"), `${config.join("\n")}\n`);
  await writeFile(join(path, "objects", "info", "alternates"), spec.alternates.map((dir) => `${dir}\n`).join(""));
  await writeFile(join(path, "packed-refs"), refs.map((ref) => `${ref.sha} ${ref.name}\n`).join(""));
  if ("detached" in spec.head) {
    await writeFile(join(path, "HEAD"), `${spec.head.detached}\n`);
  } else {
    await writeFile(join(path, "HEAD"), `ref: refs/heads/${spec.head.branch}\n`);
    const ref = join(path, "refs", "heads", spec.head.branch);
    await mkdir(dirname(ref), { recursive: true });
    if (spec.head.commit) await writeFile(ref, `${spec.head.commit}\n`);
  }
  for (const target of spec.mountTargets ?? []) await mkdir(join(path, target), { recursive: true });
  await copyIfPresent(spec.indexFrom ?? join(spec.sourceGitDir, "index"), join(path, "index"));
  // A split index names its shared part; the agent's git needs it beside the index.
  for (const name of await readdir(spec.sourceGitDir).catch(() => [] as string[])) {
    if (name.startsWith("sharedindex.")) await copyIfPresent(join(spec.sourceGitDir, name), join(path, name));
  }
  await copyIfPresent(join(spec.commonDir, "info", "exclude"), join(path, "info", "exclude"));
  await copyIfPresent(join(spec.commonDir, "shallow"), join(path, "shallow"));
  return { objectFormat };
}

/**
 * The user's objects shown read-only at `sandboxPath` (the alternate the run's git dir names), and the
 * object dirs those borrow in turn (a `clone --shared`), at their own paths: what a sandbox must mount.
 */
export async function borrowedObjectMounts(commonDir: string, sandboxPath: string): Promise<GitMount[]> {
  const objects = join(commonDir, "objects");
  const mounts: GitMount[] = [{ host: objects, sandbox: sandboxPath, readonly: true }];
  const seen = new Set([objects]);
  const queue = [objects];
  while (queue.length) {
    const dir = queue.shift()!;
    const listed = await readFile(join(dir, "info", "alternates"), "utf8").catch(() => "");
    for (const line of listed.split("\n").map((l) => l.trim())) {
      if (!line || line.startsWith("#")) continue;
      const alternate = resolve(dir, line);
      if (seen.has(alternate) || !existsSync(alternate)) continue;
      seen.add(alternate);
      queue.push(alternate);
      mounts.push({ host: alternate, sandbox: alternate, readonly: true });
    }
  }
  return mounts;
}

/** `sha1` or `sha256`: the object format of the repository around `cwd`. */
export async function repoObjectFormat(cwd: string): Promise<"sha1" | "sha256"> {
  const r = await git(["rev-parse", "--show-object-format"], { cwd, allowFailure: true });
  return r.stdout.trim() === "sha256" ? "sha256" : "sha1";
}

/**
 * The user's git identity (name and email only, from their own config), when both are set. `env`:
 * HOME / XDG_CONFIG_HOME when the user's global config is not where this process's HOME says.
 */
export async function gitIdentity(cwd: string, env: Record<string, string> = {}): Promise<{ name: string; email: string } | undefined> {
  // One git call for both keys; the last value of each wins, as with `git config --get`.
  const r = await git(["config", "-z", "--get-regexp", "^user\\.(name|email)$"], { cwd, allowFailure: true, env });
  const found = new Map<string, string>();
  for (const entry of r.exitCode === 0 ? r.stdout.split("\0") : []) {
    const newline = entry.indexOf("\n");
    found.set(newline < 0 ? entry : entry.slice(0, newline), newline < 0 ? "" : entry.slice(newline + 1));
  }
  const [name, email] = [found.get("user.name")?.trim(), found.get("user.email")?.trim()];
  return name && email ? { name, email } : undefined;
}

/** What a run's git dir takes from the user's config, in one git call: data-only keys and the object format. */
async function readConfig(cwd: string): Promise<{ objectFormat: "sha1" | "sha256"; values: Array<[string, string]> }> {
  const keys = [...DATA_ONLY_CONFIG, "extensions.objectformat"];
  const pattern = `^(${keys.map((key) => key.replace(/\./g, "\\.")).join("|")})$`;
  const r = await git(["config", "-z", "--get-regexp", pattern], { cwd, allowFailure: true });
  const found = new Map<string, string>();
  for (const entry of r.stdout.split("\0")) {
    const newline = entry.indexOf("\n");
    if (newline > 0) found.set(entry.slice(0, newline).toLowerCase(), entry.slice(newline + 1));
  }
  return {
    objectFormat: found.get("extensions.objectformat") === "sha256" ? "sha256" : "sha1",
    values: DATA_ONLY_CONFIG.map((key) => [key, found.get(key.toLowerCase()) ?? ""] as [string, string]).filter(([, value]) => /^[A-Za-z0-9_.-]+$/.test(value)),
  };
}

async function visibleRefs(cwd: string, head: RunGitDirSpec["head"], hidden: string[]): Promise<Array<{ sha: string; name: string }>> {
  const own = "branch" in head ? `refs/heads/${head.branch}` : undefined;
  const r = await git(["for-each-ref", "--format=%(objectname) %(refname) %(symref)", ...VISIBLE_REFS], { cwd, allowFailure: true });
  return r.stdout
    .split("\n")
    .map((line) => line.split(" "))
    .filter(([sha, name, symref]) => sha && name && !symref && name !== own && !hidden.some((prefix) => name.startsWith(prefix)))
    .map(([sha, name]) => ({ sha: sha!, name: name! }));
}

async function copyIfPresent(from: string, to: string): Promise<void> {
  await copyFile(from, to).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
}

/** A config value in double quotes, so `#`, `;` and spaces in a name stay part of it. */
/** A gitconfig `[user]` section for `identity`, quoted so a name cannot add lines or keys. */
export function userSection(identity: { name: string; email: string }): string[] {
  return ["[user]", `\tname = ${quoteConfig(identity.name)}`, `\temail = ${quoteConfig(identity.email)}`];
}

function quoteConfig(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, " ")}"`;
}
