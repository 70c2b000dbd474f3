// Copied workspaces (docs/copied-workspaces.md) on a generated ~30,000-file repository, in bwrap:
//  - ship-in: the base commit as a one-commit pack, its git dir, into the sandbox's own folder, and
//    the checkout there (shipIn) vs by hand: `git bundle create` + `git fetch` of the bundle into a
//    fresh repository + `git checkout` (the same tree written out);
//  - bring-back: a commit of 10 changed files and 10 uncommitted edits out of the sandbox, as a
//    patch and the git dir's new objects into the run's git dir (bringBack) vs by hand:
//    `git bundle create` of the new commit + `git fetch` of it into the user's repository + `git add -A` +
//    `git diff --cached --binary` (new files included, as in corral's patch).
// The quarantine that follows (release) is the same as for a mounted run: worktree.bench.mjs measures it.
// Target: <= 1.2x the by-hand floor for each.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { instantiate } from "../../packages/core/dist/index.js";
import { bringBack, shipIn } from "../../packages/core/dist/plugin-kit.js";
import { availableSandboxes, baseEnv, tempDir } from "./fixtures.mjs";
import { measure, note, report, skip } from "./measure.mjs";

const SUITE = "copied-workspace";
const FILES = Number(process.env.CORRAL_BENCH_FILES ?? 30_000);
const SAMPLES = Number(process.env.CORRAL_BENCH_SAMPLES ?? 5);

const { ready } = await availableSandboxes({ only: ["bwrap"] });
if (ready.length === 0) {
  skip(SUITE, "bwrap is not available here");
  process.exit(0);
}
const env = { ...process.env, ...baseEnv, GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "b@example.com", GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "b@example.com" };
const sh = (cwd, ...args) => execFileSync("git", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 }).toString().trim();
const { worktreeIsolation } = await import("../../packages/worktree-git/dist/index.js");
const isolation = worktreeIsolation.create(worktreeIsolation.configure({ deleteBranch: true }).options);
const sandbox = instantiate("sandbox", ready[0].configured);
const capability = sandbox.capabilities.copiedWorkspace;

