import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { firedTraps, gitTraps, writeTrap } from "@corral/core/testing";
import { CONTAINER_TEST_IMAGE, containerEngineReady, gitIn, hasCommand, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1", ...env } });

// The agent: what it does is chosen by its prompt ($0). Commit subjects and file names can be hostile.
const SCRIPT = `G="git -c user.name=Agent -c user.email=agent@example.com"
case "$0" in
  empty*) ;;
  evil*) printf 'x\\033]0;pwned\\007\\n' > "$(printf 'e\\033[2Jvil.txt')"; git add -A; $G commit -qm "$(printf 'subject \\033]8;;http://x\\007link\\033[2J')";;
  conflict*) echo agent > README.md; git add -A; $G commit -qm "agent edits README";;
  dirty*) echo "$0" > kept.txt; git add kept.txt; $G commit -qm "kept $0"; echo wip > wip.txt;;
  *) f="$(echo "$0" | tr ' ' _).txt"; echo "$0" > "$f"; git add -A; $G commit -qm "do $0"; echo more >> "$f"; $G commit -qam "more $0";;
esac
echo "<promise>COMPLETE</promise>"`;
const AGENT = ["--", "sh", "-c", SCRIPT, "{prompt}"];

async function runAgent(repo: string, name: string, prompt = name): Promise<void> {
  const r = await corral(["run", "--prompt", prompt, "--name", name, ...AGENT], repo);
  expect(r.exitCode, r.stderr).toBe(0);
}

/** Everything `corral merge` must leave as it was when it refuses: refs, HEAD, index, work tree, merge state. */
async function repoState(repo: string): Promise<Record<string, string | boolean>> {
  return {
    refs: await gitIn(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
    head: await gitIn(repo, "rev-parse", "HEAD"),
    index: await gitIn(repo, "ls-files", "-s"),
    status: await gitIn(repo, "status", "--porcelain=v1", "--untracked-files=all"),
    mergeHead: existsSync(join(repo, ".git", "MERGE_HEAD")),
    readme: await readFile(join(repo, "README.md"), "utf8"),
  };
}

const HOSTILE = /[\u001b\u0007\u009b]/;

describe("naming runs", () => {
  it("a name two runs share is listed (id, time, state) by runs show, diff and merge, never picked; an id or unique prefix names one", async () => {
    const repo = await tempRepo();
    await runAgent(repo, "twice", "first");
    await runAgent(repo, "twice", "second");
    const runs = JSON.parse((await corral(["runs", "list", "--json"], repo)).stdout) as Array<{ id: string; name: string; branch: string }>;
    expect(runs).toHaveLength(2);
    for (const args of [["runs", "show", "twice"], ["diff", "twice"], ["log", "twice"], ["merge", "twice"], ["discard", "twice"]]) {
      const r = await corral(args, repo);
      expect(r.exitCode, args.join(" ")).toBe(2);
      expect(r.stderr).toContain('"twice" names 2 runs');
      for (const run of runs) expect(r.stderr).toMatch(new RegExp(`${run.id}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  succeeded  twice`));
    }
    // Nothing was merged or discarded.
    expect(await gitIn(repo, "log", "--format=%s", "main")).toBe("initial");
    const json = await corral(["diff", "twice", "--json"], repo);
    expect(json.exitCode).toBe(2);
    expect((JSON.parse(json.stdout) as { error: { code: string; candidates: Array<{ id: string }> } }).error).toMatchObject({ code: "E_RUN_AMBIGUOUS", candidates: runs.map((r) => ({ id: r.id })) });
    // Its twin: the run id, and a unique prefix of it, name one run.
    const [newest, oldest] = runs;
    expect((await corral(["log", newest!.id], repo)).stdout).toContain("do second");
    const prefix = oldest!.id.slice(0, oldest!.id.length - 1);
    const byPrefix = await corral(["log", prefix, "--json"], repo);
    if (!runs.some((r) => r !== oldest && r.id.startsWith(prefix))) expect(JSON.parse(byPrefix.stdout)).toMatchObject({ runId: oldest!.id, branch: oldest!.branch });
  });
});

describe("corral diff and corral log", () => {
  it("show the run's diff, stat and commits against its base; the agent's file names, lines and messages reach the terminal inert", async () => {
    const repo = await tempRepo();
    await runAgent(repo, "evil");
    const diff = await corral(["diff", "evil"], repo);
    expect(diff.exitCode, diff.stderr).toBe(0);
    expect(diff.stdout).not.toMatch(HOSTILE);
    expect(diff.stdout).toContain("+x␛]0;pwned␇");
    const stat = await corral(["diff", "evil", "--stat"], repo);
    expect(stat.stdout).not.toMatch(HOSTILE);
    expect(stat.stdout).toContain("1 file(s) changed, 1 insertion(s), 0 deletion(s)");
    const log = await corral(["log", "evil"], repo);
    expect(log.stdout).not.toMatch(HOSTILE);
    expect(log.stdout).toContain("subject ␛]8;;http://x␇link␛[2J");
    // JSON keeps the exact text, escaped.
    const json = JSON.parse((await corral(["log", "evil", "--json"], repo)).stdout) as { commits: Array<{ subject: string }> };
    expect(json.commits[0]!.subject).toBe("subject \u001b]8;;http://x\u0007link\u001b[2J");
    const files = JSON.parse((await corral(["diff", "evil", "--json", "--stat"], repo)).stdout) as { files: Array<{ path: string; additions: number }>; patch?: string };
    expect(files.files).toEqual([{ path: "e\u001b[2Jvil.txt", status: "A", additions: 1, deletions: 0 }]);
    expect(files.patch).toBeUndefined();
  });

  it("ordinary text is shown as it is; a run without commits has an empty diff and log", async () => {
    const repo = await tempRepo();
    await runAgent(repo, "plain", "plain work");
    const diff = await corral(["diff", "plain"], repo);
    expect(diff.stdout).toMatch(/^diff --git a\/plain_work\.txt b\/plain_work\.txt\n/);
    expect(diff.stdout).toMatch(/\+plain work\n\+more$/); // execa drops the last newline
    const log = JSON.parse((await corral(["log", "plain", "--json"], repo)).stdout) as { commits: Array<{ subject: string; author: string }> };
    expect(log.commits.map((c) => c.subject)).toEqual(["do plain work", "more plain work"]);
    expect(log.commits[0]!.author).toBe("Agent <agent@example.com>");
    await runAgent(repo, "nothing", "empty");
    expect((await corral(["diff", "nothing", "--stat"], repo)).stdout).toBe("No changes.");
    expect((await corral(["log", "nothing"], repo)).stdout).toBe("No commits.");
  });

  it("--fleet: one section per task, by fleet id or prefix", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "tasks.json"), JSON.stringify([{ name: "alpha", prompt: "alpha" }, { name: "beta", prompt: "beta" }]));
    const fleetRun = await corral(["run", "--tasks", "tasks.json", "--json", ...AGENT], repo);
    expect(fleetRun.exitCode, fleetRun.stderr).toBe(0);
    const fleetId = (JSON.parse(fleetRun.stdout.trim().split("\n").at(-1)!) as { runId: string; type: string }).runId;
    const diff = await corral(["diff", "--fleet", fleetId, "--stat"], repo);
    expect(diff.exitCode, diff.stderr).toBe(0);
    expect(diff.stdout).toMatch(/== alpha \(run [\w-]+, succeeded\) corral\/alpha\n {2}A {2}alpha\.txt {2}\+2 -0\n/);
    expect(diff.stdout).toMatch(/== beta \(run [\w-]+, succeeded\) corral\/beta\n {2}A {2}beta\.txt {2}\+2 -0\n/);
    const log = JSON.parse((await corral(["log", "--fleet", fleetId.slice(0, -2), "--json"], repo)).stdout) as { tasks: Array<{ name: string; commits: Array<{ subject: string }> }> };
    expect(log.tasks.map((t) => [t.name, t.commits.map((c) => c.subject)]).sort()).toEqual([["alpha", ["do alpha", "more alpha"]], ["beta", ["do beta", "more beta"]]]);
    const unknown = await corral(["diff", "--fleet", "nope"], repo);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('No fleet "nope"');
  });

  it("a journal record naming an option as its branch or base is refused before git sees it (the journal can sit in an in-place run's workspace)", async () => {
    const repo = await tempRepo();
    await runAgent(repo, "forged");
    const runs = JSON.parse((await corral(["runs", "list", "--json"], repo)).stdout) as Array<{ id: string; dir: string }>;
    const file = join(runs[0]!.dir, "run.json");
    const record = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    const marker = join(repo, "pwned");
    await writeFile(file, JSON.stringify({ ...record, baseCommit: `--output=${marker}` }));
    const badBase = await corral(["diff", "forged"], repo);
    expect(badBase.exitCode).toBe(1);
    expect(badBase.stderr).toContain("has no base commit recorded");
    await writeFile(file, JSON.stringify({ ...record, branch: `--output=${marker}` }));
    const badBranch = await corral(["diff", "forged"], repo);
    expect(badBranch.exitCode).toBe(1);
    expect(badBranch.stderr).toContain("not a valid branch name");
    expect(existsSync(marker)).toBe(false);
    // The twin: the record as corral wrote it works.
    await writeFile(file, JSON.stringify(record));
    expect((await corral(["diff", "forged", "--stat"], repo)).stdout).toContain("forged.txt");
  });
});

