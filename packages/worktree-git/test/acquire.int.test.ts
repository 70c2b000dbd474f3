import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, realpath, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gitIn, removeDir, tempDir, tempRepo } from "@corral/test-support";
import { BranchExistsError, NotGitRepositoryError, UnknownRefError, UnsafePathError } from "../src/index.js";
import { branches, commitFile, hasGit, isolation, request, tree, worktreePaths } from "./helpers.js";

const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await removeDir(dir);
});
async function repo(files?: Record<string, string>): Promise<string> {
  const dir = await tempRepo(files);
  cleanup.push(dir);
  return dir;
}

describe.runIf(hasGit)("acquire", () => {
  it("makes a locked worktree on a fresh branch from HEAD, excluded from git status", async () => {
    const dir = await repo();
    const base = await gitIn(dir, "rev-parse", "HEAD");
    const ws = await isolation().acquire(request(dir, { name: "fix login" }));
    expect(ws.path).toBe(join(dir, ".corral/worktrees/fix-login"));
    expect(ws.branch).toBe("corral/fix-login");
    expect(ws.baseBranch).toBe("main");
    expect(ws.baseCommit).toBe(base);
    expect(ws.repoRoot).toBe(dir);
    expect(await gitIn(ws.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe("corral/fix-login");
    expect(await readFile(join(ws.path, "README.md"), "utf8")).toBe("# test repo\n");
    // locked with a reason naming the run
    const list = await gitIn(dir, "worktree", "list", "--porcelain");
    expect(list).toMatch(/locked corral run run-\d+-\d+ \(pid \d+\)/);
    // the worktrees never show as untracked
    expect(await readFile(join(dir, ".git/info/exclude"), "utf8")).toContain("/.corral/worktrees/");
    expect(await gitIn(dir, "status", "--porcelain", "--untracked-files=all")).toBe("");
    // git metadata to mount: the run's own git dir where the .git file points, the user's objects
    // read-only inside it, the .git file pinned; nothing of the user's git dir writable
    const status0 = JSON.parse(await readFile(join(dir, ".git/corral/worktrees/fix-login.json"), "utf8")) as { runGitDir: string };
    expect(status0.runGitDir).toMatch(new RegExp(`^${join(dir, ".git/corral/gitdirs/")}`));
    expect(ws.gitMounts).toEqual([
      { host: join(ws.path, ".git"), sandbox: join(ws.path, ".git"), readonly: true },
      { host: status0.runGitDir, sandbox: join(dir, ".git/worktrees/fix-login"), readonly: false },
      { host: join(dir, ".git/objects"), sandbox: join(dir, ".git/worktrees/fix-login/corral-shared-objects"), readonly: true },
    ]);
    // the run's git dir: HEAD on the run's branch at the base, the user's objects borrowed, no hooks
    expect(await readFile(join(status0.runGitDir, "HEAD"), "utf8")).toBe("ref: refs/heads/corral/fix-login\n");
    expect(await readFile(join(status0.runGitDir, "refs/heads/corral/fix-login"), "utf8")).toBe(`${base}\n`);
    expect(await readFile(join(status0.runGitDir, "objects/info/alternates"), "utf8")).toBe(`${join(dir, ".git/worktrees/fix-login/corral-shared-objects")}\n`);
    expect(existsSync(join(status0.runGitDir, "hooks"))).toBe(false);
    // a status file says who owns it
    const status = JSON.parse(await readFile(join(dir, ".git/corral/worktrees/fix-login.json"), "utf8"));
    expect(status).toMatchObject({ slug: "fix-login", state: "active", pid: process.pid, baseCommit: base, branch: "corral/fix-login" });
  });

  it("uses the run id without a name, a base ref, and detached HEAD when asked", async () => {
    const dir = await repo();
    const first = await gitIn(dir, "rev-parse", "HEAD");
    await commitFile(dir, "b.txt", "b");
    await gitIn(dir, "tag", "v1", first);
    const ws = await isolation({ base: "v1" }).acquire(request(dir, { runId: "r-123" }));
    expect(ws.branch).toBe("corral/r-123");
    expect(ws.baseCommit).toBe(first);
    expect(ws.baseBranch).toBeUndefined();
    expect(existsSync(join(ws.path, "b.txt"))).toBe(false);
    const detached = await isolation({ detach: true }).acquire(request(dir, { name: "look" }));
    expect(detached.branch).toBeUndefined();
    expect(await gitIn(detached.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe("HEAD");
  });

  it("starts the agent in the same subfolder the run was started in", async () => {
    const dir = await repo({ "README.md": "x", "pkg/a/index.ts": "1" });
    const ws = await isolation().acquire(request(join(dir, "pkg/a"), { name: "sub" }));
    expect(ws.cwd).toBe(join(ws.path, "pkg/a"));
  });

  it("8 concurrent acquires with the same name all succeed with distinct worktrees and branches", async () => {
    const dir = await repo();
    // A kept branch from an earlier run takes the first name, so git's own collision error is hit too.
    await gitIn(dir, "branch", "corral/same");
    const iso = isolation();
    const all = await Promise.all(Array.from({ length: 8 }, () => iso.acquire(request(dir, { name: "same" }))));
    const paths = new Set(all.map((w) => w.path));
    const names = new Set(all.map((w) => w.branch));
    expect(paths.size).toBe(8);
    expect(names.size).toBe(8);
    expect(names.has("corral/same")).toBe(false);
    expect((await worktreePaths(dir)).sort()).toEqual([...paths].sort());
    for (const ws of all) expect(await gitIn(ws.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe(ws.branch);
    const exclude = await readFile(join(dir, ".git/info/exclude"), "utf8");
    expect(exclude.split("\n").filter((l) => l === "/.corral/worktrees/")).toHaveLength(1);
  });

  it("puts worktrees in an absolute base folder outside the repository when told to", async () => {
    const dir = await repo();
    const elsewhere = await tempDir("corral-wt-elsewhere-");
    cleanup.push(elsewhere);
    const iso = isolation({ baseDir: join(elsewhere, "trees") });
    const ws = await iso.acquire(request(dir, { name: "out" }));
    expect(ws.path).toBe(join(elsewhere, "trees/out"));
    expect(await gitIn(ws.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe("corral/out");
    expect((await iso.release(ws, { outcome: "succeeded" })).removed).toBe(true);
    expect(await readdir(join(elsewhere, "trees"))).toEqual([]);
  });

  it("an aborted acquire creates nothing", async () => {
    const dir = await repo();
    const before = await tree(dir);
    const controller = new AbortController();
    controller.abort("stop");
    await expect(isolation().acquire(request(dir, { name: "x", signal: controller.signal }))).rejects.toMatchObject({ code: "E_ABORTED" });
    expect(await tree(dir)).toEqual(before);
  });

  it("keeps every unsafe name inside the base folder", async () => {
    const dir = await repo();
    const root = join(dir, ".corral/worktrees");
    const names = ["../../escape", "/abs/path", "a/../../b", "-rf", "--force", "..", "x\ny", "a\x00b", "\x1b[2Jclear", "x".repeat(300), "refs/heads/main", "HEAD", "@{-1}"];
    for (const name of names) {
      if (name === "..") {
        await expect(isolation().acquire(request(dir, { name }))).rejects.toThrow(UnsafePathError);
        continue;
      }
      const ws = await isolation().acquire(request(dir, { name }));
      expect(await realpath(join(ws.path, ".."))).toBe(root);
      expect(ws.path.slice(root.length + 1)).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/);
      expect(ws.branch).toMatch(/^corral\/[A-Za-z0-9_][A-Za-z0-9._-]*$/);
    }
    // where the traversals would have landed (never walk the shared temp folder: it can be huge)
    for (const landing of [join(dir, "escape"), join(dir, "..", "escape"), join(dir, ".corral", "b"), join(dir, "b"), "/abs/path"]) {
      expect(existsSync(landing), landing).toBe(false);
    }
  });

  it("refuses a base folder that is a symlink pointing outside the repo, creating nothing outside", async () => {
    const dir = await repo();
    const outside = await tempDir("corral-outside-");
    cleanup.push(outside);
    await symlink(outside, join(dir, ".corral"));
    await expect(isolation().acquire(request(dir, { name: "evil" }))).rejects.toThrow(UnsafePathError);
    expect(await readdir(outside)).toEqual([]);
    expect(await worktreePaths(dir)).toEqual([]);
    expect(await branches(dir)).toEqual(["main"]);
    // the same through a relative ../ path
    await expect(isolation({ baseDir: "../escape-wt" }).acquire(request(dir, { name: "evil" }))).rejects.toThrow(UnsafePathError);
    expect(existsSync(join(dir, "../escape-wt"))).toBe(false);
  });

  it("never runs a planted hook or fsmonitor during acquire, commits and release", async () => {
    const dir = await repo();
    const markers = await tempDir("corral-markers-");
    cleanup.push(markers);
    const hook = (name: string) => `#!/bin/sh\ntouch ${join(markers, name)}\n`;
    for (const name of ["post-checkout", "pre-commit", "post-commit", "reference-transaction", "post-merge", "pre-auto-gc"]) {
      await writeFile(join(dir, ".git/hooks", name), hook(name), { mode: 0o755 });
    }
    await writeFile(join(markers, "fsmonitor.sh"), hook("fsmonitor"), { mode: 0o755 });
    await gitIn(dir, "config", "core.fsmonitor", join(markers, "fsmonitor.sh"));
    // prove the traps work when git runs them normally
    await gitIn(dir, "status");
    await gitIn(dir, "checkout", "-q", "-b", "probe");
    await gitIn(dir, "checkout", "-q", "main");
    expect(await readdir(markers)).toEqual(expect.arrayContaining(["fsmonitor", "post-checkout", "reference-transaction"]));
    for (const name of await readdir(markers)) if (name !== "fsmonitor.sh") await removeDir(join(markers, name));

    const iso = isolation({ uncommitted: "commit", mergeBack: "merge" });
    const ws = await iso.acquire(request(dir, { name: "hooks" }));
    await writeFile(join(ws.path, "new.txt"), "x");
    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(released.removed).toBe(true);
    expect(released.notes?.join("\n")).toMatch(/WIP commit/);
    expect(released.notes?.join("\n")).toMatch(/fast-forwarded into main/);
    expect(await readdir(markers)).toEqual(["fsmonitor.sh"]);
  });

  describe("bad input: a clear error and nothing left behind", () => {
    it("not a repository", async () => {
      const dir = await tempDir();
      cleanup.push(dir);
      await expect(isolation().acquire(request(dir))).rejects.toMatchObject({ code: "E_NOT_GIT_REPOSITORY" });
      await expect(isolation().acquire(request(join(dir, "nope")))).rejects.toThrow(NotGitRepositoryError);
      expect(await tree(dir)).toEqual([]);
    });

    it("a bare repository", async () => {
      const dir = await tempDir();
      cleanup.push(dir);
      await gitIn(dir, "init", "-q", "--bare");
      const before = await tree(dir);
      await expect(isolation().acquire(request(dir))).rejects.toMatchObject({ code: "E_BARE_REPOSITORY" });
      expect(await tree(dir)).toEqual(before);
    });

    it("a repository with no commit", async () => {
      const dir = await tempDir();
      cleanup.push(dir);
      await gitIn(dir, "init", "-q");
      const before = await tree(dir);
      const error = await isolation().acquire(request(dir)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotGitRepositoryError);
      expect(error).toMatchObject({ code: "E_EMPTY_REPOSITORY", hint: expect.stringMatching(/first commit/) });
      expect(await tree(dir)).toEqual(before);
    });

    it("an unknown base ref", async () => {
      const dir = await repo();
      const before = await tree(dir);
      await expect(isolation({ base: "no-such-branch" }).acquire(request(dir))).rejects.toThrow(UnknownRefError);
      await expect(isolation({ base: "--output=/tmp/x" }).acquire(request(dir))).rejects.toThrow(UnknownRefError);
      expect(await tree(dir)).toEqual(before);
    });

    it("several bad inputs at once: the same one wins as when git was asked one question at a time", async () => {
      // acquire asks git about the base, the prefix and the branch side by side (ADR 0730); the errors keep their order.
      const dir = await repo();
      const before = await tree(dir);
      await expect(isolation({ base: "no-such-branch", branchPrefix: "bad..prefix/" }).acquire(request(dir, { name: "../../" }))).rejects.toThrow(UnknownRefError);
      await expect(isolation({ branchPrefix: "bad..prefix/" }).acquire(request(dir, { name: "../../" }))).rejects.toThrow(/branchPrefix "bad\.\.prefix\/x"/);
      await expect(isolation().acquire(request(dir, { name: "../../" }))).rejects.toThrow(/no characters usable/);
      expect(await tree(dir)).toEqual(before);
      // and their twin: good inputs asked the same way make the worktree
      const ws = await isolation({ branchPrefix: "team/" }).acquire(request(dir, { name: "fine" }));
      expect(ws.branch).toBe("team/fine");
    });

    it("a name that is only unsafe characters", async () => {
      const dir = await repo();
      const before = await tree(dir);
      await expect(isolation().acquire(request(dir, { name: "../../" }))).rejects.toThrow(UnsafePathError);
      expect(await tree(dir)).toEqual(before);
    });

    it("an explicit branch that exists (reuse off), or an invalid one", async () => {
      const dir = await repo();
      await gitIn(dir, "branch", "feature");
      const before = await tree(dir);
      await expect(isolation({ branch: "feature" }).acquire(request(dir))).rejects.toThrow(BranchExistsError);
      await expect(isolation({ branch: "bad..name" }).acquire(request(dir))).rejects.toThrow(UnsafePathError);
      expect(await tree(dir)).toEqual(before);
      // with reuse, the existing branch is continued
      const tip = await commitFile(dir, "c.txt", "c");
      await gitIn(dir, "branch", "-f", "feature", tip);
      const ws = await isolation({ branch: "feature", reuse: true }).acquire(request(dir));
      expect(ws.branch).toBe("feature");
      expect(ws.baseCommit).toBe(tip);
    });
  });
});
