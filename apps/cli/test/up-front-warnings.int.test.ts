import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/corral.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa(BIN, args, { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
const AGENT = ["--", "sh", "-c", 'echo "<promise>COMPLETE</promise>"', "{prompt}"];

describe("the run says up front what it will not see", () => {
  it("uncommitted and untracked files of the checkout are not in a worktree run (and copy is named); twin: a clean checkout says nothing", async () => {
    const repo = await tempRepo({ "README.md": "# x\n", "src/a.txt": "a\n" });
    await writeFile(join(repo, "src/a.txt"), "changed\n");
    await writeFile(join(repo, "notes.txt"), "untracked\n");
    const dirty = await corral(["run", "--prompt", "p", ...AGENT], repo);
    expect(dirty.exitCode, dirty.stderr).toBe(0);
    expect(dirty.stderr).toMatch(/starts from the last commit: 1 uncommitted change\(s\) and 1 untracked file\(s\) of your checkout are not in its workspace.*copy/);

    const clean = await tempRepo();
    const r = await corral(["run", "--prompt", "p", ...AGENT], clean);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/last commit/);
  });

  it("the same when the worktree isolation is asked for by name (the checkout's status is then asked while git says it is a repository); twin: in-place says nothing", async () => {
    const repo = await tempRepo({ "README.md": "# x\n", "src/a.txt": "a\n" });
    await writeFile(join(repo, "src/a.txt"), "changed\n");
    const dirty = await corral(["run", "--isolation", "worktree", "--prompt", "p", ...AGENT], repo);
    expect(dirty.exitCode, dirty.stderr).toBe(0);
    expect(dirty.stderr).toMatch(/starts from the last commit: 1 uncommitted change\(s\) of your checkout are not in its workspace/);
    const inPlace = await corral(["run", "--isolation", "in-place", "--prompt", "p", ...AGENT], repo);
    expect(inPlace.exitCode, inPlace.stderr).toBe(0);
    expect(inPlace.stderr).not.toMatch(/last commit/);
  });

  it("a folder that is not a git repository means in-place, said at the start; twin: asking for in-place says nothing", async () => {
    const folder = await tempDir("corral-not-git-");
    const r = await corral(["run", "--prompt", "p", ...AGENT], folder);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/is not a git repository: the agent works in this folder itself \(in-place\)/);
    const asked = await corral(["run", "--isolation", "in-place", "--prompt", "p", ...AGENT], folder);
    expect(asked.stderr).not.toMatch(/not a git repository/);
  });

  it("two config files in one folder: the run names the one it used", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "corral.config.json"), JSON.stringify({ maxIterations: 1 }));
    await writeFile(join(repo, "corral.config.mjs"), "export default { maxIterations: 1 };\n");
    await execa("git", ["add", "-A"], { cwd: repo });
    await execa("git", ["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "configs"], { cwd: repo });
    const r = await corral(["run", "--prompt", "p", ...AGENT], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/corral\.config\.\w+ is used; .*corral\.config\.\w+ is ignored/);
  });
});