describe("corral merge", () => {
  it("fast-forwards main and its checkout; with main moved on: a merge commit, --squash one commit, --rebase the commits replayed, --ff-only refused", async () => {
    const repo = await tempRepo();
    await runAgent(repo, "ff");
    const ff = await corral(["merge", "ff", "--json"], repo);
    expect(ff.exitCode, ff.stderr).toBe(0);
    expect(JSON.parse(ff.stdout)).toMatchObject({ into: "main", merged: true, fastForward: true, checkout: repo });
    expect(await gitIn(repo, "log", "--format=%s", "main")).toBe("more ff\ndo ff\ninitial");
    expect(await readFile(join(repo, "ff.txt"), "utf8")).toBe("ff\nmore\n");
    expect(await gitIn(repo, "status", "--porcelain")).toBe("");

    for (const name of ["m", "s", "r", "o"]) await runAgent(repo, name);
    await writeFile(join(repo, "user.txt"), "user\n");
    await gitIn(repo, "add", "user.txt");
    await gitIn(repo, "commit", "-qm", "user work");

    const onlyFf = await corral(["merge", "o", "--ff-only"], repo);
    expect(onlyFf.exitCode).toBe(1);
    expect(onlyFf.stderr).toContain("cannot be fast-forwarded; nothing was changed");

    expect((await corral(["merge", "m"], repo)).exitCode).toBe(0);
    expect(await gitIn(repo, "log", "-1", "--format=%s%n%P", "main")).toMatch(/^Merge branch 'corral\/m' into main\n\w+ \w+$/);
    expect((await corral(["merge", "s", "--squash"], repo)).exitCode).toBe(0);
    expect(await gitIn(repo, "log", "-1", "--format=%B", "main")).toMatch(/^s\n\n- do s\n- more s\n\ncorral run [\w-]+ \(corral\/s\)/);
    expect(await gitIn(repo, "log", "-1", "--format=%P", "main")).not.toContain(" ");
    expect((await corral(["merge", "r", "--rebase"], repo)).exitCode).toBe(0);
    expect(await gitIn(repo, "log", "-2", "--format=%s|%an", "main")).toBe("more r|Agent\ndo r|Agent");
    for (const file of ["m.txt", "s.txt", "r.txt", "user.txt"]) expect(existsSync(join(repo, file))).toBe(true);
    expect(await gitIn(repo, "status", "--porcelain")).toBe("");
    // Merged already: nothing to do, exit 0.
    const again = await corral(["merge", "m"], repo);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain("Nothing to merge");
  });

  it("refuses a dirty target checkout and a conflict, changing nothing (refs, HEAD, index, files, no merge state)", async () => {
    const repo = await tempRepo();
    await runAgent(repo, "work");
    await runAgent(repo, "clash", "conflict");
    await writeFile(join(repo, "README.md"), "user's uncommitted edit\n");
    const dirtyBefore = await repoState(repo);
    const dirty = await corral(["merge", "work"], repo);
    expect(dirty.exitCode).toBe(1);
    expect(dirty.stderr).toContain("has uncommitted changes in 1 file(s): README.md. Nothing was merged.");
    expect(await repoState(repo)).toEqual(dirtyBefore);
    const dirtyJson = await corral(["merge", "work", "--squash", "--json"], repo);
    expect(JSON.parse(dirtyJson.stdout)).toMatchObject({ error: { code: "E_MERGE_DIRTY", files: ["README.md"] } });

    await gitIn(repo, "commit", "-qam", "user edits README");
    for (const mode of [[], ["--squash"], ["--rebase"]]) {
      const before = await repoState(repo);
      const conflict = await corral(["merge", "clash", ...mode], repo);
      expect(conflict.exitCode, mode.join()).toBe(1);
      expect(conflict.stderr).toContain("would conflict in 1 file(s): README.md. Nothing was changed.");
      expect(await repoState(repo)).toEqual(before);
    }
    // The twin: with the tree clean, the other run merges.
    expect((await corral(["merge", "work"], repo)).exitCode).toBe(0);
    expect(existsSync(join(repo, "work.txt"))).toBe(true);
  });

  it("--into a branch no checkout has moves only that ref; the user's hooks never run", async () => {
    const repo = await tempRepo();
    await gitIn(repo, "branch", "release");
    await runAgent(repo, "side");
    // Hooks installed after the setup (whose own git calls would run them): only corral merge could run them now.
    const marker = join(await tempDir(), "hook-ran");
    for (const hook of ["reference-transaction", "post-merge", "post-checkout", "pre-merge-commit", "post-rewrite"]) {
      await writeFile(join(repo, ".git", "hooks", hook), `#!/bin/sh\necho ${hook} >> '${marker}'\n`);
      await chmod(join(repo, ".git", "hooks", hook), 0o755);
    }
    const headBefore = await gitIn(repo, "rev-parse", "HEAD");
    const r = await corral(["merge", "side", "--into", "release", "--squash"], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await gitIn(repo, "log", "-1", "--format=%s", "release")).toBe("side");
    expect(await gitIn(repo, "rev-parse", "HEAD")).toBe(headBefore);
    expect((await corral(["merge", "side"], repo)).exitCode).toBe(0); // into main, its checkout fast-forwarded
    expect(existsSync(marker)).toBe(false);
    const missing = await corral(["merge", "side", "--into", "nope"], repo);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("There is no branch nope");
  });
});

