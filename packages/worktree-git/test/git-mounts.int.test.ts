import { execa } from "execa";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { GitMount } from "@corral/core";
import { gitIn, hasCommand, removeDir, requireTool, tempRepo } from "@corral/test-support";
import { hasGit, isolation, request } from "./helpers.js";

const hasBwrap = hasGit && requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)");

const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await removeDir(dir);
});

/**
 * bwrap with only the system, the worktree and the Workspace's gitMounts: the contract a sandbox
 * relies on — every entry mounted, parents before children, so the deeper entry wins.
 */
function sandboxArgs(path: string, mounts: GitMount[]): string[] {
  const system = ["/usr", "/etc"].flatMap((p) => ["--ro-bind", p, p]);
  const links = ["bin", "sbin", "lib", "lib64"].filter((l) => existsSync(`/${l}`)).flatMap((l) => ["--symlink", `usr/${l}`, `/${l}`]);
  return [
    ...system,
    ...links,
    "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
    "--bind", path, path,
    ...[...mounts]
      .sort((a, b) => a.sandbox.split("/").length - b.sandbox.split("/").length)
      .flatMap((m) => [m.readonly ? "--ro-bind" : "--bind", m.host, m.sandbox]),
    "--chdir", path, "--unshare-all", "--die-with-parent",
  ];
}

describe.runIf(hasBwrap)("gitMounts", () => {
  it("are enough to commit inside a sandbox; the commit reaches the user's repository only through release", async () => {
    const dir = await tempRepo();
    cleanup.push(dir);
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "boxed" }));
    const inside = (script: string) =>
      execa("bwrap", [...sandboxArgs(ws.path, ws.gitMounts), "sh", "-c", script], {
        reject: false,
        env: { PATH: "/usr/bin:/bin", HOME: "/tmp", GIT_AUTHOR_NAME: "Agent", GIT_AUTHOR_EMAIL: "a@example.com", GIT_COMMITTER_NAME: "Agent", GIT_COMMITTER_EMAIL: "a@example.com" },
        extendEnv: false,
      });
    const commit = await inside("echo boxed > boxed.txt && git add boxed.txt && git commit -q -m 'from the sandbox' && git rev-parse HEAD");
    expect(commit.stderr).toBe("");
    expect(commit.exitCode).toBe(0);
    expect(await gitIn(dir, "rev-parse", "corral/boxed")).toBe(ws.baseCommit);

    // The agent's git dir is its own to wreck; none of it reaches the user's git dir.
    const own = `${dir}/.git/worktrees/boxed`;
    const configBefore = await readFile(`${dir}/.git/config`, "utf8");
    const writes = await inside(`echo x >> ${own}/commondir; git config core.hooksPath /tmp; echo evil > .git; mv .git .git-moved; echo done`);
    expect(writes.stdout).toBe("done");
    expect(writes.stderr).toMatch(/Read-only file system|Device or resource busy/);
    expect(await readFile(`${own}/commondir`, "utf8")).toBe("../..\n");
    expect(await readFile(`${dir}/.git/config`, "utf8")).toBe(configBefore);
    expect(await readFile(`${ws.path}/.git`, "utf8")).toBe(`gitdir: ${own}\n`);
    // corral's own records and the main checkout are not visible at all
    const look = await inside(`ls ${dir}/.git/corral ${dir}/README.md 2>&1; true`);
    expect(look.stdout).toMatch(/No such file or directory[\s\S]*No such file or directory/);

    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(released.commits.map((c) => [c.sha, c.subject, c.files])).toEqual([[commit.stdout.trim(), "from the sandbox", ["boxed.txt"]]]);
    expect(await gitIn(dir, "log", "-1", "--format=%s", "corral/boxed")).toBe("from the sandbox");
    expect(released.removed).toBe(true);
  });

  it("let the agent move only its own branch: the user's branches and tags stay as they were", async () => {
    const dir = await tempRepo();
    cleanup.push(dir);
    await gitIn(dir, "tag", "v1.0");
    const mainBefore = await gitIn(dir, "rev-parse", "main");
    const iso = isolation();
    const ws = await iso.acquire(request(dir, { name: "refs" }));
    const env = { PATH: "/usr/bin:/bin", HOME: "/tmp", GIT_AUTHOR_NAME: "A", GIT_AUTHOR_EMAIL: "a@e.x", GIT_COMMITTER_NAME: "A", GIT_COMMITTER_EMAIL: "a@e.x" };
    const inside = (script: string) => execa("bwrap", [...sandboxArgs(ws.path, ws.gitMounts), "sh", "-c", script], { reject: false, env, extendEnv: false });
    const own = await inside("echo x > x.txt && git add x.txt && git commit -qm mine && echo ok");
    expect(own.stdout).toBe("ok");
    // The attack: point the user's main and tag at the agent's commit, and make a branch of its own.
    // It sees the user's refs (a snapshot in its own git dir) and may move them there; nothing more.
    const attack = await inside("git rev-parse -q --verify main >/dev/null && git update-ref refs/heads/main HEAD && git tag -f v1.0 HEAD >/dev/null && git branch sneaky HEAD && echo moved-its-copies");
    expect(attack.stdout).toBe("moved-its-copies");
    const released = await iso.release(ws, { outcome: "succeeded" });
    expect(await gitIn(dir, "rev-parse", "main")).toBe(mainBefore);
    expect(await gitIn(dir, "rev-parse", "v1.0^{commit}")).toBe(mainBefore);
    expect(await gitIn(dir, "branch", "--list", "sneaky")).toBe("");
    expect(await gitIn(dir, "log", "-1", "--format=%s", "corral/refs")).toBe("mine");
    expect(released.commits.map((c) => c.subject)).toEqual(["mine"]);
    expect(released.removed).toBe(true);
  });
});
