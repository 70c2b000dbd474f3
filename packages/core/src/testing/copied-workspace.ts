import { existsSync } from "node:fs";
import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { commandAgent } from "../builtins/command-agent.js";
import { agentEventsOf } from "../events.js";
import { git } from "../git.js";
import type { Isolation } from "../isolation.js";
import type { Configured } from "../plugin.js";
import { run, type RunResult } from "../run.js";
import type { Sandbox } from "../sandbox.js";
import { extractTar, packTar } from "../tar.js";
import { firedTraps, plantTrapsScript, writeTrap } from "./repository-integrity.js";

/** What `describeCopiedWorkspace` needs besides the sandbox. */
export interface CopiedWorkspaceOptions {
  /** The worktree isolation (from @corral/worktree-git): a copied workspace needs a git dir of the run's own. */
  worktree: (options?: Record<string, unknown>) => Configured<"isolation"> | Isolation;
  /** Env every run gets (PATH inside the sandbox, say). */
  env?: Record<string, string>;
}

const AUTHOR = { GIT_AUTHOR_NAME: "Kit", GIT_AUTHOR_EMAIL: "kit@example.com", GIT_COMMITTER_NAME: "Kit", GIT_COMMITTER_EMAIL: "kit@example.com" };

/**
 * The copied-workspace suite (`run({ workspace: "copy" })`) a sandbox that declares
 * `capabilities.copiedWorkspace` runs: the legitimate round trip (a commit comes back on the run's
 * branch, an uncommitted edit as a patch that applies, neither touching the user's checkout) and
 * the attacks (code-running git config, hooks, symlinks and other branches planted in the copied
 * git dir: nothing runs on the host, only the run's branch comes back). Skips when `check()` says
 * the sandbox is unavailable, except in CI.
 */
