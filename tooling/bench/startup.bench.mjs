// Case 10, the fixed cost of a run: a one-iteration run in a fresh node process (host sandbox,
// worktree isolation, a fake `claude` that commits a file and prints a recorded conversation),
// from the process's start to run()'s result, module loading included; and the same run through
// the `corral run` command, from the process's start to the command's end. Floor: the same work done
// by hand from the same kind of fresh process (git worktree add, the fake claude, git worktree
// remove) and `node -e 0`. Target: <= 250 ms (issue 22; it was ~420 ms).
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeRepo, nodeChild, removeDir, tempDir } from "./fixtures.mjs";
import { measureEach, note, report, skip } from "./measure.mjs";

const child = fileURLToPath(new URL("./startup-child.mjs", import.meta.url));
const built = await Promise.all(["../../apps/cli/dist/index.js", "../../apps/corral/dist/index.js", "../../packages/agent-claude/dist/index.js", "../../packages/worktree-git/dist/index.js"].map((p) => import(p))).catch(() => undefined);
if (!built) {
  skip("startup", "apps/cli, apps/corral, agent-claude or worktree-git is not built (pnpm build)");
  process.exit(0);
}
const fixture = await readFile(new URL("../../packages/agent-claude/src/fixtures/claude-tool-commit.jsonl", import.meta.url), "utf8");
const conversation = fixture.replaceAll(" <promise>COMPLETE</promise>", "").trim();
const work = await tempDir("corral-bench-startup-");
const bin = join(work, "bin");
await mkdir(bin);
await writeFile(
  join(bin, "claude"),
  `#!/bin/sh\ncat > /dev/null\nf="bench-$(date +%s%N)-$$.txt"\necho "$f" > "$f"\ngit add "$f" && git -c user.name=Bench -c user.email=bench@example.com commit -q -m "bench: $f" || exit 1\ncat <<'CONVERSATION'\n${conversation}\nCONVERSATION\n`,
);
await chmod(join(bin, "claude"), 0o755);
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, GIT_AUTHOR_NAME: "Bench", GIT_AUTHOR_EMAIL: "bench@example.com", GIT_COMMITTER_NAME: "Bench", GIT_COMMITTER_EMAIL: "bench@example.com" };
const repo = await makeRepo({ "README.md": "# bench\n", "src/index.js": "export {};\n" });

let n = 0;
const results = { corral: [], cli: [], raw: [], node: [], import: [], zod: [] };
const sample = (mode) => async () => {
  if (mode === "node") {
    results.node.push(await nodeChild(join(work, "empty.mjs"), [], { env }));
    return;
  }
  const r = await nodeChild(child, [mode, repo, `bench/startup-${mode}-${++n}`], { env });
  if ((mode === "corral" || mode === "cli" || mode === "raw") && r.commits !== 1) throw new Error(`${mode}: ${r.commits} commits, expected 1`);
  results[mode].push(r);
};
await writeFile(join(work, "empty.mjs"), `const u = process.resourceUsage();\nconsole.log(JSON.stringify({ runMs: performance.now(), cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));\n`);
try {
  note("one-iteration runs in fresh processes: corral run(), corral run (the command), by hand, empty node, the run's imports alone, zod alone (in rotation)");
  await measureEach([sample("corral"), sample("cli"), sample("raw"), sample("node"), sample("import"), sample("zod")], { warmup: 1, samples: 9 });
  // measureEach's warm-up samples are in results too: drop them.
  for (const key of Object.keys(results)) results[key] = results[key].slice(1);
} finally {
  await removeDir(repo);
  await removeDir(work);
}
report("startup", [
  { name: "1-iteration run, fresh process (host, worktree, claude)", unit: "ms", samples: results.corral.map((r) => r.runMs), floor: "the same by hand, fresh process", target: "<= 250 ms" },
  { name: "the same through `corral run` (the command)", unit: "ms", samples: results.cli.map((r) => r.runMs), floor: "the same by hand, fresh process", target: "<= 250 ms" },
  { name: "the same by hand, fresh process", unit: "ms", samples: results.raw.map((r) => r.runMs) },
  { name: "node start (empty script)", unit: "ms", samples: results.node.map((r) => r.runMs) },
  { name: "1-iteration run, fresh process: CPU", unit: "ms", samples: results.corral.map((r) => r.cpuMs), floor: "the same by hand: CPU" },
  { name: "the same through `corral run`: CPU", unit: "ms", samples: results.cli.map((r) => r.cpuMs), floor: "the same by hand: CPU" },
  { name: "the same by hand: CPU", unit: "ms", samples: results.raw.map((r) => r.cpuMs) },
  { name: "1-iteration run, fresh process: peak RSS", unit: "MB", samples: results.corral.map((r) => r.maxRssMB) },
  // Where the fixed cost goes: the run's modules alone, and the zod part of them, both over an empty node.
  { name: "imports of a run (corral, claude, worktree): CPU", unit: "ms", samples: results.import.map((r) => r.cpuMs), floor: "node start (empty script): CPU" },
  { name: "zod alone (core's bundled copy): CPU", unit: "ms", samples: results.zod.map((r) => r.cpuMs), floor: "node start (empty script): CPU" },
  { name: "node start (empty script): CPU", unit: "ms", samples: results.node.map((r) => r.cpuMs) },
], { notes: ["times count from the node process's own start (performance.timeOrigin), module loading included; the fake claude commits a file and prints a recorded conversation"] });
