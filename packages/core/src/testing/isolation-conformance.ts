import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isCorralError } from "../errors.js";
import { git } from "../git.js";
import type { Isolation, Workspace } from "../isolation.js";
import { describeIsolationCapabilities } from "./capability-conformance.js";

/** How `describeIsolationConformance` exercises the isolation. */
export interface IsolationConformanceOptions {
  /** Each acquire gets its own folder (a worktree); false for isolations that hand out the checkout itself (in-place). */
  separateWorkspaces: boolean;
  /** Each acquire gets its own branch. */
  branchPerRun: boolean;
}

const AUTHOR = { GIT_AUTHOR_NAME: "Kit", GIT_AUTHOR_EMAIL: "kit@example.com", GIT_COMMITTER_NAME: "Kit", GIT_COMMITTER_EMAIL: "kit@example.com" };

async function repo(root: string): Promise<string> {
  const dir = await mkdtemp(join(root, "repo-"));
  await git(["init", "-q", "-b", "main"], { cwd: dir });
  await mkdir(join(dir, "sub"));
  await writeFile(join(dir, "README.md"), "# kit\n");
  await writeFile(join(dir, "sub", "keep.txt"), "keep\n");
  await git(["add", "-A"], { cwd: dir });
  await git(["commit", "-q", "-m", "initial"], { cwd: dir, env: AUTHOR });
  return dir;
}

/**
 * The git env that shows a workspace as its sandbox would: the git dir its `.git` leads to, read
 * through the workspace's git mounts (host path for sandbox path), and the alternates in it likewise.
 */
export async function agentGitEnv(workspace: Workspace): Promise<Record<string, string>> {
  const dotGit = join(workspace.path, ".git");
  const asFile = await readFile(dotGit, "utf8").catch(() => undefined);
  const target = asFile?.match(/^gitdir: (.*)$/m)?.[1]?.trim() ?? dotGit;
  const hostOf = (path: string) => {
    for (const mount of [...workspace.gitMounts].sort((a, b) => b.sandbox.length - a.sandbox.length)) {
      if (path === mount.sandbox || path.startsWith(`${mount.sandbox}/`)) return mount.host + path.slice(mount.sandbox.length);
    }
    return path;
  };
  const gitDir = hostOf(target);
  const alternates = (await readFile(join(gitDir, "objects", "info", "alternates"), "utf8").catch(() => ""))
    .split("\n")
    .filter(Boolean)
    .map(hostOf);
  return { GIT_DIR: gitDir, GIT_WORK_TREE: workspace.path, ...(alternates.length ? { GIT_ALTERNATE_OBJECT_DIRECTORIES: alternates.join(":") } : {}) };
}

/** Commits as the agent would inside its sandbox: with the workspace's own git dir, never the user's. */
async function commitIn(workspace: Workspace, file: string, subject: string): Promise<void> {
  const env = { ...(await agentGitEnv(workspace)), ...AUTHOR };
  await writeFile(join(workspace.cwd, file), `${subject}\n`);
  await git(["add", file], { cwd: workspace.cwd, env });
  await git(["commit", "-q", "-m", subject], { cwd: workspace.cwd, env });
}

/**
 * The isolation conformance suite: one vitest `describe` any Isolation plugin runs in its own
 * tests, over real git repositories in temp dirs. It checks that acquire hands out an existing
 * workspace at the repository's HEAD (mapping a subfolder cwd into it), that the agent's commits
 * there (made as its sandbox shows the workspace) reach the user's repository only through
 * release, which reports exactly those commits with their files, that separate runs do not share
 * a folder or branch when the isolation says so, that release never silently loses uncommitted
 * work, and that bad input fails with a CorralError.
 */
