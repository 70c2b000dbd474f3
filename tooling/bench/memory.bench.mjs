// Case 8, bounded memory: the real `corral run` command (dist/bin.js, run journal on, plain
// terminal output on a pipe) while the command agent prints BENCH_MEMORY_MB (default 1024) MB of
// ~1 KiB lines. Reported: the orchestrator's peak RSS (target < 100 MB, whatever the agent
// prints), the size of the run's journal folder (events.jsonl, capped per run) and the
// orchestrator's CPU per MB of output. Each sample is its own `corral` process.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { baseEnv, makeRepo, removeDir, tempDir } from "./fixtures.mjs";
import { collect, note, quick, report, skip } from "./measure.mjs";

const bin = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));
const preload = fileURLToPath(new URL("./usage-at-exit.mjs", import.meta.url));
if (!existsSync(bin)) {
  skip("memory", `${bin} is not built (pnpm build)`);
  process.exit(0);
}
const MB = Number(process.env.BENCH_MEMORY_MB ?? (quick ? 256 : 1024));
const line = "0123456789abcdef".repeat(64).slice(0, 1023); // + "\n" = 1 KiB
// The agent: `yes` repeats the line, `head -c` stops it after exactly MB MiB; then the completion signal
// (without it a one-iteration run ends `incomplete`, exit 3, since ADR 0007).
const agent = ["sh", "-c", 'yes "$0" | head -c "$1"; echo "<promise>COMPLETE</promise>"', line, String(MB * 1024 * 1024)];

/** One `corral run` in a fresh repository: its peak RSS, CPU, and the size of the journal it left. */
async function sample() {
  const repo = await makeRepo();
  const work = await tempDir("corral-bench-memory-");
  const usageFile = join(work, "usage.json");
  try {
    let tail = "";
    let bytes = 0;
    const child = spawn(process.execPath, ["--import", preload, bin, "run", "--isolation", "in-place", "--prompt", "print", "--idle-timeout", "600", "--", ...agent], {
      cwd: repo,
      env: { ...baseEnv, HOME: work, TMPDIR: work, NO_COLOR: "1", BENCH_USAGE_FILE: usageFile },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr.on("data", (chunk) => {
      bytes += chunk.length;
      tail = (tail + chunk.toString("latin1")).slice(-4096);
    });
    const code = await new Promise((resolve) => child.on("close", resolve));
    if (code !== 0 || !tail.includes("run succeeded")) throw new Error(`corral run exited with ${code}: ${tail.slice(-500)}`);
    const usage = JSON.parse(readFileSync(usageFile, "utf8"));
    const runs = join(repo, ".corral", "runs");
    const [id] = readdirSync(runs);
    const journalMB = readdirSync(join(runs, id)).reduce((sum, f) => sum + statSync(join(runs, id, f)).size, 0) / 2 ** 20;
    note(`peak RSS ${usage.maxRssMB.toFixed(1)} MB, CPU ${(usage.cpuMs / 1000).toFixed(1)} s, journal ${journalMB.toFixed(1)} MB, ${(bytes / 2 ** 20).toFixed(0)} MB on stderr`);
    return { ...usage, journalMB };
  } finally {
    await removeDir(repo);
    await removeDir(work);
  }
}

note(`corral run, the command agent prints ${MB} MB in 1 KiB lines`);
const samples = await collect(sample, { warmup: 0, samples: 3 });
report("memory", [
  { name: `corral run, agent prints ${MB} MB: peak RSS`, unit: "MB", samples: samples.map((s) => s.maxRssMB), target: "< 100 MB" },
  { name: `corral run, agent prints ${MB} MB: journal size`, unit: "MB", samples: samples.map((s) => s.journalMB) },
  { name: `corral run, agent prints ${MB} MB: CPU`, unit: "ms CPU/MB", samples: samples.map((s) => s.cpuMs / MB), note: "the whole CLI: terminal lines on stderr, journal, redactor" },
]);