export function describeCopiedWorkspace(name: string, makeSandbox: () => Configured<"sandbox"> | Sandbox | Promise<Configured<"sandbox"> | Sandbox>, options: CopiedWorkspaceOptions): void {
  describe(`copied workspace: ${name}`, () => {
    let root: string;
    let markers: string;
    let trap: string;
    let unavailable: string | undefined;
    let sandbox: Configured<"sandbox"> | Sandbox;

    beforeAll(async () => {
      sandbox = await makeSandbox();
      const instance = "plugin" in sandbox ? sandbox.plugin.create(sandbox.options) : sandbox;
      const availability = await instance.check();
      if (!availability.available) {
        unavailable = `${availability.reason}${availability.hint ? ` (${availability.hint})` : ""}`;
        if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`CI must provide the ${name} sandbox, but: ${unavailable}`);
      }
      if (!instance.capabilities?.copiedWorkspace) throw new Error(`The ${name} sandbox declares no copiedWorkspace capability.`);
      root = await realpath(await mkdtemp(join(tmpdir(), "corral-copied-")));
      markers = await mkdtemp(join(root, "markers-"));
      trap = await writeTrap(markers);
    });
    afterAll(async () => {
      if (root) await rm(root, { recursive: true, force: true });
    });
    const ready = (ctx: TestContext) => {
      if (unavailable) ctx.skip(`the ${name} sandbox is not available: ${unavailable}`);
    };

    const repository = async () => {
      const dir = await mkdtemp(join(root, "repo-"));
      await git(["init", "-q", "-b", "main"], { cwd: dir });
      await writeFile(join(dir, "file.txt"), "original\n");
      await writeFile(join(dir, ".gitignore"), ".env\n.corral/\n");
      await git(["add", "."], { cwd: dir });
      await git(["commit", "-q", "-m", "first"], { cwd: dir, env: AUTHOR });
      await writeFile(join(dir, "README.md"), "# copied\n");
      await git(["add", "README.md"], { cwd: dir });
      await git(["commit", "-q", "-m", "second"], { cwd: dir, env: AUTHOR });
      await git(["branch", "other", "HEAD~1"], { cwd: dir });
      await writeFile(join(dir, ".env"), "SECRET_FOR_THE_RUN=1\n");
      const rev = async (ref: string) => (await git(["rev-parse", ref], { cwd: dir })).stdout;
      return { dir, main: await rev("main"), other: await rev("other") };
    };
    const agent = async (dir: string, script: string) => {
      const lines: string[] = [];
      const warnings: string[] = [];
      const outcome = await run({
        agent: commandAgent.configure({ argv: ["sh", "-c", script] }),
        sandbox,
        isolation: options.worktree(),
        workspace: "copy",
        copy: [".env"],
        cwd: dir,
        prompt: "work",
        env: { ...AUTHOR, ...options.env },
        handleProcessSignals: false,
        idleTimeout: 120,
        onEvent: (event) => {
          for (const said of agentEventsOf(event)) if (said.type === "text") lines.push(said.text);
          if (event.type === "log" && event.level === "warn") warnings.push(event.message);
        },
      }).then(
        (result) => ({ result, error: undefined }),
        (error: unknown) => ({ result: undefined, error: error as { code?: string; message: string } }),
      );
      return { ...outcome, lines, warnings };
    };
    const succeeded = (outcome: { result?: RunResult; error?: { message: string }; lines: string[] }): RunResult => {
      expect(outcome.error?.message, outcome.lines.join("\n")).toBeUndefined();
      return outcome.result!;
    };
    const userGit = async (dir: string, ...args: string[]) => (await git(args, { cwd: dir })).stdout;
    const patchOf = (dir: string, result: RunResult) => join(dir, ".corral", "runs", result.runId, "uncommitted.patch");

    it("the archive capability: putArchive then getArchive gives the same files back; a symlink the agent made is never followed on the host", async (ctx) => {
      ready(ctx);
      const instance = "plugin" in sandbox ? sandbox.plugin.create(sandbox.options) : sandbox;
      const cap = instance.capabilities!.copiedWorkspace!;
      const home = await mkdtemp(join(root, "home-"));
      const handle = await instance.create({
        runId: `copied-kit-${process.pid}-${Date.now()}`,
        workspace: { path: `${cap.root}/workspace`, cwd: `${cap.root}/workspace`, copy: true },
        gitMounts: [],
        home,
        mounts: [],
        env: { HOME: home, ...options.env },
        network: "none",
        limits: {},
      });
      try {
        expect(handle.putArchive && handle.getArchive).toBeTruthy();
        const secret = join(root, "host-secret");
        await writeFile(secret, "host only\n");
        await handle.putArchive!(packTar([{ path: "workspace/a.txt", type: "file", body: Buffer.from("a\n") }, { path: "workspace/sub/b.txt", type: "file", body: Buffer.from("b\n"), mode: 0o755 }]), cap.root);
        const made = await handle.exec(["sh", "-c", `cat a.txt sub/b.txt && ln -s ${secret} link && ln -s ${root} dirlink && echo agent > c.txt`], { cwd: `${cap.root}/workspace` });
        expect(made.exitCode).toBe(0);
        const out = await mkdtemp(join(root, "out-"));
        const got = await extractTar(await handle.getArchive!(`${cap.root}/workspace`), { place: (entry) => join(out, entry.path) });
        expect(await readFile(join(out, "workspace", "sub", "b.txt"), "utf8")).toBe("b\n");
        expect(await readFile(join(out, "workspace", "c.txt"), "utf8")).toBe("agent\n");
        expect(got.refused.sort()).toEqual(["workspace/dirlink (a symlink)", "workspace/link (a symlink)"]);
        // Through a link the agent made: never the host's file.
        const through = await handle.getArchive!(`${cap.root}/workspace/dirlink/host-secret`).then(
          (tar) => extractTar(tar, { place: (entry) => join(out, "through", entry.path) }).then(() => readFile(join(out, "through", "host-secret"), "utf8").catch(() => "")),
          () => "",
        ).catch(() => "");
        expect(through).not.toContain("host only");
      } finally {
        await handle.close();
      }
    });

    it("a commit comes back on the run's branch and an uncommitted edit as a patch beside it, never applied; nothing of the repository is mounted", async (ctx) => {
      ready(ctx);
      const { dir, main } = await repository();
      const outcome = await agent(
        dir,
        [
          `touch ${dir}/mounted 2>/dev/null && echo WROTE-REPO`,
          'test "$(cat .env)" = SECRET_FOR_THE_RUN=1 && echo COPIED-ENV',
          'test "$(git log --format=%s | tr "\\n" " ")" = "second " && echo ONE-COMMIT',
          "echo legit > legit.txt && git add legit.txt && git commit -q -m 'legit work'",
          "echo edited >> file.txt && echo new > untracked.txt",
          "echo done",
        ].join("\n"),
      );
      const result = succeeded(outcome);
      expect(outcome.lines).toContain("done");
      expect(outcome.lines).not.toContain("WROTE-REPO");
      expect(outcome.lines).toEqual(expect.arrayContaining(["COPIED-ENV", "ONE-COMMIT"]));
      expect(result.commits.map((c) => c.subject)).toEqual(["legit work"]);
      expect(await userGit(dir, "show", `${result.branch!}:legit.txt`)).toBe("legit");
      expect(await userGit(dir, "rev-parse", `${result.branch!}~1`)).toBe(main);
      expect(await userGit(dir, "rev-parse", "main")).toBe(main);
      // The patch: kept, not applied; it applies on the run's branch and gives the agent's tree.
      const patch = patchOf(dir, result);
      expect(existsSync(patch)).toBe(true);
      expect(outcome.warnings.join("\n")).toContain(patch);
      const check = await mkdtemp(join(root, "apply-"));
      await git(["clone", "-q", "--branch", result.branch!, dir, check], { cwd: root });
      await git(["apply", "--index", patch], { cwd: check });
      expect(await readFile(join(check, "file.txt"), "utf8")).toBe("original\nedited\n");
      expect(await readFile(join(check, "untracked.txt"), "utf8")).toBe("new\n");
      expect(existsSync(join(dir, "untracked.txt"))).toBe(false);
      expect(existsSync(join(dir, "mounted"))).toBe(false);
    });

    it("hooks, code-running config, symlinks and other branches planted in the copied git dir: nothing runs on the host, only the run's branch comes back", async (ctx) => {
      ready(ctx);
      const { dir, main, other } = await repository();
      const before = await firedTraps(markers);
      const outcome = await agent(
        dir,
        [
          "echo legit > legit.txt && git add legit.txt && git commit -q -m 'legit work'",
          plantTrapsScript(trap),
          'gitdir="$(git rev-parse --absolute-git-dir)"',
          // Other refs: the user's main and other, a tag, refs/replace; a symbolic ref.
          "git update-ref refs/heads/main HEAD; git update-ref refs/heads/other HEAD; git tag evil HEAD; git replace -f HEAD~1 HEAD 2>/dev/null",
          'git symbolic-ref refs/heads/corral/alias refs/heads/main',
          // Links where corral reads: a loose object dir, the reflog, a pack, packed-refs, alternates.
          // A loose object dir that is not there already (the agent's commit made a few: a link made where one is would land inside it).
          'for p in ee ed ec eb ea; do [ -e "$gitdir/objects/$p" ] || break; done; ln -s /etc "$gitdir/objects/$p"; echo "linked-object-dir:$p"',
          `ln -s ${dir}/.git/config "$gitdir/objects/pack/pack-${"0".repeat(40)}.pack"`,
          'ln -sf /etc/passwd "$gitdir/packed-refs"',
          `echo ${dir}/.git/objects > "$gitdir/objects/info/alternates.evil"; echo /etc >> "$gitdir/objects/info/alternates"`,
          'ln -s /etc/hostname planted-link',
          "echo leftover > leftover.txt",
          'echo "planted: $(git config --get core.fsmonitor)"',
        ].join("\n"),
      );
      expect(outcome.lines.join("\n"), `${outcome.lines.join("\n")}\n${outcome.error?.message ?? ""}`).toContain(`planted: ${trap} included`);
      const result = succeeded(outcome);
      // Only the run's own branch came back, with its commit; the links were refused and said.
      expect(result.commits.map((c) => c.subject)).toEqual(["legit work"]);
      expect(await userGit(dir, "show", `${result.branch!}:legit.txt`)).toBe("legit");
      const linked = outcome.lines.find((line) => line.startsWith("linked-object-dir:"))?.slice("linked-object-dir:".length);
      expect(linked).toMatch(/^e[a-e]$/);
      expect(outcome.warnings.join("\n")).toMatch(new RegExp(`not brought back: .*objects/${linked} \\(a symlink\\)`));
      expect(await userGit(dir, "rev-parse", "main")).toBe(main);
      expect(await userGit(dir, "rev-parse", "other")).toBe(other);
      expect(await userGit(dir, "for-each-ref", "refs/tags", "refs/replace", "refs/heads/corral/alias")).toBe("");
      expect(existsSync(join(dir, ".git", "objects", "info", "alternates"))).toBe(false);
      // The user goes on with their own git; the patch is there, as data.
      await userGit(dir, "status");
      await userGit(dir, "log", "-3", result.branch!);
      expect(existsSync(patchOf(dir, result)), outcome.warnings.join("\n")).toBe(true);
      expect(await readFile(patchOf(dir, result), "utf8")).toContain("leftover");
      expect(await firedTraps(markers)).toEqual(before);
      expect((await git(["fsck", "--no-dangling"], { cwd: dir, allowFailure: true })).exitCode).toBe(0);
    });

    it("an edit made in the same second as the agent's last index write, of the same size, is in the patch (the agent's index is a stat cache only as git's racy-entry check allows)", async (ctx) => {
      ready(ctx);
      const { dir } = await repository();
      // `git add` then a same-size rewrite in place within the second, then more than a second before
      // corral reads the work: an index copied with a new mtime would call the file clean.
      const outcome = await agent(dir, "sleep 1.1; echo aaaa > racy.txt && git add racy.txt && printf 'bbbb\\n' > racy.txt && sleep 1.1 && echo done");
      const result = succeeded(outcome);
      expect(outcome.lines).toContain("done");
      const check = await mkdtemp(join(root, "apply-"));
      await git(["clone", "-q", "--branch", result.branch!, dir, check], { cwd: root });
      await git(["apply", "--index", patchOf(dir, result)], { cwd: check });
      expect(await readFile(join(check, "racy.txt"), "utf8")).toBe("bbbb\n");
    });

    it("a patch made against another tip than the branch that comes back is not kept, and one planted in the git dir is never taken (twin: the branch still comes back)", async (ctx) => {
      ready(ctx);
      const { dir } = await repository();
      const outcome = await agent(
        dir,
        [
          "echo legit > legit.txt && git add legit.txt && git commit -q -m 'legit work'",
          'gitdir="$(git rev-parse --absolute-git-dir)"',
          // A patch of the agent's own where corral's goes, and the branch written with a CR: the
          // sandbox's shell reads no id there (so its patch is against the base), the host trims it.
          'mkdir -p "$gitdir/corral-uncommitted" && echo "diff --git a/planted b/planted" > "$gitdir/corral-uncommitted/$(git rev-parse HEAD).patch"',
          'printf "%s\\r\\n" "$(git rev-parse HEAD)" > "$gitdir/refs/heads/$(git symbolic-ref --short HEAD)"',
          "echo wip > wip.txt && echo done",
        ].join("\n"),
      );
      const result = succeeded(outcome);
      expect(result.commits.map((c) => c.subject)).toEqual(["legit work"]);
      expect(await userGit(dir, "show", `${result.branch!}:legit.txt`)).toBe("legit");
      expect(outcome.warnings.join("\n")).toMatch(/not brought back: the uncommitted work's patch was made against [0-9a-f]{12}, not the branch's tip/);
      expect(existsSync(patchOf(dir, result))).toBe(false);
    });

    it("an agent that deletes its git dir loses its commits but the run's branch stays where it began (and the user's repository is untouched)", async (ctx) => {
      ready(ctx);
      const { dir, main } = await repository();
      const outcome = await agent(dir, "echo x > x.txt && git add x.txt && git commit -q -m gone && rm -rf .git && echo done");
      expect(outcome.lines).toContain("done");
      expect(await userGit(dir, "rev-parse", "main")).toBe(main);
      expect((await git(["fsck", "--no-dangling"], { cwd: dir, allowFailure: true })).exitCode).toBe(0);
    });
  });
}
