import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gitIn, removeDir, tempRepo } from "@corral/test-support";
import { agentCommit, agentGit, branches, commitFile, hasGit, isolation, request, worktreePaths } from "./helpers.js";

const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await removeDir(dir);
});
async function repo(files?: Record<string, string>): Promise<string> {
  const dir = await tempRepo(files);
  cleanup.push(dir);
  return dir;
}

describe.runIf(hasGit)("commits and release", () => {
  it("brings back the commits made inside the worktree, then removes it and keeps the branch", async () => {
    const dir = await repo();
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "work" }));
    const first = await agentCommit(ws, "a.txt", "a", "add a");
    await writeFile(join(ws.path, "README.md"), "changed\n");
    await writeFile(join(ws.path, "b.txt"), "b");
    await agentGit(ws, "add", "-A");
    await agentGit(ws, "commit", "-q", "-m", "change readme and add b");
    // The agent committed in its own git dir: the user's branch has not moved yet.
    expect(await gitIn(dir, "rev-parse", "corral/work")).toBe(ws.baseCommit);

    const released = await iso.release(ws, { outcome: "succeeded" });
    const commits = released.commits;
    expect(commits.map((c) => c.subject)).toEqual(["add a", "change readme and add b"]);
    expect(commits[0]).toMatchObject({ sha: first, author: "Test <test@example.com>", files: ["a.txt"] });
    expect(commits[1]!.files.sort()).toEqual(["README.md", "b.txt"]);
    expect(Date.parse(commits[0]!.time)).not.toBeNaN();
    expect(released).toEqual({ commits, removed: true });
    expect(existsSync(ws.path)).toBe(false);
    expect(await worktreePaths(dir)).toEqual([]);
    expect(await branches(dir)).toContain("corral/work");
    expect(await gitIn(dir, "log", "-1", "--format=%s", "corral/work")).toBe("change readme and add b");
    expect(existsSync(join(dir, ".git/corral/worktrees/work.json"))).toBe(false);
  });

  it("a dirty release keeps the work and says where it is", async () => {
    const dir = await repo();
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "dirty" }));
    await writeFile(join(ws.path, "README.md"), "half done\n");
    await writeFile(join(ws.path, "new.txt"), "untracked");
    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(released.removed).toBe(false);
    expect(released.path).toBe(ws.path);
    expect(released.keptReason).toMatch(/2 uncommitted change/);
    expect(await readFile(join(ws.path, "README.md"), "utf8")).toBe("half done\n");
    expect(await readFile(join(ws.path, "new.txt"), "utf8")).toBe("untracked");
    // Defused and honest: git there uses corral's admin dir and index, and shows exactly the leftovers.
    expect(await gitIn(ws.path, "rev-parse", "--git-dir")).toBe(join(dir, ".git/worktrees/dirty"));
    expect((await gitIn(ws.path, "status", "--porcelain")).split("\n").sort()).toEqual([" M README.md", "?? new.txt"]);
    // unlocked, marked kept: a later process can tell it was kept on purpose
    expect(await gitIn(dir, "worktree", "list", "--porcelain")).not.toMatch(/^locked/m);
    const status = JSON.parse(await readFile(join(dir, ".git/corral/worktrees/dirty.json"), "utf8"));
    expect(status).toMatchObject({ state: "kept", keptReason: expect.stringMatching(/uncommitted/) });
  });

  it("commits the leftovers as a WIP commit when asked, then removes the worktree", async () => {
    const dir = await repo();
    const iso = isolation({ uncommitted: "commit" });
    const ws = await iso.acquire(request(dir, { name: "wip" }));
    await writeFile(join(ws.path, "left.txt"), "over");
    const released = await iso.release(ws, { outcome: "failed" });
    expect(released.removed).toBe(true);
    expect(released.notes?.[0]).toMatch(/Committed 1 uncommitted file\(s\) as WIP commit [0-9a-f]{12} on corral\/wip/);
    expect(await gitIn(dir, "show", "corral/wip:left.txt")).toBe("over");
    expect(await gitIn(dir, "log", "-1", "--format=%s", "corral/wip")).toMatch(/^WIP: uncommitted changes left by corral run/);
  });

  it("keeps a failed run's worktree with keepFailed; deletes an empty branch with deleteBranch", async () => {
    const dir = await repo();
    const kept = isolation({ keepFailed: true });
    const ws = await kept.acquire(request(dir, { name: "failed" }));
    const result = await kept.release(ws, { outcome: "failed" });
    expect(result).toMatchObject({ removed: false, path: ws.path, keptReason: expect.stringMatching(/failed/) });
    expect(existsSync(ws.path)).toBe(true);

    const deleting = isolation({ deleteBranch: true });
    const empty = await deleting.acquire(request(dir, { name: "empty" }));
    expect((await deleting.release(empty, { outcome: "succeeded" })).notes).toEqual(["Deleted the branch corral/empty."]);
    const busy = await deleting.acquire(request(dir, { name: "busy" }));
    await agentCommit(busy, "x.txt", "x");
    expect((await deleting.release(busy, { outcome: "succeeded" })).notes?.[0]).toMatch(/Kept the branch corral\/busy: it has 1 commit/);
    expect(await branches(dir)).toEqual(expect.arrayContaining(["corral/busy"]));
    expect(await branches(dir)).not.toContain("corral/empty");
    // A branch git refuses to delete (another git holds its ref's lock) is kept, and the note says so.
    const locked = await deleting.acquire(request(dir, { name: "locked" }));
    await writeFile(join(dir, ".git/refs/heads/corral/locked.lock"), "");
    expect((await deleting.release(locked, { outcome: "succeeded" })).notes).toEqual([expect.stringMatching(/^Kept the branch corral\/locked: git could not delete it \(.*cannot lock ref/)]);
    expect(await branches(dir)).toContain("corral/locked");
  });

  it("keeps a detached worktree whose commits are on no branch", async () => {
    const dir = await repo();
    const iso = isolation({ detach: true });
    const ws = await iso.acquire(request(dir, { name: "det" }));
    const sha = await agentCommit(ws, "d.txt", "d");
    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(released).toMatchObject({ removed: false, keptReason: expect.stringMatching(/no branch/) });
    // The kept worktree's HEAD (in corral's admin dir) holds the commit, so it stays reachable.
    expect(await gitIn(ws.path, "rev-parse", "HEAD")).toBe(sha);
    expect(await gitIn(ws.path, "status", "--porcelain")).toBe("");
  });

  it("cleans up when the worktree folder was deleted under it", async () => {
    const dir = await repo();
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "gone" }));
    await removeDir(ws.path);
    const released = await iso.release(ws, { outcome: "failed" });
    expect(released.removed).toBe(true);
    expect(await worktreePaths(dir)).toEqual([]);
  });
});

