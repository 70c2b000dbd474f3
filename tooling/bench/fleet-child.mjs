// One fleet sample, in its own node process (so peak RSS is the fleet's alone):
//   node fleet-child.mjs <runs> <repo>
// <runs> tasks of the `command` agent at once (concurrency = runs), each on its own worktree and
// branch, in the host sandbox, with the library's defaults (run journal on). The agent prints a
// few lines over ~0.5 s, like a quiet agent. Prints { runMs, succeeded, maxRssMB, cpuMs, api }.
import { ownUsage } from "./fixtures.mjs";

const [runsArg, repo] = process.argv.slice(2);
const runs = Number(runsArg);
const lib = await import("../../apps/corral/dist/index.js");
const { worktree } = await import("../../packages/worktree-git/dist/index.js");
const options = {
  // It ends with the completion signal: without it a run ends "incomplete" (its iterations ran out).
  agent: lib.commandAgent.configure({ argv: ["sh", "-c", 'for i in 1 2 3 4 5; do echo "step $i"; sleep 0.1; done; echo "<promise>COMPLETE</promise>"'] }),
  sandbox: lib.hostSandbox.configure({}),
  isolation: worktree(),
  config: false,
  cwd: repo,
  handleProcessSignals: false,
  env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
};
const stamp = `${process.pid}-${Date.now()}`;
const tasks = Array.from({ length: runs }, (_, i) => ({ name: `fleet-${stamp}-${i}`, prompt: `task ${i}` }));
const started = performance.now();
let succeeded;
let api;
if (lib.runMany) {
  api = "runMany";
  const outcomes = await lib.runMany(tasks, { ...options, concurrency: runs }).results;
  succeeded = outcomes.filter((o) => o.status === "succeeded").length;
} else {
  api = "Promise.all(run)";
  const results = await Promise.all(tasks.map((t) => lib.run({ ...options, name: t.name, prompt: t.prompt })));
  succeeded = results.length;
}
console.log(JSON.stringify({ runMs: performance.now() - started, succeeded, api, ...ownUsage() }));
