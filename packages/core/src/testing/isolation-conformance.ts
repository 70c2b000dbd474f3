import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isCorralError } from "../errors.js";
import { git } from "../git.js";
import type { Isolation, Workspace } from "../isolation.js";

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

async function commitIn(cwd: string, file: string, subject: string): Promise<void> {
  await writeFile(join(cwd, file), `${subject}\n`);
  await git(["add", file], { cwd });
  await git(["commit", "-q", "-m", subject], { cwd, env: AUTHOR });
}

/**
 * The isolation conformance suite: one vitest `describe` any Isolation plugin runs in its own
 * tests, over real git repositories in temp dirs. It checks that acquire hands out an existing
 * workspace at the repository's HEAD (mapping a subfolder cwd into it), that `commits()` reports
 * exactly the commits made there with their files, that separate runs do not share a folder or
 * branch when the isolation says so, that release never silently loses uncommitted work, and
 * that bad input fails with a CorralError.
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

    it("acquires a workspace at the repository's HEAD, and commits() reports what was committed there", async () => {
      const isolation = await makeIsolation();
      const dir = await repo(await base());
      const head = (await git(["rev-parse", "HEAD"], { cwd: dir })).stdout;
      const workspace = await acquire(isolation, dir);
      expect(existsSync(workspace.path)).toBe(true);
      expect(workspace.cwd).toBe(workspace.path);
      expect(workspace.baseCommit).toBe(head);
      expect(await readFile(join(workspace.path, "README.md"), "utf8")).toBe("# kit\n");
      expect(await isolation.commits(workspace)).toEqual([]);
      await commitIn(workspace.cwd, "one.txt", "first change");
      await commitIn(workspace.cwd, "two.txt", "second change");
      const commits = await isolation.commits(workspace);
      expect(commits.map((c) => [c.subject, c.files])).toEqual([
        ["first change", ["one.txt"]],
        ["second change", ["two.txt"]],
      ]);
      expect(commits.every((c) => /^[0-9a-f]{40}$/.test(c.sha) && !Number.isNaN(Date.parse(c.time)))).toBe(true);
      const released = await isolation.release(workspace, { outcome: "succeeded" });
      expect(typeof released.removed).toBe("boolean");
      if (released.removed) expect(existsSync(workspace.path)).toBe(false);
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
        await commitIn(a.cwd, "only-a.txt", "only in a");
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
