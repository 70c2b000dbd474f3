// One sample of the fleet scale case, in its own node process (so peak RSS is the fleet's alone):
//   node fleet-scale-child.mjs <tasks> <concurrency> <repo>
// <tasks> tasks of the `command` agent through runMany, <concurrency> at a time, each in the bwrap
// sandbox on its own worktree and branch, run journal on. The agent prints a few lines and exits.
// Prints { runMs, succeeded, maxRssMB, cpuMs }.
import { ownUsage } from "./fixtures.mjs";

const [tasksArg, concurrencyArg, repo] = process.argv.slice(2);
const lib = await import("../../apps/corral/dist/index.js");
const { worktree } = await import("../../packages/worktree-git/dist/index.js");
const { bwrap } = await import("../../packages/sandbox-bwrap/dist/index.js");
const stamp = `${process.pid}-${Date.now()}`;
const tasks = Array.from({ length: Number(tasksArg) }, (_, i) => ({ name: `scale-${stamp}-${i}`, prompt: `task ${i}` }));
const started = performance.now();
const fleet = lib.runMany(tasks, {
  agent: lib.commandAgent.configure({ argv: ["sh", "-c", 'for i in 1 2 3; do echo "step $i"; done; echo "<promise>COMPLETE</promise>"'] }),
  sandbox: bwrap(),
  isolation: worktree({ deleteBranch: true }),
  config: false,
  cwd: repo,
  handleProcessSignals: false,
  env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
  concurrency: Number(concurrencyArg),
});
const outcomes = await fleet.results;
const failed = outcomes.find((o) => o.status !== "succeeded");
if (failed) process.stderr.write(`a task ended ${failed.status}: ${JSON.stringify(failed.error ?? failed).slice(0, 400)}\n`);
console.log(JSON.stringify({ runMs: performance.now() - started, succeeded: outcomes.filter((o) => o.status === "succeeded").length, ...ownUsage() }));
