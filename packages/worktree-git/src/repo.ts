import { realpath, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, relative } from "node:path";
import { git, repoObjectFormat, type GitResult } from "@corral/core/plugin-kit";
import { NotGitRepositoryError, UnknownRefError } from "./errors.js";

/** A repository as the worktree plugin sees it: every path canonical (symlinks resolved). */
export interface Repo {
  /** The main checkout's root (where `.corral/` lives). */
  root: string;
  /** The shared git dir (`<root>/.git` usually): objects, refs, config, hooks. */
  commonDir: string;
  /** The checkout the request came from (the main one, or a linked worktree). */
  checkout: string;
  /** The object format, when `resolveRepo` read it (in the same git call). */
  objectFormat?: "sha1" | "sha256";
}

/** Finds the repository around `cwd`; refuses a missing folder, a non-repository and a bare one. */
export async function resolveRepo(cwd: string): Promise<Repo> {
  const info = await stat(cwd).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new NotGitRepositoryError(`The folder ${cwd} does not exist.`, { hint: "Pass an existing folder inside a git repository (--cwd)." });
  }
  // Allowed to see a bare repository here, only to say that it is one. The object format comes last:
  // git stops at --show-toplevel in a bare repository.
  const r = await git(["-c", "safe.bareRepository=all", "rev-parse", "--path-format=absolute", "--git-common-dir", "--is-bare-repository", "--show-toplevel", "--show-object-format"], { cwd, allowFailure: true });
  const [commonDir, bare, top, format] = r.stdout.split("\n");
  if (r.exitCode !== 0 && bare !== "true") {
    throw new NotGitRepositoryError(`${cwd} is not inside a git repository.`, { cause: new Error(r.stderr) });
  }
  if (bare === "true" || !top) {
    throw new NotGitRepositoryError(`${cwd} is a bare git repository (or its git dir); a worktree needs a repository with a checkout.`, {
      code: "E_BARE_REPOSITORY",
      hint: "Run corral in a clone with a working tree, e.g. `git clone <bare> work && cd work`.",
    });
  }
  const common = await realpath(commonDir!);
  const checkout = await realpath(top);
  // The main checkout is the common dir's parent in every ordinary layout; with a separate git dir
  // there is no better anchor than the checkout we were started in.
  const root = basename(common) === ".git" ? dirname(common) : checkout;
  return { root, commonDir: common, checkout, objectFormat: format === "sha256" ? "sha256" : "sha1" };
}

/** The repository's object format: as `resolveRepo` read it, else asked of git. */
export async function objectFormatOf(repo: Repo): Promise<"sha1" | "sha256"> {
  return repo.objectFormat ?? repoObjectFormat(repo.root);
}

/** The commit `ref` names, and the local branch it is (when it is one; for HEAD, the checked-out branch). */
export async function resolveBase(repo: Repo, ref: string, asked?: Promise<[GitResult, GitResult]>): Promise<{ commit: string; branch?: string }> {
  if (ref.startsWith("-")) throw new UnknownRefError(ref);
  const [r, full] = await (asked ?? askBase(repo.checkout, ref));
  if (r.exitCode !== 0) {
    if (ref === "HEAD" || ref === "@") {
      const unborn = await git(["symbolic-ref", "-q", "HEAD"], { cwd: repo.checkout, allowFailure: true });
      if (unborn.exitCode === 0) {
        throw new NotGitRepositoryError(`The repository ${repo.root} has no commit yet, so there is nothing to check out.`, {
          code: "E_EMPTY_REPOSITORY",
          hint: "Make a first commit (git commit --allow-empty -m init), then run again.",
        });
      }
    }
    throw new UnknownRefError(ref);
  }
  const name = full.exitCode === 0 ? full.stdout.trim() : "";
  return { commit: r.stdout.trim(), ...(name.startsWith("refs/heads/") ? { branch: name.slice("refs/heads/".length) } : {}) };
}

/** `path` relative to `root`, or undefined when it is not inside it (both canonical). */
export function inside(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  if (rel === "") return "";
  if (rel === ".." || rel.startsWith("../") || isAbsolute(rel)) return undefined;
  return rel;
}

/**
 * git's two answers `resolveBase` reads: the commit `ref` names and its full name, asked side by side
 * in `cwd` (the name is used only when the commit is found). For HEAD, any folder of the checkout.
 */
export function askBase(cwd: string, ref: string): Promise<[GitResult, GitResult]> {
  return Promise.all([
    git(["rev-parse", "--verify", "-q", "--end-of-options", `${ref}^{commit}`], { cwd, allowFailure: true }),
    git(["rev-parse", "--symbolic-full-name", ref], { cwd, allowFailure: true }),
  ]);
}
