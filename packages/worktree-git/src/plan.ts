import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type AcquireRequest, type Workspace } from "@corral/core";
import { createRunGitDir, SHARED_OBJECTS } from "@corral/core/plugin-kit";
import type { WorktreeOptions } from "./options.js";
import { objectFormatOf, type Repo } from "./repo.js";
import { newStatus, writeStatus, type WorktreeStatus } from "./status.js";
import { gitMounts, mapCwd, worktreeGitDir, type WorktreeMeta } from "./workspace.js";

/** How many suffixes (`name-2`, `name-3`…) are tried before giving up. */
export const MAX_ATTEMPTS = 200;

/** What one acquire resolved before touching anything: every input checked. */
export interface AcquirePlan {
  repo: Repo;
  /** The prefix of run branches (`corral/`); other runs' branches under it are hidden from the agent. */
  branchPrefix: string;
  baseDir: string;
  baseRef: string;
  baseCommit: string;
  baseBranch?: string;
  /** The first slug to try. */
  slug: string;
  /** An explicit branch (no suffixing), and whether it already exists (then it is continued). */
  explicitBranch?: { name: string; exists: boolean };
  /** The repository's object format, asked of git ahead (a plain run without a run git dir). */
  objectFormat?: Promise<"sha1" | "sha256">;
  request: AcquireRequest;
}

export function lockReason(runId: string): string {
  return `corral run ${runId} (pid ${process.pid})`;
}

/** The run's branch for the name `slug`: the explicit one, or `<prefix><slug>`; none when detached. */
export function branchFor(options: WorktreeOptions, plan: AcquirePlan, slug: string): string | undefined {
  return options.detach ? undefined : (plan.explicitBranch?.name ?? `${options.branchPrefix}${slug}`);
}

export function statusFor(plan: AcquirePlan, slug: string, branch: string | undefined): WorktreeStatus {
  return newStatus({
    slug,
    path: join(plan.baseDir, slug),
    runId: plan.request.runId,
    ...(plan.request.name ? { name: plan.request.name } : {}),
    state: "creating",
    ...(branch ? { branch } : {}),
    baseRef: plan.baseRef,
    baseCommit: plan.baseCommit,
    ...(plan.baseBranch ? { baseBranch: plan.baseBranch } : {}),
  });
}

/**
 * Gives the worktree the run's own git dir (unless the sandbox shows the host as it is), records it
 * as active and describes it as a Workspace. The admin dir git made is read here, right after git
 * wrote it: from now on only corral's records are trusted, never the worktree's `.git` file.
 */
export async function finish(
  plan: AcquirePlan,
  made: { slug: string; path: string; branch: string | undefined; status: WorktreeStatus; reused: boolean; detached: boolean },
): Promise<Workspace<WorktreeMeta>> {
  const { repo, request } = plan;
  const gitDir = await worktreeGitDir(made.path);
  let objectFormat: "sha1" | "sha256" | undefined;
  const runGitDir = request.sandboxed === false ? undefined : runGitDirFor(repo, made.slug);
  try {
    if (runGitDir) {
      ({ objectFormat } = await createRunGitDir({
        path: runGitDir,
        repo: repo.root,
        sourceGitDir: gitDir,
        commonDir: repo.commonDir,
        alternates: [join(gitDir, SHARED_OBJECTS)],
        head: made.branch ? { branch: made.branch, commit: plan.baseCommit } : { detached: plan.baseCommit },
        mountTargets: [SHARED_OBJECTS],
        // Other runs' branches are theirs: not even their names are shown.
        ...(plan.branchPrefix ? { hideRefs: [`refs/heads/${plan.branchPrefix}`] } : {}),
      }));
    }
    objectFormat ??= await (plan.objectFormat ?? objectFormatOf(repo));
    await writeStatus(repo, { ...made.status, path: made.path, gitDir, ...(runGitDir ? { runGitDir } : {}), state: "active" });
    const meta: WorktreeMeta = {
      slug: made.slug,
      root: repo.root,
      commonDir: repo.commonDir,
      checkout: repo.checkout,
      gitDir,
      ...(runGitDir ? { runGitDir } : {}),
      objectFormat,
      baseRef: plan.baseRef,
      detached: made.detached,
      runId: request.runId,
      reused: made.reused,
      acquiredAt: Date.now(),
    };
    return {
      path: made.path,
      cwd: await mapCwd(repo, request.cwd, made.path),
      repoRoot: repo.root,
      ...(made.branch ? { branch: made.branch } : {}),
      ...(plan.baseBranch ? { baseBranch: plan.baseBranch } : {}),
      baseCommit: plan.baseCommit,
      gitMounts: runGitDir ? await gitMounts(repo, made.path, gitDir, runGitDir) : [],
      ...(runGitDir ? { runGitDir } : {}),
      meta,
    };
  } catch (error) {
    // The caller takes the worktree back; the run's git dir is ours to remove.
    if (runGitDir) await rm(runGitDir, { recursive: true, force: true });
    throw error;
  }
}

/** A new place for a run's own git dir, in corral's part of the shared git dir: named by the worktree, never reused. */
export function runGitDirFor(repo: Repo, slug: string): string {
  return join(repo.commonDir, "corral", "gitdirs", `${slug}-${randomBytes(4).toString("hex")}`);
}