describe("corral pr", () => {
  async function fakeGh(): Promise<{ bin: string; argvFile: string; bodyFile: string }> {
    const bin = await tempDir("corral-fake-gh-");
    const argvFile = join(bin, "argv.txt");
    const bodyFile = join(bin, "body.md");
    await writeFile(join(bin, "gh"), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${argvFile}'\ncat > '${bodyFile}'\necho https://github.com/acme/app/pull/7\n`);
    await chmod(join(bin, "gh"), 0o755);
    return { bin, argvFile, bodyFile };
  }
  // PATH without any real gh: node's and git's folders only.
  const basePath = async () => [dirname(process.execPath), dirname((await execa("sh", ["-c", "command -v git"])).stdout)].join(":");

  it("pushes the branch to the remote (a real bare repository) and opens the pull request with gh: title, body from the run", async () => {
    const repo = await tempRepo();
    const remote = await tempDir("corral-remote-");
    await gitIn(remote, "init", "-q", "--bare");
    await gitIn(repo, "remote", "add", "origin", remote);
    const marker = join(remote, "pre-push-ran");
    await writeFile(join(repo, ".git", "hooks", "pre-push"), `#!/bin/sh\ntouch '${marker}'\n`);
    await chmod(join(repo, ".git", "hooks", "pre-push"), 0o755);
    await runAgent(repo, "feature", "Add the feature\n\nWith details.");
    const gh = await fakeGh();
    const r = await corral(["pr", "feature", "--draft"], repo, { PATH: `${gh.bin}:${await basePath()}` });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("https://github.com/acme/app/pull/7");
    expect(await gitIn(remote, "rev-parse", "refs/heads/corral/feature")).toBe(await gitIn(repo, "rev-parse", "corral/feature"));
    expect(existsSync(marker)).toBe(false);
    const argv = (await readFile(gh.argvFile, "utf8")).split("\n").slice(0, -1);
    expect(argv).toEqual(["pr", "create", "--head", "corral/feature", "--base", "main", "--title", "Add the feature", "--body-file", "-", "--draft"]);
    const body = await readFile(gh.bodyFile, "utf8");
    expect(body).toContain("## Prompt\n\n```\nAdd the feature\n\nWith details.\n```");
    expect(body).toMatch(/## Commits \(2\)\n\n```\n\w{12} do Add the feature\n\w{12} more Add the feature\n```/);
    expect(body).toContain("- tokens: 0 (input 0, output 0)");
  });

  it("without gh: pushes nothing, prints the push command and the compare URL; --push pushes; a gh planted in the repository is never run", async () => {
    const repo = await tempRepo();
    const remote = await tempDir("corral-remote-");
    await gitIn(remote, "init", "-q", "--bare");
    await gitIn(repo, "remote", "add", "origin", remote);
    await gitIn(repo, "remote", "add", "github", "git@github.com:acme/app.git");
    await gitIn(repo, "config", "branch.main.remote", "origin");
    await runAgent(repo, "manual");
    // A gh inside the checkout (node_modules/.bin, or anything a run could write) is not the user's.
    const planted = join(repo, "node_modules", ".bin");
    await mkdir(planted, { recursive: true });
    await writeFile(join(planted, "gh"), `#!/bin/sh\ntouch '${join(repo, "planted-ran")}'\n`);
    await chmod(join(planted, "gh"), 0o755);
    const path = `${planted}:${await basePath()}`;
    const r = await corral(["pr", "manual", "--remote", "github"], repo, { PATH: path });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("gh is not installed: nothing was pushed");
    expect(r.stderr).toContain("git push github refs/heads/corral/manual:refs/heads/corral/manual");
    expect(r.stderr).toContain("https://github.com/acme/app/compare/main...corral/manual?expand=1");
    expect(existsSync(join(repo, "planted-ran"))).toBe(false);
    expect(await gitIn(remote, "for-each-ref")).toBe("");
    const pushed = await corral(["pr", "manual", "--push", "--json"], repo, { PATH: path });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ remote: "origin", pushed: true, gh: false });
    expect(await gitIn(remote, "rev-parse", "refs/heads/corral/manual")).toBe(await gitIn(repo, "rev-parse", "corral/manual"));
    const noRemote = await corral(["pr", "manual", "--remote", "nope"], repo, { PATH: path });
    expect(noRemote.exitCode).toBe(2);
    expect(noRemote.stderr).toContain('There is no remote "nope"');
  });
});

