#!/usr/bin/env node
/**
 * `pnpm bench`: runs every bench script (packages/*\/bench, apps/*\/bench, tooling/bench) one
 * after the other, each in its own node process from its package folder, and prints one table
 * (case, median, spread, floor, ratio, target, pass/miss). The same data, with the machine it
 * ran on, goes to bench-results/latest.json.
 *
 *   node tooling/bench/run.mjs [--quick] [--filter <text>] [--out <file>]
 *
 * A bench script is not a test: a missing engine skips its cases (the table says why), and a
 * missed target is reported, never an exit code (only a script that crashes is).
 */
import { readdirSync, existsSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { cpus, totalmem, release, platform, arch } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnStreaming, git } from "../../packages/core/dist/plugin-kit.js";
import { median, percentile } from "./measure.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const args = parseArgs(process.argv.slice(2));
const scriptTimeoutMs = Number(process.env.BENCH_SCRIPT_TIMEOUT_SECONDS ?? 600) * 1000;

const scripts = discover().filter((file) => !args.filter || relative(root, file).includes(args.filter));
if (scripts.length === 0) {
  process.stderr.write(`No bench script matches ${JSON.stringify(args.filter)}.\n`);
  process.exit(2);
}

const started = Date.now();
const suites = [];
let crashed = 0;
for (const file of scripts) {
  const name = relative(root, file);
  process.stderr.write(`▶ ${name}\n`);
  const suite = await runScript(file);
  if (suite.error) crashed++;
  suites.push({ file: name, ...suite });
}

const rows = suites.flatMap((suite) => (suite.cases ?? []).map((c) => row(suite, c)));
const machine = await describeMachine();
const result = { date: new Date().toISOString(), durationSeconds: Math.round((Date.now() - started) / 1000), quick: args.quick, machine, suites, rows };
const out = resolve(root, args.out ?? "bench-results/latest.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

process.stdout.write(`${formatTable(rows)}\n`);
for (const suite of suites) {
  if (suite.skipped) process.stdout.write(`skipped ${suite.suite ?? suite.file}: ${suite.skipped}\n`);
  if (suite.error) process.stdout.write(`FAILED  ${suite.file}: ${suite.error}\n`);
  for (const n of suite.notes ?? []) process.stdout.write(`note    ${suite.suite}: ${n}\n`);
}
const misses = rows.filter((r) => r.verdict === "miss").length;
process.stdout.write(`\n${rows.length} cases, ${rows.filter((r) => r.verdict === "pass").length} pass, ${misses} miss, ${suites.filter((s) => s.skipped).length} suites skipped, ${crashed} failed; ${result.durationSeconds}s. Written to ${relative(process.cwd(), out)}\n`);
process.exit(crashed ? 1 : 0);

function parseArgs(argv) {
  const out = { quick: false, filter: undefined, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") out.quick = true;
    else if (arg === "--filter") out.filter = argv[++i];
    else if (arg === "--out") out.out = argv[++i];
    else {
      process.stderr.write(`Unknown argument ${arg}. Usage: node tooling/bench/run.mjs [--quick] [--filter <text>] [--out <file>]\n`);
      process.exit(2);
    }
  }
  return out;
}

/** Every bench script, packages first, then apps, then the cross-cutting ones here. */
function discover() {
  const found = [];
  for (const group of ["packages", "apps"]) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const pkg of readdirSync(base).sort()) found.push(...benchFiles(join(base, pkg, "bench")));
  }
  found.push(...benchFiles(join(root, "tooling/bench")));
  return found;
}

function benchFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".bench.mjs")).sort().map((f) => join(dir, f));
}

