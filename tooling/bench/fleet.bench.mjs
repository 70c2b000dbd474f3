// Case 6, the fleet: 1, 4 and 16 concurrent runs of the `command` agent (host sandbox, worktree
// isolation, run journal on), each fleet in a fresh node process: wall time, the orchestrator's
// peak RSS and CPU time. Floor for wall time: one run alone. Target: 16 runs under 250 MB RSS.
import { fileURLToPath } from "node:url";
import { makeRepo, nodeChild, removeDir } from "./fixtures.mjs";
import { collect, note, report, skip } from "./measure.mjs";

const child = fileURLToPath(new URL("./fleet-child.mjs", import.meta.url));
const built = await import("../../packages/worktree-git/dist/index.js").then(() => import("../../apps/corral/dist/index.js")).catch(() => undefined);
if (!built) {
  skip("fleet", "apps/corral or packages/worktree-git is not built (pnpm build)");
  process.exit(0);
}
const repo = await makeRepo({ "README.md": "# fleet\n", "src/index.js": "export {};\n" });
const cases = [];
let api;
try {
  for (const runs of [1, 4, 16]) {
    note(`${runs} concurrent run(s)`);
    const samples = await collect(
      async () => {
        const r = await nodeChild(child, [String(runs), repo]);
        if (r.succeeded !== runs) throw new Error(`${r.succeeded} of ${runs} runs succeeded`);
        api = r.api;
        return r;
      },
      { warmup: 1, samples: runs === 16 ? 3 : 5 },
    );
    cases.push(
      { name: `fleet of ${runs}: wall`, unit: "ms", samples: samples.map((s) => s.runMs), ...(runs > 1 ? { floor: "fleet of 1: wall" } : {}) },
      { name: `fleet of ${runs}: peak RSS`, unit: "MB", samples: samples.map((s) => s.maxRssMB), ...(runs === 16 ? { target: "< 250 MB" } : {}) },
      { name: `fleet of ${runs}: CPU`, unit: "ms", samples: samples.map((s) => s.cpuMs) },
    );
  }
} finally {
  await removeDir(repo);
}
report("fleet", cases, { notes: [`runs started with ${api}; the agent prints 5 lines over ~0.5 s; 2-core machines serialise much of the git work`] });