describe("corral discard and corral clean --branches", () => {
  it("discard keeps a branch with unmerged commits unless --force; --dry-run changes nothing; a merged or empty run goes", async () => {
    const repo = await tempRepo();
    await runAgent(repo, "unmerged");
    const tip = await gitIn(repo, "rev-parse", "corral/unmerged");
    const refused = await corral(["discard", "unmerged"], repo);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("corral/unmerged has 2 commit(s) that main does not have; nothing was removed.");
    const dry = await corral(["discard", "unmerged", "--force", "--dry-run"], repo);
    expect(dry.exitCode).toBe(0);
    expect(dry.stderr).toContain("would delete branch corral/unmerged");
    expect(await gitIn(repo, "rev-parse", "corral/unmerged")).toBe(tip);
    const forced = await corral(["discard", "unmerged", "--force"], repo);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stderr).toContain(`git branch corral/unmerged ${tip.slice(0, 12)}`);
    expect(await gitIn(repo, "branch", "--list", "corral/unmerged")).toBe("");
    const gone = await corral(["diff", "unmerged"], repo);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toContain("is no longer in the repository");

    await runAgent(repo, "taken");
    expect((await corral(["merge", "taken", "--squash"], repo)).exitCode).toBe(0);
    expect((await corral(["discard", "taken"], repo)).exitCode).toBe(0); // squashed in: nothing is lost
    await runAgent(repo, "idle", "empty");
    expect((await corral(["discard", "idle"], repo)).exitCode).toBe(0);
  });

  it("discard removes a kept worktree through its isolation, refusing uncommitted work unless --force", async () => {
    const repo = await tempRepo();
    await runAgent(repo, "wip", "dirty");
    const run = JSON.parse((await corral(["runs", "show", "wip", "--json"], repo)).stdout) as { workspace: string };
    expect(existsSync(join(run.workspace, "wip.txt"))).toBe(true);
    const refused = await corral(["discard", "wip", "--force", "--dry-run"], repo);
    expect(refused.exitCode).toBe(0);
    const kept = await corral(["discard", "wip"], repo);
    expect(kept.exitCode).toBe(1);
    expect(existsSync(run.workspace)).toBe(true);
    const forced = await corral(["discard", "wip", "--force"], repo);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stderr).toContain(`removed worktree ${run.workspace}`);
    expect(existsSync(run.workspace)).toBe(false);
    expect(await gitIn(repo, "branch", "--list", "corral/wip")).toBe("");
  });

  it("clean --branches deletes every corral/* branch with nothing beyond its base, keeps unmerged ones unless --force, never another branch", async () => {
    const repo = await tempRepo();
    await runAgent(repo, "empty-1", "empty");
    await runAgent(repo, "empty-2", "empty");
    await runAgent(repo, "merged");
    await runAgent(repo, "squashed");
    await runAgent(repo, "open");
    expect((await corral(["merge", "merged"], repo)).exitCode).toBe(0);
    expect((await corral(["merge", "squashed", "--squash"], repo)).exitCode).toBe(0);
    await gitIn(repo, "branch", "mine", "corral/open"); // the user's own branch, not corral's
    const refs = async () => (await gitIn(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/")).split("\n");

    const dry = await corral(["clean", "--branches", "--dry-run", "--json"], repo);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as { branches: Array<{ branch: string; action: string; reason: string }> };
    expect(Object.fromEntries(report.branches.map((b) => [b.branch, b.action]))).toEqual({
      "corral/empty-1": "would-delete",
      "corral/empty-2": "would-delete",
      "corral/merged": "would-delete",
      "corral/squashed": "would-delete",
      "corral/open": "kept",
    });
    expect(report.branches.find((b) => b.branch === "corral/empty-1")!.reason).toBe("no commits beyond its base");
    expect(report.branches.find((b) => b.branch === "corral/open")!.reason).toBe("2 commit(s) main does not have");
    expect(await refs()).toHaveLength(7);

    const r = await corral(["clean", "--branches"], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("4 of 5 corral/* branch(es) deleted.");
    expect(await refs()).toEqual(["corral/open", "main", "mine"]);
    expect((await corral(["clean", "--branches", "--force"], repo)).exitCode).toBe(0);
    expect(await refs()).toEqual(["main", "mine"]);
  });
});

describe("what the agent planted never runs on the host", () => {
  for (const sandbox of ["bwrap", "docker", "podman"] as const) {
    it(`${sandbox}: traps in the run's git dir config, hooks and committed attributes fire under none of diff, log, merge, pr, discard; the work still goes through`, async (ctx) => {
      const ready = sandbox === "bwrap" ? { ready: await hasCommand("bwrap"), reason: "bwrap is not installed (apt-get install bubblewrap)" } : await containerEngineReady(sandbox);
      if (!requireTool(ready.ready, ready.reason)) ctx.skip();
      const repo = await tempRepo();
      const config = join(await tempDir(), "corral.config.json");
      await writeFile(config, JSON.stringify({ sandbox: sandbox === "bwrap" ? { name: "bwrap" } : { name: sandbox, options: { image: CONTAINER_TEST_IMAGE } } }));
      const markers = await tempDir("corral-markers-");
      const trap = await writeTrap(markers);
      const remote = await tempDir("corral-remote-");
      await gitIn(remote, "init", "-q", "--bare");
      await gitIn(repo, "remote", "add", "origin", remote);
      // The agent commits attributes naming trapped drivers, then arms the git dir it works in and plants hooks.
      const plant = [
        `printf '* diff=evil merge=evil filter=evil\\n' > .gitattributes`,
        "echo work > trapped.txt && git add .gitattributes trapped.txt && git -c user.name=A -c user.email=a@e.x commit -qm trapped",
        ...gitTraps(trap).map(([key, value]) => `git config ${key} '${value}'`),
        `d="$(git rev-parse --git-dir)"; mkdir -p "$d/hooks"; for h in post-checkout post-merge reference-transaction pre-push post-rewrite; do printf '#!/bin/sh\\n${trap} hook-%s\\n' $h > "$d/hooks/$h"; chmod +x "$d/hooks/$h"; done`,
        'echo "<promise>COMPLETE</promise>"',
      ].join("; ");
      const r = await corral(["run", "--config", config, "--prompt", "p", "--name", "armed", "--", "sh", "-c", plant], repo);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await gitIn(repo, "log", "--format=%s", "corral/armed")).toContain("trapped");
      for (const args of [["diff", "armed"], ["diff", "armed", "--stat"], ["log", "armed"], ["merge", "armed", "--squash", "--into", "side"], ["merge", "armed", "--rebase", "--into", "side2"], ["merge", "armed"], ["pr", "armed", "--push"], ["discard", "armed"]]) {
        if (args[3] === "--into") await gitIn(repo, "branch", "-f", args[4]!, "main");
        const run = await corral(args, repo);
        expect(run.exitCode, `${args.join(" ")}: ${run.stderr}`).toBe(0);
        expect(await firedTraps(markers), args.join(" ")).toEqual([]);
      }
      // The twin: the work went through: merged into main (its checkout), pushed to the remote.
      expect(await readFile(join(repo, "trapped.txt"), "utf8")).toBe("work\n");
      expect(await gitIn(remote, "log", "--format=%s", "refs/heads/corral/armed")).toContain("trapped");
    });
  }
});

describe("--help", () => {
  it("every review command has help with an example, and the main help lists them", async () => {
    const repo = await tempRepo();
    for (const command of ["diff", "log", "merge", "pr", "discard"]) {
      const r = await corral([command, "--help"], repo);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: corral ${command} `));
      expect(r.stdout).toMatch(new RegExp(`Example:\\n {2}corral ${command} `));
      expect(r.stdout).toContain("Exit codes:");
    }
    expect((await corral(["clean", "--help"], repo)).stdout).toContain("corral clean --branches --dry-run");
    const main = await corral(["--help"], repo);
    for (const command of ["diff", "log", "merge", "pr", "discard"]) expect(main.stdout).toMatch(new RegExp(`\\n {2}${command} +\\S`));
  });
});
