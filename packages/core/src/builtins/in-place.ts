import { stat } from "node:fs/promises";
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
      const workspace: Workspace = {
        path: top.stdout,
        cwd,
        repoRoot: top.stdout,
        gitMounts: { readWrite: [], readOnly: [] },
      };
      if (head.exitCode === 0) workspace.baseCommit = head.stdout;
      if (branch.exitCode === 0) workspace.branch = workspace.baseBranch = branch.stdout;
      return workspace;
    },
    commits: (workspace) => commitsSince(workspace.path, workspace.baseCommit),
    async release() {
      return { removed: false, keptReason: "in-place runs work in your checkout" };
    },
  }),
});

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
