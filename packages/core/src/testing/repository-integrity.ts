import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { commandAgent } from "../builtins/command-agent.js";
import { git } from "../git.js";
import { agentEventsOf } from "../events.js";
import type { Isolation } from "../isolation.js";
import type { Configured } from "../plugin.js";
import { run, type RunResult } from "../run.js";
import type { Sandbox } from "../sandbox.js";

/** How `describeRepositoryIntegrity` makes the workspaces it attacks (in-place, and worktrees when given). */
export interface RepositoryIntegrityOptions {
  /** The worktree isolation, configured with the given options (from @corral/worktree-git), for the worktree cases. */
  worktree?: (options?: Record<string, unknown>) => Configured<"isolation"> | Isolation;
  /** Env every run gets (PATH inside the sandbox, say). */
  env?: Record<string, string>;
  /**
   * False for a sandbox that cannot show an in-place run its own git dir and refuses such runs
   * (fail closed): the kit then checks that refusal instead of the in-place attacks.
   */
  inPlace?: boolean;
}

const AUTHOR = { GIT_AUTHOR_NAME: "Kit", GIT_AUTHOR_EMAIL: "kit@example.com", GIT_COMMITTER_NAME: "Kit", GIT_COMMITTER_EMAIL: "kit@example.com" };

/**
 * Code-running git settings an agent can plant in the git dir it works in. Each runs the trap
 * `<markers>/trap <name>`, which leaves `<markers>/fired-<name>` behind. None may ever fire on the host.
 */
export function gitTraps(trap: string): Array<[key: string, value: string]> {
  const t = (name: string) => `${trap} ${name}`;
  return [
    ["core.fsmonitor", t("fsmonitor")],
    ["core.hooksPath", "hooks"],
    ["core.pager", t("pager")],
    ["pager.log", t("pager-log")],
    ["core.sshCommand", t("ssh")],
    ["core.editor", t("editor")],
    ["core.alternateRefsCommand", t("alternate-refs")],
    ["diff.external", t("diff-external")],
    ["diff.evil.textconv", t("textconv")],
    ["diff.evil.command", t("diff-driver")],
    ["merge.evil.driver", t("merge-driver")],
    ["filter.evil.clean", t("filter-clean")],
    ["filter.evil.smudge", t("filter-smudge")],
    ["filter.evil.process", t("filter-process")],
    ["credential.helper", `!${t("credential")}`],
    // Signature programs are run as a path, not through a shell: a trap of their own.
    ["gpg.program", `${trap}-gpg`],
    ["gpg.ssh.program", `${trap}-gpg-ssh`],
    ["log.showSignature", "true"],
    ["uploadpack.packObjectsHook", t("pack-objects-hook")],
  ];
}

/** The trap script: records that it ran, passes data through (a filter must), exits 0. */
export async function writeTrap(markers: string): Promise<string> {
  const trap = join(markers, "trap");
  await writeFile(trap, `#!/bin/sh\ntouch "${markers}/fired-$1"\nshift\nexec cat "$@" 2>/dev/null\n`);
  for (const name of ["gpg", "gpg-ssh"]) await writeFile(`${trap}-${name}`, `#!/bin/sh\nexec "${trap}" ${name} </dev/null\n`);
  for (const file of [trap, `${trap}-gpg`, `${trap}-gpg-ssh`]) await chmod(file, 0o755);
  return trap;
}

/** Which traps fired (their names). */
export async function firedTraps(markers: string): Promise<string[]> {
  return (await readdir(markers)).filter((name) => name.startsWith("fired-")).map((name) => name.slice("fired-".length)).sort();
}

/** A shell line that plants every trap in the agent's own git dir, plus hooks, attributes and an include. */
export function plantTrapsScript(trap: string): string {
  const configs = gitTraps(trap).map(([key, value]) => `git config ${key} ${shq(value)}`);
  const hooks = ["pre-commit", "post-commit", "post-checkout", "reference-transaction", "pre-auto-gc", "post-merge", "pre-push"]
    .map((hook) => `printf '#!/bin/sh\\n${trap} hook-${hook}\\n' > "$gitdir/hooks/${hook}"; chmod +x "$gitdir/hooks/${hook}"`);
  return [
    'gitdir="$(git rev-parse --absolute-git-dir)"',
    'mkdir -p "$gitdir/hooks"',
    ...configs,
    ...hooks,
    // An included config with a trap of its own, and attributes that ask for every driver.
    `printf '[core]\\n\\tfsmonitor = ${trap} included\\n' > "$gitdir/included"`,
    'git config include.path "$gitdir/included"',
    "printf '* filter=evil diff=evil merge=evil\\n' > .gitattributes",
  ].join("\n");
}

