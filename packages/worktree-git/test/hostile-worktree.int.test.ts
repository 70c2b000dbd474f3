import { existsSync } from "node:fs";
import { readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gitIn, removeDir, tempDir, tempRepo } from "@corral/test-support";
import { pruneWorktrees, worktreeInfo } from "../src/index.js";
import { agentGit, hasGit, isolation, request } from "./helpers.js";

const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await removeDir(dir);
});

/**
 * What an agent can do from inside its worktree: repoint the worktree's `.git` file at a git dir it
 * made, whose config defines a filter that runs a command, and ask for it in `.gitattributes`.
 * Host-side git must never follow it.
 */
async function plantRedirect(path: string, marker: string): Promise<void> {
  const evil = join(path, "evil");
  await gitIn(path, "init", "-q", "--bare", evil);
  await gitIn(evil, "config", "core.bare", "false");
  await gitIn(evil, "config", "filter.x.clean", `sh -c 'touch ${marker}; cat'`);
  await gitIn(evil, "config", "core.fsmonitor", `touch ${marker}-fsmonitor`);
  await writeFile(join(path, ".gitattributes"), "* filter=x\n");
  await writeFile(join(path, ".git"), `gitdir: ${evil}\n`);
}

describe.runIf(hasGit)("a hostile worktree", () => {
  it("host-side git ignores a .git file the agent repointed (release, commits, info, prune)", async () => {
    const dir = await tempRepo();
    const markers = await tempDir("corral-markers-");
    cleanup.push(dir, markers);
    const marker = join(markers, "filter-ran");
    const iso = isolation({ uncommitted: "commit" });
    const ws = await iso.acquire(request(dir, { name: "hostile" }));
    await plantRedirect(ws.path, marker);
    // proof that the trap works when git follows the .git file
    await gitIn(ws.path, "add", "README.md");
    expect(existsSync(marker)).toBe(true);
    expect(existsSync(`${marker}-fsmonitor`)).toBe(true);
    await removeDir(marker);
    await removeDir(`${marker}-fsmonitor`);

    await worktreeInfo(dir, "hostile");
    await pruneWorktrees(dir, { dryRun: true });
    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(`${marker}-fsmonitor`)).toBe(false);
    // the .git file was put back first; the WIP commit went to the real branch, through the quarantine
    expect(released.notes?.[0]).toMatch(/Repaired .*\.git: it had been changed/);
    expect(released.notes?.[1]).toMatch(/WIP commit/);
    expect(released.removed).toBe(true);
    expect(await gitIn(dir, "show", "--name-only", "--format=", "corral/hostile")).toMatch(/\.gitattributes/);
  });
});

describe.runIf(hasGit)("a hostile worktree: submodules and symlinks", () => {
  it("release never enters a nested repository, so its clean filter never runs on the host", async () => {
    const dir = await tempRepo();
    const markers = await tempDir("corral-markers-");
    cleanup.push(dir, markers);
    const marker = join(markers, "submodule-filter-ran");
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "nested" }));
    // The agent's moves: a nested repo with a committed file, then a filter in ITS config and a
    // changed stat on that file, so a recursing `git status` would re-hash it through the filter.
    const sub = join(ws.path, "sub");
    await gitIn(ws.path, "init", "-q", sub);
    await writeFile(join(sub, "f.txt"), "x\n");
    await gitIn(sub, "add", "f.txt");
    await gitIn(sub, "-c", "user.name=A", "-c", "user.email=a@e.x", "commit", "-qm", "sub");
    await agentGit(ws, "add", "sub");
    await agentGit(ws, "-c", "user.name=A", "-c", "user.email=a@e.x", "commit", "-qm", "gitlink");
    await gitIn(sub, "config", "filter.evil.clean", `sh -c 'touch ${marker}; cat'`);
    await writeFile(join(sub, ".gitattributes"), "* filter=evil\n");
    await utimes(join(sub, "f.txt"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    // proof that the trap works when git recurses (as the agent's own git would)
    await agentGit(ws, "status", "--ignore-submodules=none");
    expect(existsSync(marker)).toBe(true);
    await rm(marker);

    const result = await iso.release(ws, { outcome: "succeeded" });
    expect(existsSync(marker)).toBe(false);
    expect(result).toMatchObject({ removed: false, keptReason: expect.stringContaining("nested git repository") });
  });

  it("a host run (no run git dir) that committed a nested repository keeps its worktree for it too (its gitlink is looked for beside the lost-commit checks)", async () => {
    const dir = await tempRepo();
    cleanup.push(dir);
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "nested-host", sandboxed: false }));
    const sub = join(ws.path, "sub");
    await gitIn(ws.path, "init", "-q", sub);
    await writeFile(join(sub, "f.txt"), "x\n");
    await gitIn(sub, "add", "f.txt");
    await gitIn(sub, "-c", "user.name=A", "-c", "user.email=a@e.x", "commit", "-qm", "sub");
    await gitIn(ws.path, "add", "sub");
    await gitIn(ws.path, "-c", "user.name=A", "-c", "user.email=a@e.x", "commit", "-qm", "gitlink");
    const result = await iso.release(ws, { outcome: "succeeded" });
    expect(result).toMatchObject({ removed: false, keptReason: expect.stringContaining("nested git repository (sub)") });
    expect(result.commits.map((c) => c.subject)).toEqual(["gitlink"]);
    // Twin: the same host run without the nested repository is removed.
    const plain = await iso.acquire(request(dir, { name: "plain-host", sandboxed: false }));
    await writeFile(join(plain.path, "g.txt"), "g\n");
    await gitIn(plain.path, "add", "g.txt");
    await gitIn(plain.path, "-c", "user.name=A", "-c", "user.email=a@e.x", "commit", "-qm", "plain");
    expect(await iso.release(plain, { outcome: "succeeded" })).toMatchObject({ removed: true });
  });

  it("release never writes through a `.git` the agent replaced with a symlink to a host file", async () => {
    const dir = await tempRepo();
    const victims = await tempDir("corral-victim-");
    cleanup.push(dir, victims);
    const victim = join(victims, "precious.txt");
    await writeFile(victim, "the user's file\n");
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "symlinked-dotgit" }));
    await rm(join(ws.path, ".git"));
    await symlink(victim, join(ws.path, ".git"));
    const result = await iso.release(ws, { outcome: "succeeded" });
    expect(await readFile(victim, "utf8")).toBe("the user's file\n");
    expect(result.removed).toBe(true);
    expect(existsSync(ws.path)).toBe(false);
  });
});
