// Per-exec overhead of the bwrap plugin vs raw bwrap with the same flags vs no sandbox.
// Run from packages/sandbox-bwrap after `pnpm build`: node bench/bwrap.bench.mjs
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
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
const spec = { runId: "bench", workspace: { path: dir, cwd: dir }, gitMounts: { readWrite: [], readOnly: [] }, home: dir, mounts: [], env, network: "host", limits: {} };
const handle = await sandbox.create(spec);
// The exact argv the plugin runs, so the floor pays for the same namespaces and mounts.
const rawArgv = handle.argvFor(["true"]);
const limited = await sandbox.create({ ...spec, runId: "bench-limits", limits: { pids: 256 } }).catch(() => undefined);

// Rounds interleave the cases, so a noisy neighbour hurts them all alike.
const cases = {
  plugin: () => handle.exec(["true"]),
  raw: () => run(rawArgv[0], rawArgv.slice(1), { env }),
  bare: () => run("true", [], { env }),
  ...(limited ? { limited: () => limited.exec(["true"]) } : {}),
};
const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < 8; round++) {
  for (const [name, fn] of Object.entries(cases)) samples[name].push(...(await measure(fn, { warmup: round === 0 ? 3 : 1, samples: 5 })));
}
const { plugin, raw, bare, limited: limitedSamples } = samples;

await handle.close();
await limited?.close();
await rm(dir, { recursive: true, force: true });

report(SUITE, [
  { name: "exec true via plugin", unit: "ms", samples: plugin, floor: "exec true via raw bwrap", target: "<= 1.10x floor + 5ms" },
  { name: "exec true via raw bwrap", unit: "ms", samples: raw },
  { name: "exec true, no sandbox", unit: "ms", samples: bare },
  ...(limitedSamples ? [{ name: `exec true via plugin with limits.pids (${limited.limits.strategy})`, unit: "ms", samples: limitedSamples, floor: "exec true via plugin" }] : []),
]);
