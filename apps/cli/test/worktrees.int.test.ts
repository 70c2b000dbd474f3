import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gitIn, processesMatching, tempDir, tempRepo, waitFor } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });

describe("corral worktrees list|remove|prune", () => {
  it("lists kept and orphaned worktrees, prunes the orphan (branch kept), removes the dirty one only with --force", async () => {
    const repo = await tempRepo();
    // A run that finishes (says the completion signal) and leaves uncommitted work: its worktree is kept.
    const kept = await corral(["run", "--isolation", "worktree", "--name", "dirty", "--prompt", "x", "--", "sh", "-c", "echo wip > wip.txt && echo '<promise>COMPLETE</promise>'"], repo);
    expect(kept.exitCode).toBe(0);
    // A run killed mid-way after committing: its worktree is an orphan.
    const marker = `corral-wt-${process.pid}-${Date.now()}`;
    const child = execa("node", [BIN, "run", "--isolation", "worktree", "--name", "killed", "--prompt", "x", "--", "sh", "-c", `echo a > a.txt && git add a.txt && git -c user.name=A -c user.email=a@example.com commit -qm "agent: a" && echo committed && exec sleep 300 # ${marker}`], { cwd: repo, reject: false, env: { NO_COLOR: "1" } });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes("committed"), 30_000, "the agent to commit");
    child.kill("SIGKILL");
    await child;

    const list = await corral(["worktrees", "list", "--json"], repo);
    expect(list.exitCode).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ slug: string; state: string; branch: string }>;
    expect(rows.map((r) => [r.slug, r.state, r.branch])).toEqual([
      ["dirty", "kept", "corral/dirty"],
      ["killed", "orphaned", "corral/killed"],
    ]);
    const table = await corral(["worktrees"], repo);
    expect(table.stdout).toMatch(/^SLUG\s+STATE\s+BRANCH/);
    expect(table.stdout).toMatch(/killed\s+orphaned\s+corral\/killed/);

    const dry = await corral(["worktrees", "prune", "--dry-run"], repo);
    expect(dry.stderr).toMatch(/would remove .*killed \(owner-dead\); branch corral\/killed kept/);
    expect(existsSync(join(repo, ".corral", "worktrees", "killed"))).toBe(true);
    const pruned = await corral(["worktrees", "prune"], repo);
    expect(pruned.exitCode).toBe(0);
    expect(existsSync(join(repo, ".corral", "worktrees", "killed"))).toBe(false);
    expect(await gitIn(repo, "log", "--format=%s", "-1", "corral/killed")).toBe("agent: a");
    expect(existsSync(join(repo, ".corral", "worktrees", "dirty", "wip.txt"))).toBe(true);

    const refused = await corral(["worktrees", "remove", "dirty"], repo);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/1 uncommitted change\(s\): wip.txt/);
    expect(refused.stderr).toMatch(/hint: .*--force/);
    const removed = await corral(["worktrees", "remove", "dirty", "--force", "--delete-branch"], repo);
    expect(removed.exitCode).toBe(0);
    expect(removed.stderr).toContain("branch corral/dirty deleted");
    expect(existsSync(join(repo, ".corral", "worktrees", "dirty"))).toBe(false);
    expect(await gitIn(repo, "branch", "--list", "corral/dirty")).toBe("");
    expect(JSON.parse((await corral(["worktrees", "list", "--json"], repo)).stdout)).toEqual([]);
    // The killed run's host agent still sleeps (`corral clean` would stop it); end it by pid.
    for (const pid of await processesMatching(marker)) process.kill(pid, "SIGKILL");
  });

  it("bad input exits 2 with a hint", async () => {
    const repo = await tempRepo();
    for (const [args, message] of [
      [["worktrees", "remove"], /needs a worktree/],
      [["worktrees", "list", "--force"], /--force does not go with/],
      [["worktrees", "frob"], /Unknown action "frob"/],
    ] as const) {
      const r = await corral([...args], repo);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("hint:");
    }
    const outside = await corral(["worktrees", "list"], await tempDir());
    expect(outside.exitCode).toBe(2);
    expect(outside.stderr).toMatch(/not inside a git repository/);
  });
});
