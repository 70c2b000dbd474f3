// Acquire/release on a big repository: 100,000 files at the tip and ~1 GB of history (64 commits
// of a 16 MiB incompressible file, deleted at the tip), through the plugin (the run's own git dir,
// the verified bring-back) vs raw `git worktree add` + `remove` of the same base, in rotation.
// The repository is generated once with `git fast-import` (~1 min) and cached between bench runs
// in BENCH_CACHE_DIR (default $TMPDIR/corral-bench-cache); delete that folder to regenerate it.
// CORRAL_BENCH_BIG_FILES / CORRAL_BENCH_BIG_HISTORY_MB change the shape (another cache entry).
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureEach, note, report, skip } from "../../../tooling/bench/measure.mjs";

const SUITE = "worktree-git big repository";
const FILES = Number(process.env.CORRAL_BENCH_BIG_FILES ?? 100_000);
const HISTORY_MB = Number(process.env.CORRAL_BENCH_BIG_HISTORY_MB ?? 1024);
const BLOB_MB = 16;
const env = { ...process.env, GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "b@example.com", GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "b@example.com" };
const sh = (cwd, ...args) => execFileSync("git", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 }).toString().trim();

try {
  sh(tmpdir(), "--version");
} catch {
  skip(SUITE, "git is not installed");
  process.exit(0);
}

const cache = process.env.BENCH_CACHE_DIR ?? join(tmpdir(), "corral-bench-cache");
const repo = join(cache, `big-repo-${FILES}-files-${HISTORY_MB}-mb`);
if (!existsSync(join(repo, ".bench-complete"))) await generate();
else note(`using the cached repository ${repo}`);
// What an interrupted earlier run left (a raw worktree, its branch) goes first; the cache stays.
rmSync(join(repo, ".corral"), { recursive: true, force: true });
sh(repo, "worktree", "prune");
for (const branch of sh(repo, "branch", "--format=%(refname:short)").split("\n")) if (branch && branch !== "main") sh(repo, "branch", "-D", branch);
const base = sh(repo, "rev-parse", "HEAD");

const { worktreeIsolation } = await import("../dist/index.js");
const isolation = worktreeIsolation.create(worktreeIsolation.configure({ base, deleteBranch: true }).options);
let n = 0;
const pluginOnce = async () => {
  const ws = await isolation.acquire({ cwd: repo, runId: `bench-big-${process.pid}-${++n}`, name: `bench-big-${process.pid}-${n}` });
  await isolation.release(ws, { outcome: "succeeded" });
};
const rawOnce = () => {
  const path = join(repo, ".corral", "raw");
  const branch = `raw-${process.pid}-${++n}`;
  sh(repo, "worktree", "add", "-q", "-b", branch, path, base);
  sh(repo, "worktree", "remove", "--force", path);
  sh(repo, "branch", "-D", branch);
};
note(`acquire+release on ${FILES} files / ${HISTORY_MB} MB of history: plugin and raw git, in rotation`);
// Each sample checks out 100,000 files: few samples (CORRAL_BENCH_BIG_SAMPLES), no warm-up.
const [plugin, raw] = await measureEach([pluginOnce, rawOnce], { warmup: 0, samples: Number(process.env.CORRAL_BENCH_BIG_SAMPLES ?? 3) });
report(SUITE, [
  { name: `acquire+release via plugin (${FILES} files, ${HISTORY_MB} MB history)`, unit: "ms", samples: plugin, floor: `raw git worktree add+remove (${FILES} files, ${HISTORY_MB} MB history)`, target: "<= 1.10x floor" },
  { name: `raw git worktree add+remove (${FILES} files, ${HISTORY_MB} MB history)`, unit: "ms", samples: raw },
], { notes: [`generated once with git fast-import and cached in ${cache}`] });

/** The repository, streamed into `git fast-import`: one commit of FILES small files, then the history. */
async function generate() {
  note(`generating ${repo} (${FILES} files, ${HISTORY_MB} MB of history; cached for the next run)`);
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(repo, { recursive: true });
  sh(repo, "init", "-q", "-b", "main");
  const child = spawn("git", ["fast-import", "--quiet", "--done"], { cwd: repo, env, stdio: ["pipe", "inherit", "inherit"] });
  const exited = new Promise((resolve) => child.on("close", resolve));
  const write = (data) => (child.stdin.write(data) ? undefined : new Promise((resolve) => child.stdin.once("drain", resolve)));
  let when = 1_700_000_000;
  const commit = async (message, body) => {
    await write(`commit refs/heads/main\ncommitter bench <b@example.com> ${when++} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`);
    await body();
    await write("\n");
  };
  await commit("the tree", async () => {
    for (let i = 0; i < FILES; i++) {
      const content = `export const v${i} = ${i};\n`;
      await write(`M 100644 inline pkg${Math.floor(i / 100)}/src/file${i % 100}.ts\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    }
  });
  for (let c = 0; c < HISTORY_MB / BLOB_MB; c++) {
    await commit(`history ${c}`, async () => {
      await write(`M 100644 inline history/blob.bin\ndata ${BLOB_MB * 2 ** 20}\n`);
      for (let k = 0; k < BLOB_MB; k++) await write(randomBytes(2 ** 20));
      await write("\n");
    });
  }
  await commit("drop the history file", () => write("D history/blob.bin\n"));
  await write("done\n");
  child.stdin.end();
  if ((await exited) !== 0) throw new Error("git fast-import failed");
  sh(repo, "reset", "-q", "--hard", "main");
  writeFileSync(join(repo, ".git", "info", "exclude"), ".bench-complete\n.corral/\n");
  writeFileSync(join(repo, ".bench-complete"), `${new Date().toISOString()}\n`);
}
