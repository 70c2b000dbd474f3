// Case 3, the loop: a 10-iteration run of the `command` agent running `true` (it never signals
// completion, so all ten run), against a 1-iteration run and ten raw spawns of the same command.
// Per-iteration overhead = (10-iteration run − 1-iteration run) / 9, against one raw exec.
// In bwrap the floor is the raw spawn of the very argv a run's iteration execs.
// Also: a whole 1-iteration run per sandbox (setup, exec, teardown), for the record.
import { commandAgent, instantiate, run } from "../../packages/core/dist/index.js";
import { spawnStreaming } from "../../packages/core/dist/plugin-kit.js";
import { availableSandboxes, baseEnv, makeRepo, rawBwrapTrue, removeDir } from "./fixtures.mjs";
import { measureEach, note, report } from "./measure.mjs";

const repo = await makeRepo();
const agent = commandAgent.configure({ argv: ["true"] });
const cases = [];
const notes = [];

const runOnce = (maxIterations, sandbox, isolation) => async () => {
  const result = await run({ agent, ...(sandbox ? { sandbox } : {}), ...(isolation ? { isolation } : {}), cwd: repo, prompt: "bench", maxIterations, handleProcessSignals: false, env: { ...baseEnv } });
  if (result.iterations !== maxIterations) throw new Error(`expected ${maxIterations} iterations, got ${result.iterations}`);
};

/**
 * Raw spawns of `true` with the exact argv an iteration of a run execs (`argvFor` of the run's own
 * handle, while the run holds it: its mounts, network and limits), timed inside a 1-iteration run.
 */
async function rawExecsInRun(configured, isolation, options) {
  let samples;
  const measuring = {
    ...configured,
    plugin: {
      ...configured.plugin,
      create(...args) {
        const sandbox = configured.plugin.create(...args);
        return new Proxy(sandbox, {
          get(target, key) {
            if (key !== "create") return typeof target[key] === "function" ? target[key].bind(target) : target[key];
            return async (spec) => {
              const handle = await target.create(spec);
              const spawnRaw = rawBwrapTrue(handle, { ...spec.env });
              const raw = () =>
                spawnRaw().then((r) => {
                  if (r.exitCode !== 0) throw new Error(`raw bwrap exited with ${r.exitCode ?? r.signal}`);
                });
              [samples] = await measureEach([raw], options);
              return handle;
            };
          },
        });
      },
    },
  };
  await runOnce(1, measuring, isolation)();
  return samples;
}

const { ready, skipped } = await availableSandboxes();
for (const s of skipped) notes.push(`${s.name} skipped: ${s.reason}`);
const worktreeModule = await import("../../packages/worktree-git/dist/index.js").catch(() => undefined);

try {
  // The loop itself: host sandbox, in-place isolation, so nothing but corral sits on top of `true`.
  const raw = () => spawnStreaming(["true"], { cwd: repo, env: { ...baseEnv }, onLine: () => {} });
  const raw10 = async () => {
    for (let i = 0; i < 10; i++) await raw();
  };
  note("host/in-place: 1- and 10-iteration runs, 10 raw spawns (in rotation)");
  const [one, ten, tenRaw] = await measureEach([runOnce(1), runOnce(10), raw10], { warmup: 2, samples: 15 });
  const perIteration = ten.map((t, i) => (t - one[i]) / 9);
  cases.push(
    { name: "10-iteration run (host, in-place)", unit: "ms", samples: ten, floor: "10 raw spawns of true" },
    { name: "10 raw spawns of true", unit: "ms", samples: tenRaw },
    { name: "1-iteration run (host, in-place)", unit: "ms", samples: one },
    { name: "per-iteration cost (host)", unit: "ms", samples: perIteration, floor: "one raw spawn of true", target: "<= 1.10x floor + 5ms" },
    { name: "one raw spawn of true", unit: "ms", samples: tenRaw.map((t) => t / 10) },
  );

  // The same with the worktree isolation and the bwrap sandbox, when both are here.
  const bwrap = ready.find((s) => s.name === "bwrap");
  if (bwrap && worktreeModule) {
    const isolation = worktreeModule.worktree();
    note("bwrap/worktree: 1- and 10-iteration runs (in rotation)");
    const [oneB, tenB] = await measureEach([runOnce(1, bwrap.configured, isolation), runOnce(10, bwrap.configured, isolation)], { warmup: 1, samples: 9 });
    // The floor: the argv of an iteration's exec in such a run (its git mounts, its default `proxy`
    // network with the egress forwarders every exec starts), spawned raw on that run's live sandbox.
    const rawB = await rawExecsInRun(bwrap.configured, isolation, { warmup: 3, samples: 20 });
    cases.push(
      { name: "10-iteration run (bwrap, worktree)", unit: "ms", samples: tenB },
      { name: "1-iteration run (bwrap, worktree)", unit: "ms", samples: oneB },
      { name: "per-iteration cost (bwrap)", unit: "ms", samples: tenB.map((t, i) => (t - oneB[i]) / 9), floor: "raw bwrap exec (the run's argv)", target: "<= 1.10x floor + 5ms" },
      { name: "raw bwrap exec (the run's argv)", unit: "ms", samples: rawB },
    );
    // For the record, what the sandbox itself costs without the run's git mounts and network: the bare argv.
    const handle = await instantiate("sandbox", bwrap.configured).create({ runId: "bench-floor", workspace: { path: repo, cwd: repo }, gitMounts: [], home: repo, mounts: [], env: { ...baseEnv }, network: "host", limits: {} });
    const [bare] = await measureEach([rawBwrapTrue(handle, { ...baseEnv })], { warmup: 3, samples: 20 });
    await handle.close();
    cases.push({ name: "raw bwrap exec (host network, no git mounts)", unit: "ms", samples: bare });
  } else if (!worktreeModule) notes.push("bwrap/worktree runs skipped: packages/worktree-git is not built");

  // A whole 1-iteration run per sandbox: what a one-shot task pays for the sandbox's setup and teardown.
  for (const { name, configured } of ready) {
    if (name === "host") continue;
    note(`${name}: 1-iteration runs`);
    const [samples] = await measureEach([runOnce(1, configured)], { warmup: 1, samples: name === "bwrap" ? 10 : 5 });
    cases.push({ name: `1-iteration run (${name}, in-place)`, unit: "ms", samples, note: "sandbox create + exec + close" });
  }
} finally {
  await removeDir(repo);
}
report("run", cases, { notes });
