// Per-exec overhead of the bwrap plugin vs raw bwrap with the same flags vs no sandbox.
// Run from packages/sandbox-bwrap after `pnpm build`: node bench/bwrap.bench.mjs
import { execFile, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { measure, report, skip } from "../../../tooling/bench/measure.mjs";
import { createBwrapSandbox } from "../dist/index.js";

const SUITE = "sandbox-bwrap";
const run = promisify(execFile);
const sandbox = createBwrapSandbox();
const availability = await sandbox.check();
if (!availability.available) {
  skip(SUITE, availability.reason);
  process.exit(0);
}

const dir = await mkdtemp(join(tmpdir(), "corral-bench-"));
const env = { PATH: "/usr/bin:/bin", HOME: dir, LANG: "C.UTF-8" };
const spec = { runId: "bench", workspace: { path: dir, cwd: dir }, gitMounts: [], home: dir, mounts: [], env, network: "host", limits: {} };
const handle = await sandbox.create(spec);
// The exact argv the plugin runs, so the floor pays for the same namespaces, mounts and default
// limits, with the same seccomp program on fd 3 (from a file, opened afresh per run).
const rawArgv = handle.argvFor(["true"]);
const fdFiles = await Promise.all(handle.extraFds.map(async (data, i) => {
  const file = join(dir, `fd-${i + 3}`);
  await writeFile(file, data);
  return file;
}));
const runRaw = () =>
  new Promise((resolve, reject) => {
    const fds = fdFiles.map((file) => openSync(file, "r"));
    const child = spawn(rawArgv[0], rawArgv.slice(1), { env, stdio: ["ignore", "ignore", "ignore", ...fds] });
    child.on("error", reject);
    child.on("exit", (code) => {
      for (const fd of fds) closeSync(fd);
      code === 0 ? resolve() : reject(new Error(`raw bwrap exited ${code}`));
    });
  });
// What the defaults (limits in a cgroup, the seccomp filter) cost: the same plugin with both off.
const noDefaults = await createBwrapSandbox({ memoryMb: false, pids: false, seccomp: false }).create({ ...spec, runId: "bench-nodefaults" });

// Rounds interleave the cases, so a noisy neighbour hurts them all alike.
const cases = {
  plugin: () => handle.exec(["true"]),
  raw: runRaw,
  bare: () => run("true", [], { env }),
  nodefaults: () => noDefaults.exec(["true"]),
};
const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < 8; round++) {
  for (const [name, fn] of Object.entries(cases)) samples[name].push(...(await measure(fn, { warmup: round === 0 ? 3 : 1, samples: 5 })));
}
const { plugin, raw, bare, nodefaults } = samples;

await handle.close();
await noDefaults.close();
await rm(dir, { recursive: true, force: true });

report(SUITE, [
  { name: "exec true via plugin", unit: "ms", samples: plugin, floor: "exec true via raw bwrap", target: "<= 1.10x floor + 5ms" },
  { name: "exec true via raw bwrap", unit: "ms", samples: raw },
  { name: "exec true, no sandbox", unit: "ms", samples: bare },
  { name: "exec true via plugin, default limits and seccomp off", unit: "ms", samples: nodefaults },
]);