/** Runs one script from its package folder; its last stdout line is its result. */
async function runScript(file) {
  const cwd = dirname(file).endsWith("/bench") && !file.startsWith(join(root, "tooling")) ? dirname(dirname(file)) : dirname(file);
  const stdout = [];
  const stderrTail = [];
  const t0 = performance.now();
  const env = { ...process.env, ...(args.quick ? { BENCH_QUICK: "1" } : {}) };
  const res = await spawnStreaming([process.execPath, file], {
    cwd,
    env,
    timeoutMs: scriptTimeoutMs,
    onLine: (line, stream) => {
      if (stream === "stdout") stdout.push(line);
      else {
        process.stderr.write(`  ${line}\n`);
        stderrTail.push(line);
        if (stderrTail.length > 20) stderrTail.shift();
      }
    },
  });
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  process.stderr.write(`  (${seconds}s)\n`);
  const last = stdout.filter((l) => l.trim()).at(-1);
  let parsed;
  try {
    parsed = last ? JSON.parse(last) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.timedOut) return { ...parsed, error: `timed out after ${scriptTimeoutMs / 1000}s (BENCH_SCRIPT_TIMEOUT_SECONDS)`, seconds };
  if (res.exitCode !== 0 || !parsed) {
    return { error: `exited with ${res.exitCode ?? res.signal}${parsed ? "" : ", no JSON result line"}: ${stderrTail.slice(-3).join(" | ")}`, seconds };
  }
  return { ...parsed, seconds };
}

/** One table row: the case's spread, its floor's median, the ratio and the target's verdict. */
function row(suite, c) {
  const floorCase = c.floor ? suite.cases.find((other) => other.name === c.floor) : undefined;
  const m = median(c.samples);
  const floorMedian = floorCase ? median(floorCase.samples) : undefined;
  const ratio = floorMedian ? m / floorMedian : undefined;
  const verdict = c.target ? judge(c.target, m, floorMedian) : undefined;
  return {
    suite: suite.suite,
    name: c.name,
    unit: c.unit,
    n: c.samples.length,
    median: m,
    p10: percentile(c.samples, 10),
    p90: percentile(c.samples, 90),
    ...(c.floor ? { floor: c.floor, floorMedian } : {}),
    ...(ratio !== undefined ? { ratio } : {}),
    ...(c.target ? { target: c.target, verdict } : {}),
    ...(c.note ? { note: c.note } : {}),
  };
}

/**
 * Reads a target: `<= 1.10x floor + 5ms`, `< 1x floor`, `>= 100 MB/s`, `< 250 MB`.
 * A target the runner cannot read is reported as such, never as a pass.
 */
function judge(target, value, floorMedian) {
  const m = target.trim().match(/^(<=|<|>=|>)\s*([\d.]+)\s*(x\s*floor)?\s*(?:\+\s*([\d.]+)\s*\S*)?/);
  if (!m) return "unreadable";
  const [, op, num, relative, plus] = m;
  if (relative && floorMedian === undefined) return "no floor";
  const bound = (relative ? Number(num) * floorMedian : Number(num)) + (plus ? Number(plus) : 0);
  const ok = op === "<=" ? value <= bound : op === "<" ? value < bound : op === ">=" ? value >= bound : value > bound;
  return ok ? "pass" : "miss";
}

function formatTable(rows) {
  const fmt = (v) => (v === undefined || Number.isNaN(v) ? "" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const header = ["suite", "case", "median", "p10–p90", "unit", "floor", "ratio", "target", ""];
  const lines = rows.map((r) => [
    r.suite,
    r.name,
    fmt(r.median),
    `${fmt(r.p10)}–${fmt(r.p90)}`,
    r.unit,
    r.floorMedian !== undefined ? fmt(r.floorMedian) : "",
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : "",
    r.target ?? "",
    r.verdict ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const render = (cells) => cells.map((cell, i) => String(cell).padEnd(widths[i])).join("  ").trimEnd();
  return [render(header), render(widths.map((w) => "-".repeat(w))), ...lines.map(render)].join("\n");
}

async function describeMachine() {
  const version = async (argv) => {
    const lines = [];
    const r = await spawnStreaming(argv, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, timeoutMs: 15_000, onLine: (l) => lines.push(l) }).catch(() => undefined);
    return r?.exitCode === 0 ? lines[0] : undefined;
  };
  const commit = await git(["rev-parse", "--short", "HEAD"], { cwd: root, allowFailure: true }).catch(() => undefined);
  let os;
  try {
    os = readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1];
  } catch {}
  return {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: os ?? `${platform()} ${arch()}`,
    kernel: release(),
    node: process.version,
    commit: commit?.exitCode === 0 ? commit.stdout : undefined,
    tools: {
      git: await version(["git", "--version"]),
      bwrap: await version(["bwrap", "--version"]),
      docker: await version(["docker", "version", "--format", "{{.Server.Version}}"]),
      podman: await version(["podman", "--version"]),
    },
  };
}
