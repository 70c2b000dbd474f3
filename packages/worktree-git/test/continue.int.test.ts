import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gitIn } from "@corral/test-support";
import { BranchExistsError, BranchGoneError } from "../src/index.js";
import { agentCommit, branches, hasGit, isolation, request, tempRepos } from "./helpers.js";

const repo = tempRepos();

describe.runIf(hasGit)("branchExists: a named run whose branch exists", () => {
  async function withFix1(dir: string): Promise<string> {
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "fix-1" }));
    const sha = await agentCommit(ws, "a.txt", "a");
    await iso.release(ws, { outcome: "succeeded" });
    return sha;
  }

  it("new (the default) makes another branch and says so in the workspace's notes", async () => {
    const dir = await repo();
    await withFix1(dir);
    const ws = await isolation().acquire(request(dir, { name: "fix-1" }));
    expect(ws.branch).toBe("corral/fix-1-2");
    expect(ws.notes?.join("\n")).toMatch(/corral\/fix-1 exists already.*--branch-exists reuse.*--resume/);
    // A branch that is free says nothing.
    const other = await isolation().acquire(request(dir, { name: "fix-9" }));
    expect(other.notes).toBeUndefined();
  });

  it("fail refuses with E_BRANCH_EXISTS, a hint naming --resume and --branch-exists, and creates nothing", async () => {
    const dir = await repo();
    await withFix1(dir);
    const before = await branches(dir);
    const error = await isolation().acquire(request(dir, { name: "fix-1", branchExists: "fail" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BranchExistsError);
    expect((error as BranchExistsError).code).toBe("E_BRANCH_EXISTS");
    expect((error as BranchExistsError).hint).toMatch(/--resume.*--branch-exists/);
    expect(await branches(dir)).toEqual(before);
    expect(await gitIn(dir, "worktree", "list", "--porcelain")).not.toContain("fix-1-2");
    // The twin: a free name under fail runs as usual.
    expect((await isolation().acquire(request(dir, { name: "fix-2", branchExists: "fail" }))).branch).toBe("corral/fix-2");
  });

  it("reuse continues on the existing branch: its tip is the base, the agent's new commit lands on it", async () => {
    const dir = await repo();
    const first = await withFix1(dir);
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "fix-1", branchExists: "reuse" }));
    expect(ws.branch).toBe("corral/fix-1");
    expect(ws.baseCommit).toBe(first);
    expect(await readFile(join(ws.path, "a.txt"), "utf8")).toBe("a");
    const second = await agentCommit(ws, "b.txt", "b");
    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(released.commits.map((c) => c.sha)).toEqual([second]);
    expect(await gitIn(dir, "rev-parse", "corral/fix-1")).toBe(second);
    expect(await gitIn(dir, "rev-parse", "corral/fix-1^")).toBe(first);
  });
});

describe.runIf(hasGit)("continueFrom: a run that continues another", () => {
  it("reuse of a branch a kept worktree holds takes that worktree (git would refuse a second checkout)", async () => {
    const dir = await repo();
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "held" }));
    await agentCommit(ws, "a.txt", "a");
    await writeFile(join(ws.path, "wip.txt"), "w");
    await iso.release(ws, { outcome: "failed" });
    const next = await iso.acquire(request(dir, { name: "held", branchExists: "reuse" }));
    expect(next.path).toBe(ws.path);
    expect(await readFile(join(next.path, "wip.txt"), "utf8")).toBe("w");
    await iso.release(next, { outcome: "failed" });
  });

  it("takes the kept worktree (uncommitted work as it was) on the same branch, with a fresh git dir of its own", async () => {
    const dir = await repo();
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "task" }));
    const first = await agentCommit(ws, "a.txt", "a");
    await writeFile(join(ws.path, "wip.txt"), "half done");
    const released = await iso.release(ws, { outcome: "incomplete" });
    expect(released.removed).toBe(false);

    const next = await iso.acquire(request(dir, { continueFrom: { branch: "corral/task", path: ws.path, baseBranch: "main" } }));
    expect(next.path).toBe(ws.path);
    expect(next.branch).toBe("corral/task");
    expect(next.baseCommit).toBe(first);
    expect(next.baseBranch).toBe("main");
    expect(await readFile(join(next.path, "wip.txt"), "utf8")).toBe("half done");
    const status = JSON.parse(await readFile(join(dir, ".git/corral/worktrees/task.json"), "utf8")) as { state: string; runGitDir: string };
    expect(status.state).toBe("active");
    expect(next.gitMounts.find((m) => !m.readonly)?.host).toBe(status.runGitDir);
    // Its work comes back through the verifying transfer like any run's.
    const second = await agentCommit(next, "wip.txt", "done");
    const again = await iso.release(next, { outcome: "succeeded" });
    expect(again.commits.map((c) => c.sha)).toEqual([second]);
    expect(await gitIn(dir, "rev-parse", "corral/task^")).toBe(first);
  });

  it("a kept worktree whose .git the agent pointed elsewhere is pinned back before it is handed out", async () => {
    const dir = await repo();
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "hostile" }));
    await agentCommit(ws, "a.txt", "a");
    await writeFile(join(ws.path, "wip.txt"), "x");
    await iso.release(ws, { outcome: "failed" });
    // Between the runs, the kept folder's .git is made to lead to a planted git dir.
    await writeFile(join(dir, "evil-gitdir"), "");
    await writeFile(join(ws.path, ".git"), `gitdir: ${join(dir, "evil-gitdir")}\n`);
    const next = await iso.acquire(request(dir, { continueFrom: { branch: "corral/hostile", path: ws.path } }));
    expect(await readFile(join(next.path, ".git"), "utf8")).toBe(`gitdir: ${join(dir, ".git/worktrees/hostile")}\n`);
    await iso.release(next, { outcome: "failed" });
  });

  it("a removed worktree: a new worktree on the run's existing branch, at its tip", async () => {
    const dir = await repo();
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "gone" }));
    const first = await agentCommit(ws, "a.txt", "a");
    expect((await iso.release(ws, { outcome: "incomplete" })).removed).toBe(true);
    const next = await iso.acquire(request(dir, { continueFrom: { branch: "corral/gone", path: ws.path } }));
    expect(next.branch).toBe("corral/gone");
    expect(next.baseCommit).toBe(first);
    expect(next.path).toBe(ws.path);
    expect(await readFile(join(next.path, "a.txt"), "utf8")).toBe("a");
    await iso.release(next, { outcome: "incomplete" });
  });

  it("a branch that is gone is E_BRANCH_GONE, and nothing is made", async () => {
    const dir = await repo();
    const error = await isolation().acquire(request(dir, { continueFrom: { branch: "corral/never" } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BranchGoneError);
    expect((error as BranchGoneError).code).toBe("E_BRANCH_GONE");
    expect(await branches(dir)).toEqual(["main"]);
  });

  it("a kept folder that is a symlink elsewhere is not taken", async () => {
    const dir = await repo();
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "linked" }));
    await agentCommit(ws, "a.txt", "a");
    await iso.release(ws, { outcome: "succeeded" });
    await symlink("/tmp", join(dir, ".corral/worktrees/elsewhere"));
    const next = await iso.acquire(request(dir, { continueFrom: { branch: "corral/linked", path: join(dir, ".corral/worktrees/elsewhere") } }));
    expect(next.path).toBe(join(dir, ".corral/worktrees/elsewhere-2"));
    await iso.release(next, { outcome: "succeeded" });
  });
});