function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The repository-integrity suite: one vitest `describe` a sandbox plugin runs, with the agent as a
 * hostile shell script. Each attack an agent could try on the user's repository — planting code
 * that host-side git would run, replacing `.git`, rewriting the user's objects, moving other
 * branches and runs' branches, tags, `refs/replace`, corral's own config — is tried for real, in
 * every isolation given (in-place always; worktree when `options.worktree` is), next to the
 * legitimate operation it must not break (the agent's own commits come back).
 *
 * When `check()` says the sandbox is unavailable the cases skip, except in CI (`CI=true`).
 */
export function describeRepositoryIntegrity(name: string, makeSandbox: () => Configured<"sandbox"> | Sandbox | Promise<Configured<"sandbox"> | Sandbox>, options: RepositoryIntegrityOptions = {}): void {
  describe(`repository integrity: ${name}`, () => {
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
      root = await realpath(await mkdtemp(join(tmpdir(), "corral-integrity-")));
      markers = await mkdtemp(join(root, "markers-"));
      trap = await writeTrap(markers);
    });
    afterAll(async () => {
      if (root) await rm(root, { recursive: true, force: true });
    });

    const ready = (ctx: TestContext) => {
      if (unavailable) ctx.skip(`the ${name} sandbox is not available: ${unavailable}`);
    };

    /** A repository with `file.txt` over two commits on main, a branch `other` and a tag `v1`. */
    const repository = async (): Promise<{ dir: string; main: string; first: string }> => {
      const dir = await mkdtemp(join(root, "repo-"));
      await git(["init", "-q", "-b", "main"], { cwd: dir });
      await writeFile(join(dir, "file.txt"), "original\n");
      await git(["add", "file.txt"], { cwd: dir });
      await git(["commit", "-q", "-m", "first"], { cwd: dir, env: AUTHOR });
      await writeFile(join(dir, "README.md"), "# integrity\n");
      await git(["add", "README.md"], { cwd: dir });
      await git(["commit", "-q", "-m", "second"], { cwd: dir, env: AUTHOR });
      const first = (await git(["rev-parse", "HEAD~1"], { cwd: dir })).stdout;
      await git(["branch", "other", first], { cwd: dir });
      await git(["tag", "v1", first], { cwd: dir });
      return { dir, main: (await git(["rev-parse", "HEAD"], { cwd: dir })).stdout, first };
    };

    /** Runs the script as the agent, in the sandbox, on `isolation`; resolves with the result or the error. */
    const agent = async (dir: string, script: string, isolation: Configured<"isolation"> | Isolation | undefined, extra: { name?: string } = {}) => {
      const lines: string[] = [];
      const outcome = await run({
        agent: commandAgent.configure({ argv: ["sh", "-c", script] }),
        sandbox,
        ...(isolation ? { isolation } : {}),
        cwd: dir,
        prompt: "attack",
        env: { ...AUTHOR, ...options.env },
        handleProcessSignals: false,
        idleTimeout: 120,
        ...(extra.name ? { name: extra.name } : {}),
        onEvent: (event) => {
          for (const e of agentEventsOf(event)) if (e.type === "text") lines.push(e.text);
        },
      }).then(
        (result) => ({ result, error: undefined }),
        (error: unknown) => ({ result: undefined, error: error as { code?: string; message: string } }),
      );
      return { ...outcome, lines };
    };
    const userGit = async (dir: string, ...args: string[]) => (await git(args, { cwd: dir })).stdout;
    const succeeded = (outcome: { result?: RunResult; error?: { message: string } }): RunResult => {
      expect(outcome.error?.message).toBeUndefined();
      return outcome.result!;
    };
    /** A commit the agent makes that must come back: the twin of every attack. */
    const legit = 'echo legit > legit.txt && git add legit.txt && git commit -q -m "legit work"';

    const inPlace = options.inPlace !== false;
    const isolations: Array<[string, (opts?: Record<string, unknown>) => Configured<"isolation"> | Isolation | undefined]> = [
      ...(inPlace ? [["in-place", () => undefined] as [string, () => undefined]] : []),
      ...(options.worktree ? [["worktree", options.worktree] as [string, (opts?: Record<string, unknown>) => Configured<"isolation"> | Isolation]] : []),
    ];

    for (const [mode, isolation] of isolations) {
      describe(mode, () => {
        it("no code-running git setting the agent plants runs on the host, before, during or after the release (a trap for each)", async (ctx) => {
          ready(ctx);
          const { dir } = await repository();
          const before = await firedTraps(markers);
          // WIP commit and merge-back exercise every host-side git step after the run.
          const outcome = await agent(
            dir,
            [
              legit,
              plantTrapsScript(trap),
              // A commit with a signature header: `git log` with log.showSignature would call gpg.program.
              "tree=$(git rev-parse HEAD^{tree}); parent=$(git rev-parse HEAD)",
              "signed=$(printf 'tree %s\\nparent %s\\nauthor A <a@e.x> 1 +0000\\ncommitter A <a@e.x> 1 +0000\\ngpgsig -----BEGIN PGP SIGNATURE-----\\n \\n -----END PGP SIGNATURE-----\\n\\nsigned\\n' $tree $parent | git hash-object -t commit -w --stdin)",
              "git update-ref HEAD $signed",
              "echo leftover > leftover.txt",
              'echo "planted: $(git config --get core.fsmonitor)"',
            ].join("\n"),
            isolation({ uncommitted: "commit", mergeBack: "merge" }),
          );
          expect(outcome.lines, `${outcome.lines.join("\n")}\n${outcome.error?.message ?? ""}`).toContain(`planted: ${trap} included`);
          const result = succeeded(outcome);
          expect(result.commits.map((c) => c.subject)).toEqual(expect.arrayContaining(["legit work", "signed"]));
          // The user goes on with their own git in their checkout, as they would after any run.
          await userGit(dir, "status");
          await userGit(dir, "log", "-3");
          expect(await firedTraps(markers)).toEqual(before);
        });

        it("the agent's commits come back on its branch; the user's objects, other branches, tags and refs/replace cannot change", async (ctx) => {
          ready(ctx);
          const { dir, main, first } = await repository();
          const objects = join(dir, ".git", "objects");
          const blob = (await userGit(dir, "rev-parse", "main:file.txt")).trim();
          const script = [
            legit,
            'shared="$(head -n1 "$(git rev-parse --git-path objects)/info/alternates")"',
            'own="$(git rev-parse --git-path objects)"',
            // Poison: rewrite the loose objects behind main:file.txt and main~1, then destroy the history.
            `forged=$(echo forged | git hash-object -w --stdin)`,
            `for o in ${blob} ${first}; do d=$(echo $o | cut -c1-2); f=$(echo $o | cut -c3-); rm -f "$shared/$d/$f" 2>/dev/null; cp "$own/$(echo $forged | cut -c1-2)/$(echo $forged | cut -c3-)" "$shared/$d/$f" 2>/dev/null && echo POISONED; mkdir -p "$own/$d"; cp "$own/$(echo $forged | cut -c1-2)/$(echo $forged | cut -c3-)" "$own/$d/$f" 2>/dev/null; done`,
            'rm -rf "$shared"/?? 2>/dev/null && echo DESTROYED',
            'echo /etc > "$shared/info/alternates" 2>/dev/null && echo ALTERNATES',
            // Refs: move the user's other branch and tag, replace main~1, and point an alias at main.
            "git update-ref refs/heads/other HEAD; git tag -f v1 HEAD >/dev/null; git replace -f $(git rev-parse HEAD~1) HEAD 2>/dev/null; git symbolic-ref refs/heads/corral/alias refs/heads/main",
            "echo done",
          ].join("\n");
          const outcome = await agent(dir, script, isolation());
          expect(outcome.lines).toContain("done");
          expect(outcome.lines).not.toEqual(expect.arrayContaining(["POISONED"]));
          expect(outcome.lines).not.toContain("DESTROYED");
          expect(outcome.lines).not.toContain("ALTERNATES");
          const result = succeeded(outcome);
          // The twin: the agent's own work came back, on its branch.
          expect(result.commits.map((c) => c.subject)).toEqual(["legit work"]);
          const branch = result.branch ?? "main";
          expect(await userGit(dir, "show", `${branch}:legit.txt`)).toBe("legit");
          // Nothing else changed.
          expect(await userGit(dir, "show", `${main}:file.txt`)).toBe("original");
          expect(await userGit(dir, "log", "--format=%s", main)).toBe("second\nfirst");
          expect(await userGit(dir, "rev-parse", "other")).toBe(first);
          expect(await userGit(dir, "rev-parse", "v1^{commit}")).toBe(first);
          expect(await userGit(dir, "for-each-ref", "refs/replace", "refs/heads/corral/alias")).toBe("");
          expect(existsSync(join(objects, "info", "alternates"))).toBe(false);
          expect((await git(["fsck", "--full", "--strict"], { cwd: dir, allowFailure: true })).exitCode).toBe(0);
        });

        it("the user's own git maintenance while the agent works (gc, pack-refs, commits) breaks nothing", async (ctx) => {
          ready(ctx);
          const { dir } = await repository();
          const step = (n: number) => `echo step${n} > step${n}.txt && git add step${n}.txt && git commit -q -m "step ${n}" && echo done-${n} && while [ ! -e go-${n} ]; do sleep 0.1; done; rm -f go-${n}`;
          let workspace = "";
          const maintenance: Promise<unknown>[] = [];
          const outcome = run({
            agent: commandAgent.configure({ argv: ["sh", "-c", [step(1), step(2), step(3)].join(" && ")] }),
            sandbox,
            ...(isolation() ? { isolation: isolation()! } : {}),
            cwd: dir,
            prompt: "work",
            env: { ...AUTHOR, ...options.env },
            handleProcessSignals: false,
            idleTimeout: 120,
            onEvent: (event) => {
              if (event.type === "workspace.ready") workspace = event.path;
              for (const said of agentEventsOf(event)) {
                if (said.type !== "text" || !said.text.startsWith("done-")) continue;
                const n = said.text.slice("done-".length);
                // Between the agent's commits the user runs the maintenance git runs by itself, and commits.
                maintenance.push(
                  (async () => {
                    await git(["gc", "--quiet", "--prune=now"], { cwd: dir });
                    await git(["pack-refs", "--all"], { cwd: dir });
                    if (mode === "worktree") await git(["commit", "-q", "--allow-empty", "-m", `user ${n}`], { cwd: dir, env: AUTHOR });
                    await writeFile(join(workspace, `go-${n}`), "");
                  })(),
                );
              }
            },
          });
          const result = await outcome;
          await Promise.all(maintenance);
          expect(result.commits.map((c) => c.subject)).toEqual(["step 1", "step 2", "step 3"]);
          expect(await userGit(dir, "show", `${result.branch!}:step3.txt`)).toBe("step3");
          expect((await git(["fsck", "--no-dangling"], { cwd: dir, allowFailure: true })).exitCode).toBe(0);
        });

        if (mode === "worktree") {
          it("commits the agent's own reset dropped make the run a failure that names the reflog entry, and stay reachable; an amend is fine", async (ctx) => {
            ready(ctx);
            const { dir } = await repository();
            const dropped = await agent(dir, `${legit} && echo more > more.txt && git add more.txt && git commit -q -m "dropped work" && git reset -q --hard HEAD~1 && echo done`, isolation());
            expect(dropped.lines).toContain("done");
            expect(dropped.error).toMatchObject({ code: "E_COMMITS_DROPPED" });
            expect(dropped.error!.message).toMatch(/1 commit\(s\) the run made are not on corral\/\S+ .*"dropped work".*HEAD@\{0\} in the run's reflog: "reset: moving to HEAD~1"/);
            const ref = /kept at (refs\/corral\/dropped\/\S+?)\./.exec(dropped.error!.message)![1]!;
            expect(await userGit(dir, "log", "-1", "--format=%s", ref)).toBe("dropped work");
            expect(await userGit(dir, "show", `${ref}:more.txt`)).toBe("more");
            // The twin: replacing its own commit (amend) loses nothing.
            const amended = await agent(dir, `${legit} && git commit -q --amend -m "legit amended" && echo done`, isolation());
            expect(succeeded(amended).commits.map((c) => c.subject)).toEqual(["legit amended"]);
          });

          it("a commit the agent's git refused (a locked ref) is a failure, and the refused commit stays reachable", async (ctx) => {
            ready(ctx);
            const { dir } = await repository();
            const script = [
              legit,
              'lock="$(git rev-parse --absolute-git-dir)/$(git symbolic-ref HEAD).lock"',
              'touch "$lock"',
              'echo refused > refused.txt && git add refused.txt && { git commit -q -m "refused work" 2>/dev/null || echo REFUSED; }',
              'rm -f "$lock"',
              "git reset -q --hard HEAD",
              "echo done",
            ].join("\n");
            const outcome = await agent(dir, script, isolation());
            expect(outcome.lines).toContain("REFUSED");
            expect(outcome.error).toMatchObject({ code: "E_COMMITS_DROPPED" });
            expect(outcome.error!.message).toMatch(/"refused work".*never put them on a branch/);
            const ref = /kept at (refs\/corral\/dropped\/\S+?)\./.exec(outcome.error!.message)![1]!;
            expect(await userGit(dir, "show", `${ref}:refused.txt`)).toBe("refused");
          });

          it("a branch the agent moved behind its base is a failure", async (ctx) => {
            ready(ctx);
            const { dir, main } = await repository();
            const outcome = await agent(dir, "git reset -q --hard HEAD~1 && echo done", isolation());
            expect(outcome.lines).toContain("done");
            expect(outcome.error).toMatchObject({ code: "E_COMMITS_DROPPED" });
            expect(outcome.error!.message).toContain(`behind where it started (${main.slice(0, 12)}, still on main)`);
            expect(await userGit(dir, "rev-parse", "main")).toBe(main);
          });
        }

        it("the .git the agent sees cannot be renamed, replaced or repointed", async (ctx) => {
          ready(ctx);
          const { dir } = await repository();
          const markerPlan = `${trap} fsmonitor-repointed`;
          const script = [
            legit,
            "mv .git .git-real 2>/dev/null && echo RENAMED",
            "rm -f .git 2>/dev/null; rmdir .git 2>/dev/null; [ -e .git ] || echo REMOVED",
            // A git dir of its own, armed, and the .git pointed at it; then leave work behind so the worktree is kept.
            "mkdir -p evil && git init -q --bare evil/g && git --git-dir=evil/g config core.bare false && git --git-dir=evil/g config core.fsmonitor " + shq(markerPlan),
            "printf 'gitdir: evil/g\\n' > .git 2>/dev/null && echo REPOINTED",
            "echo unfinished > unfinished.txt",
            "echo done",
          ].join("\n");
          const outcome = await agent(dir, script, isolation());
          expect(outcome.lines).toContain("done");
          expect(outcome.lines).not.toContain("RENAMED");
          expect(outcome.lines).not.toContain("REMOVED");
          expect(outcome.lines).not.toContain("REPOINTED");
          const result = succeeded(outcome);
          expect(result.commits.map((c) => c.subject)).toEqual(["legit work"]);
          // What the user opens afterwards is safe: plain git there uses the user's own git dir.
          const place = result.workspace.release.path ?? dir;
          const before = await firedTraps(markers);
          expect(await userGit(place, "status", "--porcelain")).toContain("unfinished.txt");
          expect(await firedTraps(markers)).toEqual(before);
          if (mode === "worktree") expect(result.workspace.release.removed).toBe(false);
        });
      });
    }

    if (!inPlace) {
      it("in-place: a sandbox that cannot show the run its own git dir refuses the run, and nothing is left", async (ctx) => {
        ready(ctx);
        const { dir, main } = await repository();
        const outcome = await agent(dir, `${legit}; echo RAN`, undefined);
        expect(outcome.lines).not.toContain("RAN");
        expect(outcome.error).toMatchObject({ code: expect.stringMatching(/^E_SANDBOX/) });
        expect(await userGit(dir, "rev-parse", "HEAD")).toBe(main);
        expect(await readdir(join(dir, ".git", "corral", "gitdirs")).catch(() => [])).toEqual([]);
      });
    }

    if (inPlace) it("in-place: a corral config the agent writes is never left for the next run, and the run is not a success", async (ctx) => {
      ready(ctx);
      const { dir, main } = await repository();
      await mkdir(join(dir, ".corral"));
      await writeFile(join(dir, ".git", "info", "exclude"), "/.corral/\n");
      const script = [
        legit,
        `printf '{"hooks":{"onWorkspaceReady":"${trap} config-hook"}}' > corral.config.json`,
        "mkdir -p .corral/runs/planted 2>/dev/null && echo CORRAL-WRITTEN",
        "echo done",
      ].join("\n");
      const outcome = await agent(dir, script, undefined);
      expect(outcome.lines).toContain("done");
      expect(outcome.lines).not.toContain("CORRAL-WRITTEN");
      expect(existsSync(join(dir, ".corral", "runs"))).toBe(false);
      expect(outcome.error).toMatchObject({ code: "E_INTEGRITY" });
      expect(outcome.error?.message).toContain("corral.config.json");
      expect(existsSync(join(dir, "corral.config.json"))).toBe(false);
      // The twin: a run that only commits is a success, and its commit fast-forwards the branch.
      const twin = succeeded(await agent(dir, 'echo more > more.txt && git add more.txt && git commit -q -m "more work"', undefined));
      expect(twin.commits.map((c) => c.subject)).toEqual(["more work"]);
      expect(await userGit(dir, "rev-parse", "main~2")).toBe(main);
      expect(await userGit(dir, "status", "--porcelain")).toMatch(/corral\.config\.json\.rejected-/);
    });

    if (inPlace) it("in-place: history the run did not make is never rewritten", async (ctx) => {
      ready(ctx);
      const { dir, main } = await repository();
      const outcome = await agent(dir, "git reset -q --hard HEAD~1 && echo rewritten > file.txt && git commit -qam rewritten && echo done", undefined);
      expect(outcome.error).toMatchObject({ code: "E_INTEGRITY" });
      expect(await userGit(dir, "rev-parse", "main")).toBe(main);
      expect(await userGit(dir, "for-each-ref", "--format=%(refname)", "refs/corral/rejected")).toMatch(/^refs\/corral\/rejected\//);
    });

    describe("repository shapes that keep working (the agent commits; the commit comes back)", () => {
      const commitAndCheck = async (dir: string, isolation: Configured<"isolation"> | Isolation | undefined, cwd = dir) => {
        const outcome = await agent(cwd, `${legit} && echo committed-in-$(basename "$PWD")`, isolation);
        const result = succeeded(outcome);
        expect(result.commits.map((c) => c.subject)).toEqual(["legit work"]);
        return { result, lines: outcome.lines };
      };
      const shapes: Array<[string, () => Promise<{ dir: string; cwd?: string }>]> = [
        ["a run started in a subfolder", async () => {
          const { dir } = await repository();
          await mkdir(join(dir, "sub", "deeper"), { recursive: true });
          await writeFile(join(dir, "sub", "deeper", "x.txt"), "x\n");
          await git(["add", "-A"], { cwd: dir });
          await git(["commit", "-q", "-m", "sub"], { cwd: dir, env: AUTHOR });
          return { dir, cwd: join(dir, "sub", "deeper") };
        }],
        ["a shallow clone", async () => {
          const { dir: origin } = await repository();
          const dir = join(root, `shallow-${Date.now()}`);
          await git(["clone", "-q", "--depth", "1", `file://${origin}`, dir], { cwd: root });
          return { dir };
        }],
        ["a checkout with a submodule", async () => {
          const { dir: lib } = await repository();
          const { dir } = await repository();
          await git(["-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "lib"], { cwd: dir });
          await git(["commit", "-q", "-m", "add lib"], { cwd: dir, env: AUTHOR });
          return { dir };
        }],
        ["LFS pointer files", async () => {
          const { dir } = await repository();
          await writeFile(join(dir, ".gitattributes"), "*.bin filter=lfs diff=lfs merge=lfs -text\n");
          await writeFile(join(dir, "blob.bin"), "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n");
          await git(["add", "-A"], { cwd: dir });
          await git(["commit", "-q", "-m", "lfs pointer"], { cwd: dir, env: AUTHOR });
          return { dir };
        }],
        ["a linked worktree (git worktree add) as the checkout", async () => {
          const { dir: main } = await repository();
          const dir = join(root, `linked-${Date.now()}`);
          await git(["worktree", "add", "-q", "-b", "feature", dir], { cwd: main });
          return { dir };
        }],
        ["a SHA-256 repository", async () => {
          const dir = await mkdtemp(join(root, "sha256-"));
          await git(["init", "-q", "--object-format=sha256", "-b", "main"], { cwd: dir });
          await writeFile(join(dir, "file.txt"), "original\n");
          await git(["add", "file.txt"], { cwd: dir });
          await git(["commit", "-q", "-m", "first"], { cwd: dir, env: AUTHOR });
          return { dir };
        }],
      ];
      for (const [mode, isolation] of isolations) {
        for (const [shape, make] of shapes) {
          it(`${mode}: ${shape}`, async (ctx) => {
            ready(ctx);
            const { dir, cwd } = await make();
            const before = (await git(["rev-parse", "HEAD"], { cwd: dir })).stdout;
            const { result, lines } = await commitAndCheck(dir, isolation(), cwd ?? dir);
            if (cwd) expect(lines).toContain(`committed-in-${cwd.split("/").pop()}`);
            const branch = result.branch!;
            expect(await userGit(dir, "rev-parse", `${branch}~1`)).toBe(before);
            expect((await git(["fsck", "--no-dangling"], { cwd: dir, allowFailure: true })).exitCode).toBe(0);
          });
        }
      }
      if (inPlace) it("in-place: a branch without commits yet, and a detached HEAD", async (ctx) => {
        ready(ctx);
        const unborn = await mkdtemp(join(root, "unborn-"));
        await git(["init", "-q", "-b", "main"], { cwd: unborn });
        const first = succeeded(await agent(unborn, legit, undefined));
        expect(first.commits.map((c) => c.subject)).toEqual(["legit work"]);
        expect(await userGit(unborn, "log", "--format=%s", "main")).toBe("legit work");
        expect(await userGit(unborn, "status", "--porcelain")).toBe("");
        const { dir, first: older } = await repository();
        await git(["checkout", "-q", "--detach", older], { cwd: dir });
        const detached = succeeded(await agent(dir, legit, undefined));
        expect(detached.commits.map((c) => c.subject)).toEqual(["legit work"]);
        expect(await userGit(dir, "rev-parse", "HEAD~1")).toBe(older);
        expect(await userGit(dir, "status", "--porcelain")).toBe("");
      });
    });

    if (options.worktree) {
      const worktree = options.worktree;
      it("worktree: a run can move only its own branch, even while another run works", async (ctx) => {
        ready(ctx);
        const { dir, main } = await repository();
        // An earlier run's branch exists; the victim commits, then keeps working while the attacker tries to reach it.
        succeeded(await agent(dir, legit, worktree(), { name: "earlier" }));
        const victim = agent(dir, `${legit} && sleep 3 && echo victim-done`, worktree(), { name: "victim" });
        const attacker = agent(
          dir,
          [
            "sleep 1",
            'git for-each-ref --format="%(refname)" refs/heads/corral/ | grep -v attacker || echo no-other-runs-visible',
            "git update-ref refs/heads/corral/victim HEAD; git update-ref refs/heads/corral/earlier HEAD; git symbolic-ref refs/heads/corral/alias refs/heads/main",
            legit,
            "echo attacker-done",
          ].join("\n"),
          worktree(),
          { name: "attacker" },
        );
        const [v, a] = await Promise.all([victim, attacker]);
        expect(a.lines).toContain("no-other-runs-visible");
        const vr = succeeded(v);
        const ar = succeeded(a);
        expect(await userGit(dir, "log", "--format=%s", vr.branch!)).toBe("legit work\nsecond\nfirst");
        expect(await userGit(dir, "rev-parse", `${vr.branch!}~1`)).toBe(main);
        expect(ar.commits.map((c) => c.subject)).toEqual(["legit work"]);
        expect(await userGit(dir, "rev-parse", "corral/earlier~1")).toBe(main);
        expect(await userGit(dir, "for-each-ref", "refs/heads/corral/alias")).toBe("");
      });

      it("worktree: corral's WIP commit lands on the run's branch whatever HEAD the agent left", async (ctx) => {
        ready(ctx);
        const { dir, main } = await repository();
        const outcome = await agent(dir, "git symbolic-ref HEAD refs/heads/main && echo wip > left.txt && echo done", worktree({ uncommitted: "commit" }), { name: "wip-head" });
        const result = succeeded(outcome);
        expect(await userGit(dir, "rev-parse", "main")).toBe(main);
        expect(result.commits).toHaveLength(1);
        expect(result.commits[0]!.subject).toMatch(/^WIP: uncommitted changes left by corral run/);
        expect(await userGit(dir, "show", `${result.branch!}:left.txt`)).toBe("wip");
      });
    }
  });
}
