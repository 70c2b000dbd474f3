import { execa } from "execa";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { gitIn, removeDir } from "@corral/test-support";
import { listWorktrees, lockWorktree, pruneWorktrees, removeWorktree, unlockWorktree, worktreeInfo } from "../src/index.js";
import { branches, hasGit, isolation, request, tempRepos, worktreePaths } from "./helpers.js";

const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const repo = tempRepos();

/** Another process acquires a worktree and stays alive until killed. */
async function acquireInChild(dir: string, name: string) {
  const script = `
    const { worktreeIsolation } = await import(${JSON.stringify(dist)});
    const iso = worktreeIsolation.create(worktreeIsolation.configure({}).options);
    const ws = await iso.acquire({ cwd: ${JSON.stringify(dir)}, runId: "child-run", name: ${JSON.stringify(name)} });
    console.log(ws.path);
    setInterval(() => {}, 1000);
  `;
  const child = execa("node", ["--input-type=module", "-e", script], { reject: false });
  const path = await new Promise<string>((resolve, reject) => {
    child.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    void child.then((r) => reject(new Error(`child exited: ${r.stderr}`)));
  });
  return { child, path };
}

describe.runIf(hasGit && existsSync(dist))("worktree management", () => {
  it("lists corral worktrees with their state, filtered by prefix", async () => {
    const dir = await repo();
    const iso = isolation();
    const a = await iso.acquire(request(dir, { name: "fix-a" }));
    await iso.acquire(request(dir, { name: "fix-b" }));
    await iso.acquire(request(dir, { name: "feat-c" }));
    await gitIn(dir, "worktree", "add", "-q", join(dir, "mine"));
    const all = await listWorktrees(dir);
    expect(all.map((w) => w.slug)).toEqual(["feat-c", "fix-a", "fix-b"]); // not the user's own worktree
    expect(all[1]).toMatchObject({ slug: "fix-a", path: a.path, state: "active", branch: "corral/fix-a", locked: true, pid: process.pid, baseCommit: a.baseCommit });
    expect((await listWorktrees(dir, { prefix: "fix" })).map((w) => w.slug)).toEqual(["fix-a", "fix-b"]);
    expect((await listWorktrees(dir, { prefix: "corral/feat" })).map((w) => w.slug)).toEqual(["feat-c"]);
    await writeFile(join(a.path, "x.txt"), "x");
    expect(await worktreeInfo(dir, "fix-a")).toMatchObject({ state: "active", uncommitted: ["x.txt"] });
    expect((await worktreeInfo(dir, a.path)).slug).toBe("fix-a");
    expect((await worktreeInfo(dir, "corral/fix-b")).slug).toBe("fix-b");
    await expect(worktreeInfo(dir, "nope")).rejects.toMatchObject({ code: "E_WORKTREE_NOT_FOUND" });
  });

  it("lock and unlock are idempotent", async () => {
    const dir = await repo();
    const ws = await isolation().acquire(request(dir, { name: "l" }));
    expect(await lockWorktree(dir, "l")).toMatchObject({ changed: false, reason: expect.stringMatching(/^corral run/) });
    expect(await unlockWorktree(dir, "l")).toEqual({ path: ws.path, locked: false, changed: true });
    expect(await unlockWorktree(dir, "l")).toEqual({ path: ws.path, locked: false, changed: false });
    expect(await lockWorktree(dir, "l", { reason: "hands off" })).toEqual({ path: ws.path, locked: true, changed: true, reason: "hands off" });
    expect(await gitIn(dir, "worktree", "list", "--porcelain")).toMatch(/locked hands off/);
    expect((await lockWorktree(dir, "l")).changed).toBe(false);
  });

  it("remove refuses a live run or uncommitted work unless forced, and keeps the branch", async () => {
    const dir = await repo();
    const ws = await isolation().acquire(request(dir, { name: "r" }));
    await expect(removeWorktree(dir, "r")).rejects.toMatchObject({ code: "E_WORKTREE_REMOVAL", message: expect.stringMatching(/live run/) });
    expect(existsSync(ws.path)).toBe(true);
    await writeFile(join(ws.path, "work.txt"), "w");
    await expect(removeWorktree(dir, "r")).rejects.toThrow(/live run/);
    const removed = await removeWorktree(dir, "r", { force: true });
    expect(removed).toEqual({ path: ws.path, removed: true, branch: "corral/r", branchDeleted: false });
    expect(existsSync(ws.path)).toBe(false);
    expect(await branches(dir)).toContain("corral/r");
    expect(await listWorktrees(dir)).toEqual([]);
  });

  it("prune cleans up after the folder was deleted (dry run first)", async () => {
    const dir = await repo();
    const ws = await isolation().acquire(request(dir, { name: "deleted" }));
    const live = await isolation().acquire(request(dir, { name: "live" }));
    await removeDir(ws.path);
    expect((await listWorktrees(dir)).find((w) => w.slug === "deleted")?.state).toBe("missing");
    const dry = await pruneWorktrees(dir, { dryRun: true });
    expect(dry).toEqual({ dryRun: true, pruned: [{ slug: "deleted", path: ws.path, branch: "corral/deleted", reason: "folder-missing" }], kept: [] });
    expect(await worktreePaths(dir)).toEqual([ws.path, live.path].sort());
    const done = await pruneWorktrees(dir);
    expect(done.pruned.map((p) => p.slug)).toEqual(["deleted"]);
    expect(await worktreePaths(dir)).toEqual([live.path]);
    expect((await listWorktrees(dir)).map((w) => w.slug)).toEqual(["live"]);
    expect(await branches(dir)).toContain("corral/deleted");
  });

  it("prune removes a worktree whose owning process was killed, but keeps one with uncommitted work", async () => {
    const dir = await repo();
    const clean = await acquireInChild(dir, "killed");
    const dirty = await acquireInChild(dir, "killed-dirty");
    const before = await listWorktrees(dir);
    expect(before.map((w) => [w.slug, w.state])).toEqual([["killed", "active"], ["killed-dirty", "active"]]);
    expect(await pruneWorktrees(dir)).toEqual({ dryRun: false, pruned: [], kept: [] }); // live runs are never pruned
    await writeFile(join(dirty.path, "unsaved.txt"), "work");
    clean.child.kill("SIGKILL");
    dirty.child.kill("SIGKILL");
    await Promise.all([clean.child, dirty.child]);
    expect((await listWorktrees(dir)).map((w) => w.state)).toEqual(["orphaned", "orphaned"]);

    const dry = await pruneWorktrees(dir, { dryRun: true });
    expect(dry.pruned).toEqual([{ slug: "killed", path: clean.path, branch: "corral/killed", reason: "owner-dead" }]);
    expect(existsSync(clean.path)).toBe(true);
    const done = await pruneWorktrees(dir);
    expect(done.pruned.map((p) => p.slug)).toEqual(["killed"]);
    expect(done.kept).toEqual([{ slug: "killed-dirty", path: dirty.path, reason: expect.stringMatching(/1 uncommitted change/) }]);
    expect(existsSync(clean.path)).toBe(false);
    expect(existsSync(join(dirty.path, "unsaved.txt"))).toBe(true);
    expect((await listWorktrees(dir)).map((w) => [w.slug, w.state, w.locked])).toEqual([["killed-dirty", "kept", false]]);
    expect(await branches(dir)).toEqual(expect.arrayContaining(["corral/killed", "corral/killed-dirty"]));
  });
});