export function describeIsolationConformance(name: string, makeIsolation: () => Isolation | Promise<Isolation>, options: IsolationConformanceOptions): void {
  describe(`isolation conformance: ${name}`, () => {
    let root: string | undefined;
    const base = async () => (root ??= await realpath(await mkdtemp(join(tmpdir(), "corral-isolation-conformance-"))));
    let n = 0;
    const acquire = async (isolation: Isolation, cwd: string): Promise<Workspace> => isolation.acquire({ cwd, runId: `kit-${process.pid}-${++n}`, name: `kit-${n}` });
    afterAll(async () => {
      if (root) await rm(root, { recursive: true, force: true });
    });

    describeIsolationCapabilities(makeIsolation, async () => repo(await base()));

    it("acquires a workspace at the repository's HEAD; release brings back exactly the commits made there", async () => {
      const isolation = await makeIsolation();
      const dir = await repo(await base());
      const head = (await git(["rev-parse", "HEAD"], { cwd: dir })).stdout;
      const workspace = await acquire(isolation, dir);
      expect(existsSync(workspace.path)).toBe(true);
      expect(workspace.cwd).toBe(workspace.path);
      expect(workspace.baseCommit).toBe(head);
      expect(await readFile(join(workspace.path, "README.md"), "utf8")).toBe("# kit\n");
      await commitIn(workspace, "one.txt", "first change");
      await commitIn(workspace, "two.txt", "second change");
      // Until release, the user's repository has not moved.
      const userRef = workspace.branch ? `refs/heads/${workspace.branch}` : "HEAD";
      expect((await git(["rev-parse", userRef], { cwd: dir })).stdout).toBe(head);
      const released = await isolation.release(workspace, { outcome: "succeeded" });
      expect(released.commits.map((c) => [c.subject, c.files])).toEqual([
        ["first change", ["one.txt"]],
        ["second change", ["two.txt"]],
      ]);
      expect(released.commits.every((c) => /^[0-9a-f]{40}$/.test(c.sha) && !Number.isNaN(Date.parse(c.time)))).toBe(true);
      expect((await git(["rev-parse", userRef], { cwd: dir })).stdout).toBe(released.commits.at(-1)!.sha);
      expect(released.problems ?? []).toEqual([]);
      expect(typeof released.removed).toBe("boolean");
      if (released.removed) expect(existsSync(workspace.path)).toBe(false);
    });

    it("hands the sandbox no writable path into the user's git dir", async () => {
      const isolation = await makeIsolation();
      const dir = await repo(await base());
      const common = (await git(["rev-parse", "--path-format=absolute", "--git-common-dir"], { cwd: dir })).stdout.trim();
      const workspace = await acquire(isolation, dir);
      for (const mount of workspace.gitMounts.filter((m) => !m.readonly)) {
        // A writable mount may be shown over a path in the user's git dir, but its source is the run's own.
        expect(relative(common, mount.host).startsWith("corral/gitdirs/") || !mount.host.startsWith(common), mount.host).toBe(true);
      }
      expect(workspace.gitMounts.some((m) => m.readonly && m.host === join(common, "objects"))).toBe(true);
      await isolation.release(workspace, { outcome: "succeeded" });
    });

    it("maps a cwd in a subfolder to the same subfolder of the workspace", async () => {
      const isolation = await makeIsolation();
      const dir = await repo(await base());
      const workspace = await acquire(isolation, join(dir, "sub"));
      expect(relative(workspace.path, workspace.cwd)).toBe("sub");
      expect(await readFile(join(workspace.cwd, "keep.txt"), "utf8")).toBe("keep\n");
      await isolation.release(workspace, { outcome: "succeeded" });
    });

    it(options.separateWorkspaces ? "gives two runs two folders and leaves the checkout alone" : "gives every run the checkout itself", async () => {
      const isolation = await makeIsolation();
      const dir = await repo(await base());
      const [a, b] = [await acquire(isolation, dir), await acquire(isolation, dir)];
      if (options.separateWorkspaces) {
        expect(a.path).not.toBe(b.path);
        expect(a.path).not.toBe(dir);
        await commitIn(a, "only-a.txt", "only in a");
        expect(existsSync(join(b.path, "only-a.txt"))).toBe(false);
        expect(existsSync(join(dir, "only-a.txt"))).toBe(false);
      } else {
        expect([a.path, b.path]).toEqual([dir, dir]);
      }
      if (options.branchPerRun) {
        expect(a.branch).toBeTruthy();
        expect(a.branch).not.toBe(b.branch);
        expect(a.baseBranch).toBe("main");
      }
      await isolation.release(a, { outcome: "succeeded" });
      await isolation.release(b, { outcome: "succeeded" });
    });

    it("never loses uncommitted work silently on release", async () => {
      const isolation = await makeIsolation();
      const dir = await repo(await base());
      const workspace = await acquire(isolation, dir);
      await writeFile(join(workspace.path, "dirty.txt"), "not committed\n");
      const released = await isolation.release(workspace, { outcome: "failed" });
      const stillThere = existsSync(join(workspace.path, "dirty.txt"));
      // Either the folder (with the file) was kept and says why, or the work was saved in a commit the notes name.
      if (stillThere) expect(released.removed).toBe(false);
      else expect(released.notes?.join(" ") ?? "", "the dirty file is gone and no note says where it went").not.toBe("");
      if (!released.removed) expect(released.keptReason, "a kept workspace says why").toBeTruthy();
      if (options.separateWorkspaces && released.path) await rm(released.path, { recursive: true, force: true });
    });

    it("fails with a CorralError for a folder that does not exist", async () => {
      const isolation = await makeIsolation();
      const missing = join(await base(), "no-such-folder");
      const error = await acquire(isolation, missing).then(() => undefined, (e: unknown) => e);
      expect(isCorralError(error), String(error)).toBe(true);
    });
  });
}