const repo = await realpath(await mkdtemp(join(tmpdir(), "corral-bench-copy-")));
const scratch = await realpath(await mkdtemp(join(tmpdir(), "corral-bench-copy-raw-")));
const home = await tempDir("corral-bench-home-");
const cases = [];
try {
  sh(repo, "init", "-q", "-b", "main");
  for (let d = 0; d < FILES / 100; d++) {
    const dir = join(repo, `pkg${d}`, "src");
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(dir, `file${f}.ts`), `export const v${d}_${f} = ${d * 100 + f};\n`)));
  }
  sh(repo, "add", "-A");
  sh(repo, "commit", "-q", "-m", "generated");
  const base = sh(repo, "rev-parse", "HEAD");

  let n = 0;
  /** A workspace and a sandbox with a copied workspace, not yet shipped. */
  const open = async () => {
    const runId = `bench-copy-${process.pid}-${++n}`;
    const workspace = await isolation.acquire({ cwd: repo, runId, name: `copy-${n}` });
    const handle = await sandbox.create({ runId, workspace: { path: `${capability.root}/workspace`, cwd: `${capability.root}/workspace`, copy: true }, gitMounts: [], home, mounts: [], env: { ...baseEnv, HOME: home }, network: "none", limits: {} });
    return { runId, workspace, handle };
  };
  const close = async ({ workspace, handle }) => {
    await handle.close();
    await isolation.release(workspace, { outcome: "failed" });
  };

  // Ship-in, plugin and floor interleaved.
  const shipSamples = [];
  const rawShipSamples = [];
  for (let i = 0; i < SAMPLES + 1; i++) {
    const run = await open();
    let t = performance.now();
    await shipIn(run.handle, capability, run.workspace, { copied: [], runId: run.runId });
    if (i > 0) shipSamples.push(performance.now() - t);
    await close(run);
    const dest = join(scratch, `ship-${i}`);
    t = performance.now();
    sh(repo, "bundle", "create", "-q", join(scratch, "base.bundle"), "main");
    sh(scratch, "init", "-q", dest);
    sh(dest, "fetch", "-q", join(scratch, "base.bundle"), "main:main");
    sh(dest, "checkout", "-q", "main");
    if (i > 0) rawShipSamples.push(performance.now() - t);
    await rm(dest, { recursive: true, force: true });
  }
  cases.push(
    { name: "ship-in (shipIn: one-commit pack + checkout in bwrap)", unit: "ms", samples: shipSamples, floor: "git bundle create + fetch + checkout", target: "<= 1.2x floor" },
    { name: "git bundle create + fetch + checkout", unit: "ms", samples: rawShipSamples },
  );

  // Bring-back: one commit of 10 files, 10 more files edited and left uncommitted.
  const work = [
    "/bin/sh",
    "-c",
    'for i in 0 1 2 3 4 5 6 7 8 9; do echo changed >> pkg$i/src/file1.ts; done; git add -A && git commit -q -m work && for i in 0 1 2 3 4 5 6 7 8 9; do echo wip >> pkg$i/src/file2.ts; done',
  ];
  const backSamples = [];
  const rawBackSamples = [];
  const rawBackInSandboxSamples = [];
  for (let i = 0; i < SAMPLES + 1; i++) {
    const run = await open();
    await shipIn(run.handle, capability, run.workspace, { copied: [], runId: run.runId });
    const inside = `${capability.root}/workspace`;
    const made = await run.handle.exec(work, { cwd: inside, env: { GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@e", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@e" } });
    if (made.exitCode !== 0) throw new Error(`the work exec failed: ${made.exitCode}`);
    let t = performance.now();
    const back = await bringBack(run.handle, capability, run.workspace, { patchPath: join(scratch, `back-${i}.patch`) });
    if (i > 0) backSamples.push(performance.now() - t);
    if (!back.patch) throw new Error("no patch came back");
    // What entering the sandbox costs by itself: by hand, the files are only in there too (bwrap's private /tmp).
    t = performance.now();
    await run.handle.exec(["true"]);
    const enter = performance.now() - t;
    // The floor, on the same work in a clone: bundle the new commit, fetch it into the repository, diff the tree.
    await close(run);
    const dest = join(scratch, `back-${i}`);
    sh(scratch, "clone", "-q", "--no-local", repo, dest);
    execFileSync("/bin/sh", ["-c", work[2]], { cwd: dest, env });
    t = performance.now();
    sh(dest, "bundle", "create", "-q", join(scratch, "new.bundle"), "main", `^${base}`);
    sh(repo, "fetch", "-q", join(scratch, "new.bundle"), `main:refs/bench/raw-${i}`);
    // The uncommitted work with its new files, as corral's patch has it: add -A, then the binary diff.
    sh(dest, "add", "-A");
    execFileSync("git", ["diff", "--cached", "--binary", "HEAD"], { cwd: dest, env, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26 });
    if (i > 0) rawBackSamples.push(performance.now() - t);
    if (i > 0) rawBackInSandboxSamples.push(rawBackSamples.at(-1) + enter);
    sh(repo, "update-ref", "-d", `refs/bench/raw-${i}`);
    await rm(dest, { recursive: true, force: true });
  }
  cases.push(
    { name: "bring-back (bringBack: patch + new objects out of bwrap)", unit: "ms", samples: backSamples, floor: "git bundle create + fetch + add -A + diff --cached", target: "<= 1.2x floor" },
    { name: "git bundle create + fetch + add -A + diff --cached", unit: "ms", samples: rawBackSamples },
    // The same by hand, plus the one exec into the sandbox a person would need to reach the files at all.
    { name: "bring-back, against the by-hand floor plus one exec into the sandbox", unit: "ms", samples: backSamples, floor: "by hand + one exec into the sandbox", target: "<= 1.2x floor" },
    { name: "by hand + one exec into the sandbox", unit: "ms", samples: rawBackInSandboxSamples },
  );
  note(`ship-in pack for ${FILES} files; bring-back: 1 commit of 10 files + 10 uncommitted`);
} finally {
  await rm(repo, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
}
report(SUITE, cases, { notes: ["bwrap; the quarantine that follows bring-back is release's, measured in worktree.bench.mjs"] });
