// One sample of the fixed cost, in its own node process (what a user's `node script.mjs` pays):
//   node startup-child.mjs <corral|cli|raw|import|zod> <repo> <branch>
// corral: import the library, the claude agent and the worktree isolation, then run() one
// iteration in the host sandbox on a new worktree (the fake `claude` first on PATH commits a file).
// cli: the same run through the `corral` command (`corral run --agent claude --sandbox host
// --isolation worktree ...`), its built entry started in this process as bin/corral.js starts it.
// raw: the same work without corral (git worktree add -b, the fake claude in it, git worktree
// remove), from the same fresh node process. import: only the modules a run loads; zod: only zod
// (core's bundled copy, the one a run loads).
// Prints { runMs, commits, maxRssMB, cpuMs }; runMs
// counts from the process's own start (performance.timeOrigin), so module loading is in it.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [mode, repo, branch] = process.argv.slice(2);
let commits;
if (mode === "import") {
  // What the run's modules cost to load, nothing run: the library, the claude agent, the worktree isolation.
  await import("../../apps/corral/dist/index.js");
  await import("../../packages/agent-claude/dist/index.js");
  await import("../../packages/worktree-git/dist/index.js");
} else if (mode === "zod") {
  // The part of that which is zod: the one bundled copy every first-party package runs with (@corral/core/zod).
  await import("../../packages/core/dist/zod.js");
} else if (mode === "cli") {
  // The command's own entry, in this process: what `corral run ...` pays, from node's start to its exit.
  const name = branch.replace(/\//g, "-");
  process.env.ANTHROPIC_API_KEY = "sk-bench-not-a-real-key";
  const bin = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));
  // argv[1] is the command's own file, as node sets it (the plugin loader resolves from there too).
  process.argv = [process.argv[0], bin, "run", "--agent", "claude", "--sandbox", "host", "--isolation", "worktree", "--cwd", repo, "--name", name, "--prompt", "Add a file and commit it.", "--max-iterations", "1"];
  // The human output goes to stderr; stdout keeps this script's one JSON line.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);
  await import("../../apps/cli/dist/bin.js");
  await new Promise((resolve) => process.once("beforeExit", resolve));
  const runMs = performance.now();
  // Exit 3 is "incomplete": one iteration without the completion signal, as the library case.
  if (process.exitCode !== 0 && process.exitCode !== 3) throw new Error(`corral run exited with ${process.exitCode}`);
  process.exitCode = 0;
  const count = Number(execFileSync("git", ["rev-list", "--count", `HEAD..corral/${name}`], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] }).toString());
  const u = process.resourceUsage();
  write(`${JSON.stringify({ runMs, commits: count, maxRssMB: u.maxRSS / 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 })}\n`);
  process.exit(0);
} else if (mode === "corral") {
  const { run, hostSandbox } = await import("../../apps/corral/dist/index.js");
  const { claude } = await import("../../packages/agent-claude/dist/index.js");
  const { worktree } = await import("../../packages/worktree-git/dist/index.js");
  const result = await run({
    agent: claude(),
    sandbox: hostSandbox.configure({}),
    isolation: worktree({ deleteBranch: false }),
    config: false,
    cwd: repo,
    name: branch,
    prompt: "Add a file and commit it.",
    maxIterations: 1,
    handleProcessSignals: false,
    env: { PATH: process.env.PATH },
    hostEnv: { ANTHROPIC_API_KEY: "sk-bench-not-a-real-key" },
  });
  if (result.status !== "incomplete" && result.status !== "succeeded") throw new Error(`run ${result.status}: ${result.error?.message}`);
  commits = result.commits.length;
} else {
  const path = join(repo, ".corral", "raw", branch.replace(/\//g, "-"));
  const git = (args, cwd = repo) => execFileSync("git", args, { cwd, stdio: ["ignore", "pipe", "pipe"] }).toString();
  git(["worktree", "add", "-q", "-b", branch, path]);
  execFileSync("claude", ["-p", "--output-format", "stream-json"], { cwd: path, input: "Add a file and commit it.", stdio: ["pipe", "pipe", "pipe"] });
  commits = Number(git(["rev-list", "--count", `HEAD..${branch}`]));
  git(["worktree", "remove", "--force", path]);
}
// Not fixtures.mjs's ownUsage: importing fixtures.mjs loads core, which the import and zod samples must not pay.
const u = process.resourceUsage();
const usage = { maxRssMB: u.maxRSS / 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 };
console.log(JSON.stringify({ runMs: performance.now(), commits, ...usage }));
