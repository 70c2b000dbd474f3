// Copying untracked files into a new worktree (`copy: ["node_modules"]`): corral's copy of a generated
// node_modules-like tree against plain `cp -r` of the same tree, sampled in rotation.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyIntoWorkspace } from "@corral/core";
import { measureEach, quick, report } from "../../../tooling/bench/measure.mjs";

const FILES = quick ? 2_000 : 10_000;
const root = mkdtempSync(join(tmpdir(), "corral-bench-copy-"));
const repo = join(root, "repo");
mkdirSync(repo);
// ~10,000 files in 500 packages of 20 files, 0.5–4 KB each: the shape of a real node_modules.
for (let p = 0; p < FILES / 20; p++) {
  const dir = join(repo, "node_modules", `pkg-${p}`, "lib");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(repo, "node_modules", `pkg-${p}`, "package.json"), JSON.stringify({ name: `pkg-${p}`, version: "1.0.0" }));
  for (let f = 0; f < 19; f++) writeFileSync(join(dir, `f${f}.js`), `module.exports = ${p * 100 + f};\n`.repeat(20 + ((p + f) % 180)));
}

let n = 0;
const fresh = () => {
  const dir = join(root, `target-${n++}`);
  mkdirSync(dir);
  return dir;
};
const [corral, cp] = await measureEach(
  [() => copyIntoWorkspace(repo, fresh(), ["node_modules"]), () => execFileSync("cp", ["-r", join(repo, "node_modules"), fresh()])],
  { warmup: 1, samples: 7 },
);
rmSync(root, { recursive: true, force: true });

report("copy", [
  { name: `copy node_modules (${FILES} files) into a worktree`, unit: "ms", samples: corral, floor: "cp -r of the same tree", target: "<= 1.10x floor" },
  { name: "cp -r of the same tree", unit: "ms", samples: cp },
]);
