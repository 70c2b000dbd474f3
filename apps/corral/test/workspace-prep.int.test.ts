import { execa } from "execa";
import { existsSync, readdirSync } from "node:fs";
import { chmod, lstat, mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bwrap } from "@corral/sandbox-bwrap";
import { worktree } from "@corral/worktree-git";
import { commandAgent, HookError, UsageError, type RunEvent } from "@corral/core";
import { gitIn, hasCommand, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { run } from "../src/index.js";

const sh = (script: string) => commandAgent.configure({ argv: ["sh", "-c", script, "{prompt}"] });
const COMMIT = 'git add -A && git -c user.name=Agent -c user.email=agent@example.com commit -qm';

async function runCollecting(options: Parameters<typeof run>[0]) {
  const events: RunEvent[] = [];
  const result = await run({ config: false, handleProcessSignals: false, onEvent: (e) => events.push(e), ...options });
  return { result, events };
}

describe("setup hooks", () => {
  it("onWorkspaceReady installs a package on the host that the agent then uses", async () => {
    // A real npm package, packed to a tarball, installed offline by the hook into the fresh worktree.
    const pkgDir = await tempDir();
    await writeFile(join(pkgDir, "package.json"), JSON.stringify({ name: "greeter", version: "1.0.0", bin: { greet: "greet.js" } }));
    await writeFile(join(pkgDir, "greet.js"), "#!/usr/bin/env node\nconsole.log('hello from greeter ' + process.argv[2]);\n");
    await chmod(join(pkgDir, "greet.js"), 0o755);
    const packed = await execa("npm", ["pack", "--silent", "--pack-destination", pkgDir], { cwd: pkgDir });
    const tarball = join(pkgDir, packed.stdout.trim().split("\n").at(-1)!);

    const repo = await tempRepo({ "README.md": "x\n", ".gitignore": "node_modules/\n" });
    const { result, events } = await runCollecting({
      cwd: repo,
      name: "setup-hook",
      agent: sh(`./node_modules/.bin/greet agent > greeting.txt && ${COMMIT} "use greeter"`),
      isolation: worktree(),
      prompt: "greet",
      hooks: { onWorkspaceReady: [["npm", "install", "--offline", "--no-save", "--no-audit", "--no-fund", tarball]] },
    });
    expect(result.commits.map((c) => c.subject)).toEqual(["use greeter"]);
    expect(await gitIn(repo, "show", `${result.branch}:greeting.txt`)).toBe("hello from greeter agent");
    const hookEvents = events.filter((e) => e.type.startsWith("hook."));
    expect(hookEvents[0]).toMatchObject({ type: "hook.started", hook: "onWorkspaceReady" });
    expect(hookEvents.at(-1)).toMatchObject({ type: "hook.finished", hook: "onWorkspaceReady", exitCode: 0 });
  });

  it("a failing hook stops the run with HookError; the worktree and branch are kept", async () => {
    const repo = await tempRepo();
    const error = (await run({
      cwd: repo,
      config: false,
      handleProcessSignals: false,
      name: "broken-setup",
      agent: sh("touch agent-ran"),
      isolation: worktree(),
      prompt: "x",
      hooks: { onWorkspaceReady: "echo installing; echo 'E404 no such package' >&2; exit 3" },
    }).catch((e: unknown) => e)) as HookError;
    expect(error).toBeInstanceOf(HookError);
    expect(error).toMatchObject({ code: "E_HOOK", hook: "onWorkspaceReady", exitCode: 3 });
    expect(error.message).toContain("exit code 3");
    expect(error.message).toContain("E404 no such package");
    expect(error.command).toContain("exit 3");
    expect(await gitIn(repo, "branch", "--list", "corral/broken-setup")).toContain("corral/broken-setup");
    const worktrees = await gitIn(repo, "worktree", "list", "--porcelain");
    const kept = worktrees.split("\n").find((l) => l.startsWith("worktree ") && l.includes("broken-setup"));
    expect(kept).toBeDefined();
    expect(existsSync(join(kept!.slice(9), "agent-ran"))).toBe(false);
  });

  it("hooks run inside bwrap, and afterIteration output reaches the next prompt", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)")) ctx.skip();
    const repo = await tempRepo();
    await writeFile(join(repo, "prompt.md"), "iteration {{iteration}}; last check exit {{afterIterationExitCode}}: {{afterIterationOutput}}\n");
    const { result, events } = await runCollecting({
      cwd: repo,
      name: "hooks-in-bwrap",
      agent: sh(`printf '%s' "$0" >> prompts.txt; ${COMMIT} "iteration"`),
      sandbox: bwrap(),
      isolation: worktree(),
      promptFile: join(repo, "prompt.md"),
      maxIterations: 2,
      hooks: {
        onSandboxReady: "test ! -e /proc/1/root/root/.ssh && echo sandbox-ready $(id -u)",
        beforeIteration: "echo before >> hooks.log",
        afterIteration: { command: "echo checks $(wc -l < prompts.txt); exit 1", continueOnError: true },
      },
    });
    expect(result.iterations).toBe(2);
    const prompts = await gitIn(repo, "show", `${result.branch}:prompts.txt`);
    expect(prompts.split("\n")).toEqual(["iteration 1; last check exit : ", "iteration 2; last check exit 1: checks 1"]);
    expect(await gitIn(repo, "show", `${result.branch}:hooks.log`)).toBe("before\nbefore");
    const ready = events.find((e) => e.type === "hook.output" && e.hook === "onSandboxReady");
    expect(ready).toMatchObject({ line: expect.stringMatching(/^sandbox-ready \d+$/) });
  });

  it("hook commands are refused up front when empty", async () => {
    const repo = await tempRepo();
    await expect(run({ cwd: repo, config: false, agent: sh("true"), isolation: "in-place", prompt: "x", hooks: { beforeIteration: "  " } })).rejects.toThrow(/empty command/);
  });
});

