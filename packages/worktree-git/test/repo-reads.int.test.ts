import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { git as coreGit } from "@corral/core/plugin-kit";
import { gitIn } from "@corral/test-support";
import { branchExists, PLAIN_BRANCH } from "../src/continue.js";
import { objectFormatOf, resolveRepo } from "../src/repo.js";
import { hasGit, isolation, request, tempRepos } from "./helpers.js";

// The repository questions answered by reading files instead of starting git must give git's answer.
const repo = tempRepos();
const showRef = async (dir: string, branch: string) => (await coreGit(["show-ref", "--verify", "-q", `refs/heads/${branch}`], { cwd: dir, allowFailure: true })).exitCode === 0;

describe.runIf(hasGit)("repository reads without git", () => {
  it("branchExists says what `git show-ref --verify` says: loose, packed, absent, under a branch that is a file, symbolic", async () => {
    const dir = await repo();
    const r = await resolveRepo(dir);
    await gitIn(dir, "branch", "loose/one");
    await gitIn(dir, "branch", "packed/two");
    await gitIn(dir, "branch", "file");
    await gitIn(dir, "pack-refs", "--all");
    await gitIn(dir, "branch", "loose/three");
    await gitIn(dir, "symbolic-ref", "refs/heads/sym", "refs/heads/main");
    await gitIn(dir, "symbolic-ref", "refs/heads/dangling", "refs/heads/nowhere");
    const names = ["main", "loose/one", "packed/two", "loose/three", "file", "file/under", "sym", "dangling", "absent", "packed", "packed/tw", "acked/two", "loose", "a.b", "with.lock"];
    for (const name of names) expect({ name, exists: await branchExists(r, name) }).toEqual({ name, exists: await showRef(dir, name) });
    // A packed-refs file that names the branch only as a peeled line or a prefix does not make it exist.
    await writeFile(join(dir, ".git/packed-refs"), `# pack-refs with: peeled fully-peeled sorted \n${"0".repeat(40)} refs/heads/xpacked/two\n^${"1".repeat(40)}\n`);
    for (const name of ["packed/two", "xpacked/two", "two"]) expect({ name, exists: await branchExists(r, name) }).toEqual({ name, exists: await showRef(dir, name) });
  });

  it("a repository whose ref storage is not plain files is git's to answer", async () => {
    const dir = await repo();
    const r = await resolveRepo(dir);
    // Not a real reftable: only what makes the reads step aside (git then answers from the files).
    await mkdir(join(dir, ".git/reftable"));
    await gitIn(dir, "branch", "kept");
    expect(await branchExists(r, "kept")).toBe(true);
    expect(await branchExists(r, "absent")).toBe(false);
  });

  it("every plain branch name is one git accepts, and the names git refuses are not plain", async () => {
    const dir = await repo();
    const names = ["corral/x", "a", "a/b/c", "_x", "x-y/z_1", "HEAD", "-x", "a/-b", "a.b", "a..b", ".a", "a/", "a//b", "a.lock", "a@{1}", "@", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "ü"];
    for (const name of names) {
      const gitSays = (await coreGit(["check-ref-format", "--branch", name], { cwd: dir, allowFailure: true })).exitCode === 0;
      const plain = PLAIN_BRANCH.test(name) && name !== "HEAD";
      if (plain) expect({ name, gitSays }).toEqual({ name, gitSays: true });
    }
    expect(["corral/x", "a/b/c", "x-y/z_1"].every((n) => PLAIN_BRANCH.test(n))).toBe(true);
    expect(["a.b", "-x", "a//b", "a/", "a@{1}", "a b"].some((n) => PLAIN_BRANCH.test(n))).toBe(false);
    // A prefix git refuses is still refused (git answers it).
    await expect(isolation({ branchPrefix: "bad..prefix/" }).acquire(request(dir))).rejects.toMatchObject({ code: "E_UNSAFE_PATH" });
  });

  it("resolveRepo reads the object format in its one git call, as `git rev-parse --show-object-format` says", async () => {
    const dir = await repo();
    const r = await resolveRepo(dir);
    expect(r.objectFormat).toBe(await gitIn(dir, "rev-parse", "--show-object-format"));
    expect(await objectFormatOf({ root: dir, commonDir: join(dir, ".git"), checkout: dir })).toBe("sha1");
    const sha256 = join(dir, "sha256");
    await coreGit(["init", "-q", "--object-format=sha256", sha256], { cwd: dir });
    await coreGit(["-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "init"], { cwd: sha256 });
    expect((await resolveRepo(sha256)).objectFormat).toBe("sha256");
  });
});
