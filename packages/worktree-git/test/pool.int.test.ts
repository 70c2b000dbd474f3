import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gitIn, removeDir, tempRepo } from "@corral/test-support";
import { listWorktrees } from "../src/index.js";
import { agentCommit, branches, commitFile, hasGit, isolation, request, worktreePaths } from "./helpers.js";

const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await removeDir(dir);
});

describe.runIf(hasGit)("worktree reuse (the pool)", () => {
  it("hands a released worktree to the next run, on the new branch and base, pristine", async () => {
    const dir = await tempRepo({ "README.md": "r\n", "keep.txt": "k\n", ".gitignore": "build/\n" });
    cleanup.push(dir);
    const iso = isolation({ reuse: true });
    const first = await iso.acquire(request(dir, { name: "first" }));
    await agentCommit(first, "first.txt", "1");
    await mkdir(join(first.path, "build"));
    await writeFile(join(first.path, "build/out.o"), "ignored build output");
    const released = await iso.release(first, { outcome: "succeeded" });
    expect(released.removed).toBe(false);
    expect(released.notes?.[0]).toMatch(/pool/);
    expect((await listWorktrees(dir)).map((w) => [w.slug, w.state, w.branch])).toEqual([["first", "pooled", undefined]]);
    expect(await branches(dir)).toContain("corral/first"); // kept, and free to check out elsewhere

    const newBase = await commitFile(dir, "keep.txt", "changed on main\n");
    const second = await iso.acquire(request(dir, { name: "second" }));
    expect((second.meta as { reused: boolean }).reused).toBe(true);
    expect(second.path).toBe(join(dir, ".corral/worktrees/second"));
    expect(existsSync(first.path)).toBe(false);
    expect(second.branch).toBe("corral/second");
    expect(second.baseCommit).toBe(newBase);
    expect(await gitIn(second.path, "rev-parse", "HEAD")).toBe(newBase);
    expect(await gitIn(second.path, "rev-parse", "--abbrev-ref", "HEAD")).toBe("corral/second");
    expect(await readFile(join(second.path, "keep.txt"), "utf8")).toBe("changed on main\n");
    expect(existsSync(join(second.path, "first.txt"))).toBe(false); // the previous run's commit is not here
    expect(existsSync(join(second.path, "build"))).toBe(false); // nor its ignored output
    expect(await gitIn(second.path, "status", "--porcelain", "--untracked-files=all")).toBe("");
    expect(await worktreePaths(dir)).toEqual([second.path]);
    expect(await gitIn(dir, "worktree", "list", "--porcelain")).toMatch(/locked corral run /);
    await agentCommit(second, "second.txt", "2");
    expect((await iso.release(second, { outcome: "succeeded" })).commits.map((c) => c.files)).toEqual([["second.txt"]]);
  });

  it("keeps at most poolSize worktrees and never pools a dirty one", async () => {
    const dir = await tempRepo();
    cleanup.push(dir);
    const iso = isolation({ reuse: true, poolSize: 1 });
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((name) => iso.acquire(request(dir, { name }))));
    await writeFile(join(c!.path, "dirty.txt"), "x");
    expect((await iso.release(a!, { outcome: "succeeded" })).removed).toBe(false);
    expect((await iso.release(b!, { outcome: "succeeded" })).removed).toBe(true);
    expect((await iso.release(c!, { outcome: "succeeded" })).keptReason).toMatch(/uncommitted/);
    expect((await listWorktrees(dir)).map((w) => [w.slug, w.state])).toEqual([["a", "pooled"], ["c", "kept"]]);
  });

  it("concurrent acquires share the pool without handing one worktree to two runs", async () => {
    const dir = await tempRepo();
    cleanup.push(dir);
    const iso = isolation({ reuse: true, poolSize: 4 });
    const first = await Promise.all(["p1", "p2", "p3"].map((name) => iso.acquire(request(dir, { name }))));
    for (const ws of first) await iso.release(ws, { outcome: "succeeded" });
    const next = await Promise.all(Array.from({ length: 6 }, () => iso.acquire(request(dir, { name: "q" }))));
    expect(new Set(next.map((w) => w.path)).size).toBe(6);
    expect(next.filter((w) => (w.meta as { reused: boolean }).reused)).toHaveLength(3);
    expect((await worktreePaths(dir)).sort()).toEqual(next.map((w) => w.path).sort());
  });
});