describe("copying untracked files into the worktree", () => {
  it("copies paths and globs, as independent copies (never hard links), and reports them", async () => {
    const repo = await tempRepo({ "README.md": "x\n", ".gitignore": "node_modules/\n.env\ndist/\n", "packages/a/src.ts": "a", "packages/b/src.ts": "b" });
    for (let i = 0; i < 200; i++) {
      await mkdir(join(repo, "node_modules", `pkg${i}`), { recursive: true });
      await writeFile(join(repo, "node_modules", `pkg${i}`, "index.js"), `module.exports = ${i};\n`);
    }
    await writeFile(join(repo, ".env"), "API_TOKEN=local\n");
    await mkdir(join(repo, "packages/a/dist"), { recursive: true });
    await writeFile(join(repo, "packages/a/dist/out.js"), "built");
    const { result, events } = await runCollecting({
      cwd: repo,
      name: "copy",
      agent: sh(`cat node_modules/pkg7/index.js packages/a/dist/out.js .env > seen.txt; echo changed > node_modules/pkg7/index.js; ${COMMIT} "saw copies" -- seen.txt`),
      isolation: worktree(),
      prompt: "x",
      copy: ["node_modules", ".env", "packages/*/dist"],
    });
    expect(await gitIn(repo, "show", `${result.branch}:seen.txt`)).toBe("module.exports = 7;\nbuiltAPI_TOKEN=local");
    // The agent changed its copy; the host's file is untouched and was never hard-linked.
    expect(await readFile(join(repo, "node_modules/pkg7/index.js"), "utf8")).toBe("module.exports = 7;\n");
    expect((await stat(join(repo, "node_modules/pkg7/index.js"))).nlink).toBe(1);
    const copied = events.find((e) => e.type === "workspace.copied");
    expect(copied).toMatchObject({ paths: [".env", "node_modules", "packages/a/dist"] });
  });

  it.each([
    ["../outside", /leaves the repository/],
    ["/etc/passwd", /absolute/],
    ["~/.ssh", /absolute/],
    ["node_modules/../../x", /leaves the repository/],
    [".git/config", /git metadata/],
  ])("refuses %s before anything is created", async (pattern, message) => {
    const repo = await tempRepo();
    const error = await run({ cwd: repo, config: false, agent: sh("touch ran"), isolation: worktree(), prompt: "x", copy: [pattern] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect(await gitIn(repo, "branch", "--list", "corral/*")).toBe("");
  });

  it("never writes through a symlink committed in the worktree's base branch", async () => {
    // Someone else's branch commits `config` as a symlink to a host folder; the user's checkout has an
    // untracked config/.env to copy in. Copying would follow the symlink and leak the secret out there.
    const victimDir = await tempDir();
    const repo = await tempRepo({ "README.md": "x\n", ".gitignore": "config/.env\n" });
    await gitIn(repo, "checkout", "-q", "-b", "pr");
    await symlink(victimDir, join(repo, "config"));
    await gitIn(repo, "add", "config");
    await gitIn(repo, "commit", "-qm", "pr: config is a symlink");
    await gitIn(repo, "checkout", "-q", "main");
    await mkdir(join(repo, "config"));
    await writeFile(join(repo, "config", ".env"), "API_TOKEN=s3cret\n");
    const error = await run({ cwd: repo, config: false, handleProcessSignals: false, agent: sh("touch ran"), isolation: worktree({ base: "pr" }), prompt: "x", copy: ["config/.env"] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/config is a symlink in the worktree/);
    expect(readdirSync(victimDir)).toEqual([]);
  });

  it("refuses to copy over a path the worktree already has (tracked)", async () => {
    const repo = await tempRepo({ "README.md": "x\n", "tracked.txt": "from git\n" });
    const error = await run({ cwd: repo, config: false, handleProcessSignals: false, agent: sh("touch ran"), isolation: worktree(), prompt: "x", copy: ["tracked.txt"] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/already exists in the worktree/);
  });

  it("refuses a symlink that points outside the repository", async () => {
    const outside = await tempDir();
    await writeFile(join(outside, "secret.txt"), "host secret");
    const repo = await tempRepo();
    await symlink(outside, join(repo, "linked"));
    const error = await run({ cwd: repo, config: false, handleProcessSignals: false, agent: sh("touch ran"), isolation: worktree(), prompt: "x", copy: ["linked"] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/symlink to .* outside the repository/);
  });
});

describe("runs from a subfolder", () => {
  it("gets a worktree of the whole repository and works in the same subfolder of it", async () => {
    const repo = await tempRepo({ "README.md": "root\n", "packages/foo/index.ts": "export {};\n", "packages/bar/index.ts": "export {};\n" });
    const sub = join(repo, "packages/foo");
    const { result } = await runCollecting({
      cwd: sub,
      name: "from-sub",
      agent: sh(`pwd > where.txt; ls ../bar > sibling.txt; ${COMMIT} "from a subfolder"`),
      isolation: worktree(),
      prompt: "x",
    });
    expect(result.workspace.path.startsWith(join(repo, ".corral"))).toBe(true);
    expect(result.workspace.cwd).toBe(join(result.workspace.path, "packages/foo"));
    expect(await gitIn(repo, "show", `${result.branch}:packages/foo/where.txt`)).toBe(result.workspace.cwd);
    expect(await gitIn(repo, "show", `${result.branch}:packages/foo/sibling.txt`)).toBe("index.ts");
    expect(result.commits[0]!.files.sort()).toEqual(["packages/foo/sibling.txt", "packages/foo/where.txt"]);
    expect(existsSync(join(sub, ".corral"))).toBe(false);
  });
});

describe("secrets on disk", () => {
  it("the per-run HOME is 0700 while the run lives and is gone afterwards; the log file is 0600", async () => {
    const repo = await tempRepo();
    const log = join(await tempDir(), "run.log");
    const { result } = await runCollecting({
      cwd: repo,
      agent: sh(`stat -c '%a %u' "$HOME" > home-mode.txt; echo "$HOME" > home-path.txt; ${COMMIT} modes`),
      isolation: worktree(),
      prompt: "x",
      env: { SOME_TOKEN: "abcdefgh-secret" },
      logFile: log,
    });
    const [mode, uid] = (await gitIn(repo, "show", `${result.branch}:home-mode.txt`)).split(" ");
    expect(mode).toBe("700");
    expect(Number(uid)).toBe(process.getuid!());
    expect(existsSync(await gitIn(repo, "show", `${result.branch}:home-path.txt`))).toBe(false);
    expect((await lstat(log)).mode & 0o777).toBe(0o600);
    expect(await readFile(log, "utf8")).not.toContain("abcdefgh-secret");
  });
});
