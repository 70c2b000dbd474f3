// Case 11, fleets at scale: 16, 64 and 256 tasks of the `command` agent through runMany, each in
// the bwrap sandbox on its own worktree and branch (run journal on), BENCH_FLEET_CONCURRENCY (16)
// at a time, each fleet in a fresh node process: wall time, peak RSS and orchestrator CPU. The
// per-task figures take the fleet of 16 as their floor: cost that grows linearly in tasks keeps
// the ratio near 1x. BENCH_FLEET_SIZES=16,64 picks sizes (a 256 fleet takes ~1-2 min on 2 cores).
import { fileURLToPath } from "node:url";
import { availableSandboxes, makeRepo, nodeChild, removeDir } from "./fixtures.mjs";
import { collect, note, quick, report, skip } from "./measure.mjs";

const child = fileURLToPath(new URL("./fleet-scale-child.mjs", import.meta.url));
const sizes = (process.env.BENCH_FLEET_SIZES ?? "16,64,256").split(",").map(Number);
const concurrency = Number(process.env.BENCH_FLEET_CONCURRENCY ?? 16);
const built = await import("../../packages/worktree-git/dist/index.js").then(() => import("../../apps/corral/dist/index.js")).catch(() => undefined);
if (!built) {
  skip("fleet-scale", "apps/corral or packages/worktree-git is not built (pnpm build)");
  process.exit(0);
}
const { ready, skipped } = await availableSandboxes({ only: ["bwrap"] });
if (!ready.length) {
  skip("fleet-scale", `bwrap: ${skipped[0]?.reason ?? "not available"}`);
  process.exit(0);
}
const repo = await makeRepo({ "README.md": "# fleet\n", "src/index.js": "export {};\n" });
const cases = [];
const smallest = Math.min(...sizes);
try {
  for (const tasks of sizes) {
    note(`fleet of ${tasks} tasks, ${Math.min(tasks, concurrency)} at a time (bwrap, worktree)`);
    const samples = await collect(
      async () => {
        const r = await nodeChild(child, [String(tasks), String(concurrency), repo], { timeoutMs: 900_000 });
        if (r.succeeded !== tasks) throw new Error(`${r.succeeded} of ${tasks} tasks succeeded`);
        return r;
      },
      { warmup: 0, samples: quick || tasks >= 256 ? 1 : tasks >= 64 ? 2 : 3 },
    );
    const floor = (what) => (tasks === smallest ? {} : { floor: `fleet of ${smallest}: ${what} per task`, target: "<= 1.3x floor" });
    cases.push(
      { name: `fleet of ${tasks}: wall`, unit: "ms", samples: samples.map((s) => s.runMs) },
      { name: `fleet of ${tasks}: peak RSS`, unit: "MB", samples: samples.map((s) => s.maxRssMB) },
      { name: `fleet of ${tasks}: CPU`, unit: "ms", samples: samples.map((s) => s.cpuMs) },
      { name: `fleet of ${tasks}: wall per task`, unit: "ms", samples: samples.map((s) => s.runMs / tasks), ...floor("wall") },
      { name: `fleet of ${tasks}: CPU per task`, unit: "ms", samples: samples.map((s) => s.cpuMs / tasks), ...floor("CPU") },
    );
  }
} finally {
  await removeDir(repo);
}
report("fleet-scale", cases, { notes: [`runMany, ${concurrency} at a time, bwrap + worktree + the command agent (4 lines, then the completion signal); per-task ratios against the smallest fleet show whether cost grows linearly`] });