describe.runIf(hasGit)("merge-back", () => {
  it("merge: fast-forwards the base branch in the clean main checkout", async () => {
    const dir = await repo();
    const iso = isolation({ mergeBack: "merge" });
    const ws = await iso.acquire(request(dir, { name: "ff" }));
    const tip = await agentCommit(ws, "feature.txt", "feature");
    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(released.notes).toEqual([`corral/ff fast-forwarded into main (${tip.slice(0, 12)}).`]);
    expect(await gitIn(dir, "rev-parse", "HEAD")).toBe(tip);
    expect(await readFile(join(dir, "feature.txt"), "utf8")).toBe("feature");
    expect(await gitIn(dir, "status", "--porcelain")).toBe("");
  });

  it("merge: makes a merge commit when main moved on; squash: one commit", async () => {
    const dir = await repo({ "README.md": "r\n", "a.txt": "a\n" });
    const merging = isolation({ mergeBack: "merge" });
    const ws = await merging.acquire(request(dir, { name: "m" }));
    const runTip = await agentCommit(ws, "run.txt", "run");
    const mainTip = await commitFile(dir, "main.txt", "main");
    const released = await merging.release(ws, { outcome: "succeeded" });
    expect(released.notes?.[0]).toMatch(/^corral\/m merged into main/);
    expect((await gitIn(dir, "rev-parse", "HEAD^1", "HEAD^2")).split("\n")).toEqual([mainTip, runTip]);
    expect(await readFile(join(dir, "run.txt"), "utf8")).toBe("run");

    const squashing = isolation({ mergeBack: "squash" });
    const sq = await squashing.acquire(request(dir, { name: "sq" }));
    await agentCommit(sq, "s1.txt", "1", "first");
    await agentCommit(sq, "s2.txt", "2", "second");
    const before = await gitIn(dir, "rev-parse", "HEAD");
    const result = await squashing.release(sq, { outcome: "succeeded" });
    expect(result.notes?.[0]).toMatch(/^corral\/sq squashed into main/);
    expect(await gitIn(dir, "rev-parse", "HEAD^")).toBe(before);
    expect((await gitIn(dir, "rev-list", "--parents", "-n1", "HEAD")).split(" ")).toHaveLength(2); // one parent
    expect(await gitIn(dir, "log", "-1", "--format=%B")).toMatch(/- first\n- second/);
    expect(existsSync(join(dir, "s2.txt"))).toBe(true);
  });

  it("rebase: replays the run's commits on the moved base (authors and messages kept), no merge commit", async () => {
    const dir = await repo({ "README.md": "r\n", "a.txt": "a\n" });
    const iso = isolation({ mergeBack: "rebase" });
    const ws = await iso.acquire(request(dir, { name: "rb" }));
    await agentCommit(ws, "r1.txt", "1", "first");
    await agentCommit(ws, "r2.txt", "2", "second");
    const mainTip = await commitFile(dir, "main.txt", "main");
    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(released.notes?.[0]).toMatch(/^corral\/rb rebased into main/);
    const original = await gitIn(dir, "log", "--format=%s|%an <%ae> %ad", "corral/rb", "-2");
    expect(original.split("\n").map((row) => row.split("|")[0])).toEqual(["second", "first"]);
    expect(await gitIn(dir, "log", "--format=%s|%an <%ae> %ad", `${mainTip}..HEAD`)).toBe(original);
    expect(await gitIn(dir, "rev-list", "--merges", "--count", "HEAD")).toBe("0");
    expect(await gitIn(dir, "rev-parse", "HEAD~2")).toBe(mainTip);
    expect(await readFile(join(dir, "r2.txt"), "utf8")).toBe("2");
    expect(await gitIn(dir, "status", "--porcelain")).toBe("");
  });

  it("a conflict leaves everything as it was and says so", async () => {
    const dir = await repo({ "README.md": "r\n", "shared.txt": "base\n" });
    const iso = isolation({ mergeBack: "merge" });
    const ws = await iso.acquire(request(dir, { name: "clash" }));
    const runTip = await agentCommit(ws, "shared.txt", "run side\n");
    const mainTip = await commitFile(dir, "shared.txt", "main side\n");
    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(released.notes?.[0]).toMatch(/stopped on a conflict in shared\.txt; nothing was changed and corral\/clash is kept/);
    expect(await gitIn(dir, "rev-parse", "HEAD")).toBe(mainTip);
    expect(await gitIn(dir, "rev-parse", "corral/clash")).toBe(runTip);
    expect(await readFile(join(dir, "shared.txt"), "utf8")).toBe("main side\n");
    expect(await gitIn(dir, "status", "--porcelain")).toBe("");
    expect(existsSync(join(dir, ".git/MERGE_HEAD"))).toBe(false);
  });

  it("skips when the main checkout has uncommitted changes; skips a failed run", async () => {
    const dir = await repo();
    const iso = isolation({ mergeBack: "squash" });
    const ws = await iso.acquire(request(dir, { name: "busy-main" }));
    await agentCommit(ws, "x.txt", "x");
    const mainTip = await gitIn(dir, "rev-parse", "HEAD");
    await writeFile(join(dir, "README.md"), "editing\n");
    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(released.notes?.[0]).toMatch(/Merge-back skipped: .* has uncommitted changes/);
    expect(await gitIn(dir, "rev-parse", "HEAD")).toBe(mainTip);
    expect(await readFile(join(dir, "README.md"), "utf8")).toBe("editing\n");

    const failed = await iso.acquire(request(dir, { name: "failed-run" }));
    await agentCommit(failed, "y.txt", "y");
    expect((await iso.release(failed, { outcome: "failed" })).notes).toBeUndefined();
    expect(await gitIn(dir, "rev-parse", "HEAD")).toBe(mainTip);
  });

  it("never merges into a base branch checked out in another run's worktree", async () => {
    const dir = await repo();
    const first = await isolation().acquire(request(dir, { name: "first" }));
    const iso = isolation({ mergeBack: "merge", base: "corral/first" });
    const second = await iso.acquire(request(dir, { name: "second" }));
    await agentCommit(second, "s.txt", "s");
    const released = await iso.release(second, { outcome: "succeeded" });
    expect(released.notes?.[0]).toMatch(/skipped: corral\/first is checked out in the corral worktree/);
    expect(await gitIn(dir, "rev-parse", "corral/first")).toBe(first.baseCommit);
  });

  it("moves a base branch that no checkout has with a compare-and-swap", async () => {
    const dir = await repo();
    await gitIn(dir, "branch", "release");
    const iso = isolation({ mergeBack: "merge", base: "release" });
    const ws = await iso.acquire(request(dir, { name: "rel" }));
    expect(ws.baseBranch).toBe("release");
    const tip = await agentCommit(ws, "r.txt", "r");
    await iso.release(ws, { outcome: "succeeded" });
    expect(await gitIn(dir, "rev-parse", "release")).toBe(tip);
    expect(await gitIn(dir, "rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
  });
  it("another run's worktree vanishing while git reads them all (a removal at the same moment) is waited out; twin: one that stays broken fails the release, and the worktree stays", async () => {
    const dir = await repo();
    const iso = isolation();
    // git reads every worktree's admin folder before it removes one, and dies on one gone half-way
    // through; this one stays that way until it is removed.
    const ghost = join(dir, ".git/worktrees/ghost");
    const plantGhost = async () => {
      await mkdir(ghost);
      await writeFile(join(ghost, "commondir"), "gone/../..\n");
      await writeFile(join(ghost, "gitdir"), `${join(dir, "..", "ghost", ".git")}\n`);
    };
    const ws = await iso.acquire(request(dir, { name: "walk" }));
    await plantGhost();
    const otherRemovalEnds = setTimeout(() => void rm(ghost, { recursive: true, force: true }), 150);
    try {
      expect(await iso.release(ws, { outcome: "succeeded" })).toMatchObject({ removed: true });
    } finally {
      clearTimeout(otherRemovalEnds);
    }
    expect(existsSync(ws.path)).toBe(false);
    expect(await worktreePaths(dir)).toEqual([]);

    const stuck = await iso.acquire(request(dir, { name: "stuck" }));
    await plantGhost();
    await expect(iso.release(stuck, { outcome: "succeeded" })).rejects.toThrow(/Invalid path '[^']*worktrees\/ghost/);
    expect(existsSync(join(stuck.path, "README.md"))).toBe(true);
    await rm(ghost, { recursive: true, force: true });
    expect(await worktreePaths(dir)).toEqual([stuck.path]);
  }, 30_000);
});
