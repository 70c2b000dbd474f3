import { execa } from "execa";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { gitIn, hasCommand, removeDir, requireTool, tempRepo } from "@corral/test-support";
import { hasGit, isolation, request } from "./helpers.js";

const hasBwrap = hasGit && requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)");

const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await removeDir(dir);
});

/** bwrap with only the system, the worktree and the Workspace's gitMounts: the contract a sandbox relies on. */
function sandboxArgs(path: string, mounts: { readWrite: string[]; readOnly: string[] }): string[] {
  const system = ["/usr", "/etc"].flatMap((p) => ["--ro-bind", p, p]);
  const links = ["bin", "sbin", "lib", "lib64"].filter((l) => existsSync(`/${l}`)).flatMap((l) => ["--symlink", `usr/${l}`, `/${l}`]);
  return [
    ...system,
    ...links,
    "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
    "--bind", path, path,
    ...mounts.readWrite.flatMap((p) => ["--bind", p, p]),
    ...mounts.readOnly.flatMap((p) => ["--ro-bind", p, p]),
    "--chdir", path, "--unshare-all", "--die-with-parent",
  ];
}

describe.runIf(hasBwrap)("gitMounts", () => {
  it("are enough to commit inside a sandbox, and keep config and hooks read-only", async () => {
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
    const commits = await iso.commits(ws);
    expect(commits.map((c) => [c.sha, c.subject, c.files])).toEqual([[commit.stdout.trim(), "from the sandbox", ["boxed.txt"]]]);
    expect(await gitIn(dir, "log", "-1", "--format=%s", "corral/boxed")).toBe("from the sandbox");

    const config = `${dir}/.git/config`;
    const own = `${dir}/.git/worktrees/boxed`;
    const writes = await inside(
      `for f in ${config} ${own}/commondir ${own}/gitdir ${own}/config.worktree; do echo x >> $f; done; mkdir -p ${dir}/.git/hooks/x; git config core.hooksPath /tmp; echo done`,
    );
    expect(writes.stdout).toBe("done");
    expect(writes.stderr.match(/Read-only file system/g)?.length).toBeGreaterThanOrEqual(5);
    expect(await readFile(`${own}/commondir`, "utf8")).toBe("../..\n");
    expect(await readFile(`${own}/config.worktree`, "utf8")).toBe("");
    expect(await gitIn(dir, "config", "--get", "core.hooksPath").catch(() => "")).toBe("");
    // corral's own records and the main checkout are not visible at all
    const look = await inside(`ls ${dir}/.git/corral ${dir}/README.md 2>&1; true`);
    expect(look.stdout).toMatch(/No such file or directory[\s\S]*No such file or directory/);
    expect((await iso.release(ws, { outcome: "succeeded" })).removed).toBe(true);
  });
});
