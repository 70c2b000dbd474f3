// Worktree costs on a generated ~30,000-file repository:
//  - acquire+release through the plugin (with the run's own git dir and the verified bring-back)
//    vs raw `git worktree add` + `remove` (target: within 10 %);
//  - an acquire from the pool vs a fresh one when the bases differ by a few files (target: >= 5x faster);
//  - bringing back a branch of 1, 10 and 100 commits (release) vs what it does by hand: `git fetch` of
//    the same commits between two local repositories and `git worktree remove` of a same-size worktree.
// The repository lives in a temp dir and is removed at the end.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measure, report, skip } from "../../../tooling/bench/measure.mjs";

const SUITE = "worktree-git";
const FILES = Number(process.env.CORRAL_BENCH_FILES ?? 30_000);
const SAMPLES = Number(process.env.CORRAL_BENCH_SAMPLES ?? 5);

const env = { ...process.env, GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "b@example.com", GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "b@example.com" };
const sh = (cwd, ...args) => execFileSync("git", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 }).toString().trim();

try {
  sh(tmpdir(), "--version");
} catch {
  skip(SUITE, "git is not installed");
  process.exit(0);
}

const { worktreeIsolation } = await import("../dist/index.js");
const { agentGitEnv } = await import("../../core/dist/testing/index.js");
const make = (options) => worktreeIsolation.create(worktreeIsolation.configure(options).options);

const repo = await realpath(await mkdtemp(join(tmpdir(), "corral-bench-wt-")));
try {
  // ~30,000 small files in 300 folders, like a mid-sized monorepo.
  sh(repo, "init", "-q", "-b", "main");
  for (let d = 0; d < FILES / 100; d++) {
    const dir = join(repo, `pkg${d}`, "src");
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(dir, `file${f}.ts`), `export const v${d}_${f} = ${d * 100 + f};\n`)));
  }
  sh(repo, "add", "-A");
  sh(repo, "commit", "-q", "-m", "generated");
  const baseA = sh(repo, "rev-parse", "HEAD");
  // Base B differs from A by a few files.
  for (let i = 0; i < 5; i++) await writeFile(join(repo, `pkg${i}`, "src", "file0.ts"), `export const changed${i} = true;\n`);
  sh(repo, "commit", "-q", "-am", "a few changes");
  const baseB = sh(repo, "rev-parse", "HEAD");

  let n = 0;
  const request = () => ({ cwd: repo, runId: `bench-${++n}`, name: `bench-${n}` });

  // Raw floor: the same worktree, branch and clean-up, by hand. Plugin and floor samples are
  // interleaved so that load from anything else on the machine hits both alike.
  const rawOnce = () => {
    const path = join(repo, ".corral", "raw");
    sh(repo, "worktree", "add", "-q", "-b", `raw-${++n}`, path, baseA);
    sh(repo, "worktree", "remove", path);
    sh(repo, "branch", "-D", `raw-${n}`);
  };
  const fresh = make({ base: baseA, deleteBranch: true });
  const pluginOnce = async () => {
    const ws = await fresh.acquire(request());
    await fresh.release(ws, { outcome: "succeeded" });
  };
  const raw = [];
  const plugin = [];
  await rawOnce();
  await pluginOnce();
  for (let i = 0; i < SAMPLES; i++) {
    raw.push(...(await measure(rawOnce, { warmup: 0, samples: 1 })));
    plugin.push(...(await measure(pluginOnce, { warmup: 0, samples: 1 })));
  }

  // Acquire only: fresh vs from the pool, alternating bases A and B so each reuse switches a few files.
  const freshAcquire = [];
  const reusedAcquire = [];
  const timeAcquire = async (isolation, base, into) => {
    const iso = make({ base, deleteBranch: true, reuse: isolation === "pool", poolSize: 1 });
    const start = performance.now();
    const ws = await iso.acquire(request());
    into?.push(performance.now() - start);
    await iso.release(ws, { outcome: "succeeded" });
  };
  await timeAcquire("pool", baseA); // fills the pool (warm-up)
  for (let i = 0; i < SAMPLES; i++) {
    await timeAcquire("fresh", i % 2 ? baseA : baseB, freshAcquire);
    await timeAcquire("pool", i % 2 ? baseA : baseB, reusedAcquire);
  }

  // Bring-back: the agent makes N commits in its own git dir (as its sandbox shows it), then release
  // brings them back. The floor is the transfer itself done by hand: `git fetch` of the same N commits.
  const bringBack = {};
  const fetchFloor = {};
  const agentCommits = async (ws, count) => {
    const agentEnv = { ...env, ...(await agentGitEnv(ws)) };
    for (let i = 0; i < count; i++) {
      await writeFile(join(ws.path, `pkg${i % (FILES / 100)}`, "src", "file1.ts"), `export const run${n}_${i} = ${i};\n`);
      execFileSync("git", ["commit", "-q", "-am", `agent commit ${i}`], { cwd: ws.path, env: agentEnv, stdio: "ignore" });
    }
  };
  const releasing = make({ base: baseA, deleteBranch: false });
  for (const count of [1, 10, 100]) {
    bringBack[count] = [];
    fetchFloor[count] = [];
    for (let i = 0; i < Math.min(SAMPLES, 3); i++) {
      const ws = await releasing.acquire(request());
      await agentCommits(ws, count);
      const start = performance.now();
      const released = await releasing.release(ws, { outcome: "succeeded" });
      bringBack[count].push(performance.now() - start);
      if (released.commits.length !== count) throw new Error(`brought back ${released.commits.length} of ${count} commits`);
      // Raw floor: what a release does by hand — fetch the same commits into a repository that has
      // the base, and remove a worktree of the same size (a release removes the run's worktree too).
      const target = await mkdtemp(join(tmpdir(), "corral-bench-fetch-"));
      sh(target, "init", "-q", "--bare");
      sh(target, "fetch", "-q", repo, `${baseA}:refs/heads/base`);
      const rawPath = join(repo, ".corral", "raw-release");
      sh(repo, "worktree", "add", "-q", "--detach", rawPath, baseA);
      const t0 = performance.now();
      sh(target, "fetch", "-q", repo, `${ws.branch}:refs/heads/run`);
      sh(repo, "worktree", "remove", rawPath);
      fetchFloor[count].push(performance.now() - t0);
      await rm(target, { recursive: true, force: true });
    }
  }

  report(SUITE, [
    ...[1, 10, 100].flatMap((count) => [
      { name: `release bringing back ${count} commit(s)`, unit: "ms", samples: bringBack[count], floor: `raw git fetch of ${count} commit(s) + git worktree remove` },
      { name: `raw git fetch of ${count} commit(s) + git worktree remove`, unit: "ms", samples: fetchFloor[count] },
    ]),
    { name: `acquire+release via plugin (${FILES} files)`, unit: "ms", samples: plugin, floor: `raw git worktree add+remove (${FILES} files)`, target: "<= 1.10x floor" },
    { name: `raw git worktree add+remove (${FILES} files)`, unit: "ms", samples: raw },
    { name: "acquire from the pool (bases differ by 5 files)", unit: "ms", samples: reusedAcquire, floor: "fresh acquire", target: "<= 0.20x floor" },
    { name: "fresh acquire", unit: "ms", samples: freshAcquire },
  ]);
} finally {
  await rm(repo, { recursive: true, force: true });
}
