// One sample of the fixed cost, in its own node process (what a user's `node script.mjs` pays):
//   node startup-child.mjs <corral|raw|import|zod> <repo> <branch>
// corral: import the library, the claude agent and the worktree isolation, then run() one
// iteration in the host sandbox on a new worktree (the fake `claude` first on PATH commits a file).
// raw: the same work without corral (git worktree add -b, the fake claude in it, git worktree
// remove), from the same fresh node process. import: only the modules a run loads; zod: only zod.
// Prints { runMs, commits, maxRssMB, cpuMs }; runMs
// counts from the process's own start (performance.timeOrigin), so module loading is in it.
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const [mode, repo, branch] = process.argv.slice(2);
let commits;
if (mode === "import") {
  // What the run's modules cost to load, nothing run: the library, the claude agent, the worktree isolation.
  await import("../../apps/corral/dist/index.js");
  await import("../../packages/agent-claude/dist/index.js");
  await import("../../packages/worktree-git/dist/index.js");
} else if (mode === "zod") {
  // The part of that which is zod (the options schemas' library), loaded alone, as the plugins load it.
  const { createRequire } = await import("node:module");
  const { dirname, join: joinPath } = await import("node:path");
  const { pathToFileURL } = await import("node:url");
  const pkg = createRequire(new URL("../../packages/agent-claude/package.json", import.meta.url)).resolve("zod/package.json");
  await import(pathToFileURL(joinPath(dirname(pkg), "index.js")).href);
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
