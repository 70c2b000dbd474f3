// One sample of the Sandcastle side-by-side, in its own node process (so its peak RSS is its own):
//   node side-by-side-child.mjs <corral|sandcastle> <host|docker> <iterations> <repo> <branch> <image> [sandcastle dir]
// Both tools get the same repository content, the same fake `claude` (first on PATH, or in the
// image), a new branch in a new worktree, and the same number of iterations (no completion signal).
// Prints { runMs, iterations, commits, maxRssMB, cpuMs } as its last line.
import { join } from "node:path";
import { ownUsage } from "./fixtures.mjs";

const [tool, sandboxName, iterationsArg, repo, branch, image, sandcastleDir] = process.argv.slice(2);
const maxIterations = Number(iterationsArg);
const prompt = "Add a file and commit it.";
const started = performance.now();
let iterations;
let commits;

if (tool === "corral") {
  const { run, hostSandbox } = await import("../../apps/corral/dist/index.js");
  const { claude } = await import("../../packages/agent-claude/dist/index.js");
  const { worktree } = await import("../../packages/worktree-git/dist/index.js");
  const sandbox = sandboxName === "docker" ? (await import("../../packages/sandbox-docker/dist/index.js")).docker({ image }) : hostSandbox.configure({});
  const result = await run({
    agent: claude(),
    sandbox,
    isolation: worktree(),
    config: false,
    cwd: repo,
    name: branch,
    prompt,
    maxIterations,
    handleProcessSignals: false,
    env: { PATH: process.env.PATH },
    hostEnv: { ANTHROPIC_API_KEY: "sk-bench-not-a-real-key" },
  });
  iterations = result.iterations;
  commits = result.commits.length;
} else {
  const sc = (path) => import(join(sandcastleDir, "node_modules/@ai-hero/sandcastle/dist", path));
  const { run, claudeCode } = await sc("index.js");
  const sandbox = sandboxName === "docker" ? (await sc("sandboxes/docker.js")).docker({ imageName: image }) : (await sc("sandboxes/no-sandbox.js")).noSandbox();
  const result = await run({
    agent: claudeCode("sonnet", { captureSessions: false, env: { ANTHROPIC_API_KEY: "sk-bench-not-a-real-key" } }),
    sandbox,
    cwd: repo,
    prompt,
    maxIterations,
    branchStrategy: { type: "branch", branch },
    logging: { type: "file", path: join(repo, "..", "logs", `${branch.replace(/\//g, "-")}.log`) },
  });
  iterations = result.iterations.length;
  commits = result.commits.length;
}

console.log(JSON.stringify({ runMs: performance.now() - started, iterations, commits, ...ownUsage() }));
