import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firedTraps, gitTraps, writeTrap } from "./testing/repository-integrity.js";

/**
 * The traps the repository-integrity kit plants are real: each one runs its command under plain
 * git, as host-side git would if it ever read the agent's config. (The kit then shows that corral's
 * host-side git never does.) `core.pager` needs a terminal, `uploadpack.packObjectsHook` is read
 * only from protected config, so those two are shown not to matter here.
 */
describe("the repository-integrity traps fire under plain git", () => {
  let root: string;
  let markers: string;
  let trap: string;
  const env = { GIT_AUTHOR_NAME: "T", GIT_AUTHOR_EMAIL: "t@e.x", GIT_COMMITTER_NAME: "T", GIT_COMMITTER_EMAIL: "t@e.x", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_TERMINAL_PROMPT: "0" };
  const g = (cwd: string, ...args: string[]) => execa("git", args, { cwd, env, reject: false, input: "" });

  beforeAll(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), "corral-traps-")));
    markers = await mkdtemp(join(root, "markers-"));
    trap = await writeTrap(markers);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  /** A repository with one commit, the given config and attributes. */
  const armed = async (config: Record<string, string>, attributes = ""): Promise<string> => {
    const dir = await mkdtemp(join(root, "repo-"));
    await g(dir, "init", "-q", "-b", "main");
    await writeFile(join(dir, "f.txt"), "one\n");
    await g(dir, "add", "f.txt");
    await g(dir, "commit", "-q", "-m", "one");
    for (const [key, value] of Object.entries(config)) await g(dir, "config", key, value);
    if (attributes) await writeFile(join(dir, ".git", "info", "attributes"), attributes);
    return dir;
  };
  const value = (key: string) => gitTraps(trap).find(([k]) => k === key)![1];
  const fires = async (name: string, act: () => Promise<unknown>) => {
    await rm(join(markers, `fired-${name}`), { force: true });
    await act();
    expect(await firedTraps(markers), name).toContain(name);
  };

  it("core.fsmonitor and an included config run on git status", async () => {
    await fires("fsmonitor", async () => g(await armed({ "core.fsmonitor": value("core.fsmonitor") }), "status"));
    const dir = await armed({});
    await writeFile(join(dir, ".git", "included"), `[core]\n\tfsmonitor = ${trap} included\n`);
    await g(dir, "config", "include.path", join(dir, ".git", "included"));
    await fires("included", () => g(dir, "status"));
  });

  it("hooks run on checkout; core.editor on a commit without a message", async () => {
    const dir = await armed({ "core.hooksPath": "hooks" });
    await execa("sh", ["-c", `mkdir -p hooks && printf '#!/bin/sh\\n${trap} hook-post-checkout\\n' > hooks/post-checkout && chmod +x hooks/post-checkout`], { cwd: dir });
    await fires("hook-post-checkout", () => g(dir, "checkout", "-q", "-b", "x"));
    const edit = await armed({ "core.editor": value("core.editor") });
    await writeFile(join(edit, "f.txt"), "two\n");
    await fires("editor", () => g(edit, "commit", "-a"));
  });

  it("diff.external, textconv and diff drivers run on diff; merge drivers on merge", async () => {
    const dir = await armed({ "diff.external": value("diff.external") });
    await writeFile(join(dir, "f.txt"), "two\n");
    await fires("diff-external", () => g(dir, "diff"));
    const conv = await armed({ "diff.evil.textconv": value("diff.evil.textconv") }, "* diff=evil\n");
    await writeFile(join(conv, "f.txt"), "two\n");
    await fires("textconv", () => g(conv, "diff"));
    const driver = await armed({ "diff.evil.command": value("diff.evil.command") }, "* diff=evil\n");
    await writeFile(join(driver, "f.txt"), "two\n");
    await fires("diff-driver", () => g(driver, "diff"));
    const merge = await armed({ "merge.evil.driver": value("merge.evil.driver") }, "* merge=evil\n");
    await g(merge, "checkout", "-q", "-b", "side");
    await writeFile(join(merge, "f.txt"), "side\n");
    await g(merge, "commit", "-qam", "side");
    await g(merge, "checkout", "-q", "main");
    await writeFile(join(merge, "f.txt"), "main\n");
    await g(merge, "commit", "-qam", "main");
    await fires("merge-driver", () => g(merge, "merge", "-q", "side"));
  });

  it("filters run on add (clean, process) and checkout (smudge)", async () => {
    const clean = await armed({ "filter.evil.clean": value("filter.evil.clean") }, "* filter=evil\n");
    await writeFile(join(clean, "f.txt"), "two\n");
    await fires("filter-clean", () => g(clean, "add", "f.txt"));
    const smudge = await armed({ "filter.evil.smudge": value("filter.evil.smudge") }, "* filter=evil\n");
    await rm(join(smudge, "f.txt"));
    await fires("filter-smudge", () => g(smudge, "checkout", "--", "f.txt"));
    const proc = await armed({ "filter.evil.process": value("filter.evil.process") }, "* filter=evil\n");
    await writeFile(join(proc, "f.txt"), "two\n");
    await fires("filter-process", () => g(proc, "add", "f.txt"));
  });

  it("credential.helper, core.sshCommand, gpg.program with log.showSignature, core.alternateRefsCommand", async () => {
    await fires("credential", async () => execa("git", ["credential", "fill"], { cwd: await armed({ "credential.helper": value("credential.helper") }), env, reject: false, input: "protocol=https\nhost=example.invalid\n\n" }));
    await fires("ssh", async () => g(await armed({ "core.sshCommand": value("core.sshCommand") }), "ls-remote", "ssh://example.invalid/repo"));
    const signed = await armed({ "gpg.program": value("gpg.program"), "log.showSignature": "true" });
    const tree = (await g(signed, "rev-parse", "HEAD^{tree}")).stdout;
    const commit = `tree ${tree}\nauthor A <a@e.x> 1 +0000\ncommitter A <a@e.x> 1 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n -----END PGP SIGNATURE-----\n\nsigned\n`;
    const sha = (await execa("git", ["hash-object", "-t", "commit", "-w", "--stdin"], { cwd: signed, env, input: commit })).stdout;
    await fires("gpg", () => g(signed, "log", "-1", sha));
    const other = await armed({});
    const borrowing = await armed({ "core.alternateRefsCommand": value("core.alternateRefsCommand") });
    await writeFile(join(borrowing, ".git", "objects", "info", "alternates"), `${join(other, ".git", "objects")}\n`);
    await fires("alternate-refs", () => g(borrowing, "fetch", "-q", other, "main"));
  });

  it("core.pager needs a terminal and uploadpack.packObjectsHook protected config: neither runs from a repository's config", async () => {
    const dir = await armed({ "core.pager": value("core.pager"), "uploadpack.packObjectsHook": value("uploadpack.packObjectsHook") });
    const clone = join(root, "clone-of-armed");
    await g(root, "clone", "-q", "--no-local", dir, clone);
    await g(dir, "log");
    expect(await firedTraps(markers)).not.toEqual(expect.arrayContaining(["pager", "pack-objects-hook"]));
  });
});
