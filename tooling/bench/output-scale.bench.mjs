// Case 12, agent output at scale, end to end through the corral library (host sandbox, in place,
// run journal on), each sample in a fresh process: 200 MiB of 2-byte lines (`yes | head -c`) and
// one 100 MiB line without a newline (cut at the line cap, the rest read and dropped). Reported:
// throughput (MB/s, target >= 50), orchestrator CPU per MB (target <= 10 ms), peak RSS and the
// journal's size. Floor: the same command through spawnStreaming, lines discarded (the Sandbox seam's
// `onLine`, before corral does anything), the same in blocks of whole lines (`onLines`, ADR 0720), and
// under it the same command spawned and read in chunks. A case that
// cannot finish within BENCH_OUTPUT_BUDGET_SECONDS (90) is aborted there and rated over what it
// had processed. BENCH_SHORT_LINES_MB / BENCH_ONE_LINE_MB change the sizes; BENCH_OUTPUT_CASES
// (short-lines,one-line,claude,codex) picks cases. claude, codex: each agent's stream
// (BENCH_AGENT_STREAM_MB, 40) with the journal on and off, its lines through JSON.parse alone, and
// parsed, re-encoded and appended to a file.
import { fileURLToPath } from "node:url";
import { makeRepo, nodeChild, removeDir } from "./fixtures.mjs";
import { collect, note, quick, report } from "./measure.mjs";

const child = fileURLToPath(new URL("./output-scale-child.mjs", import.meta.url));
const budget = Number(process.env.BENCH_OUTPUT_BUDGET_SECONDS ?? 90);
const agentMB = Number(process.env.BENCH_AGENT_STREAM_MB ?? (quick ? 10 : 40));
const sizes = { "short-lines": Number(process.env.BENCH_SHORT_LINES_MB ?? (quick ? 20 : 200)), "one-line": Number(process.env.BENCH_ONE_LINE_MB ?? 100), claude: agentMB, codex: agentMB };
const wanted = (process.env.BENCH_OUTPUT_CASES ?? "short-lines,one-line,claude,codex").split(",");
const cases = [];
const notes = [];
for (const mode of wanted) {
  if (mode === "claude" || mode === "codex") {
    await agentStream(mode, sizes[mode]);
    continue;
  }
  const MB = sizes[mode];
  const label = mode === "one-line" ? `one ${MB} MB line` : `${MB} MB of 2-byte lines`;
  const repo = await makeRepo();
  try {
    const sample = (m) => async () => {
      const r = await nodeChild(child, [mode, m === "floor" || m === "blocks" || m === "chunks" ? m : "corral", String(MB), String(budget), repo], { timeoutMs: (budget + 120) * 1000 });
      note(`${m} ${label}: ${(r.MB / r.seconds).toFixed(1)} MB/s, ${(r.cpuMs / r.MB).toFixed(1)} ms CPU/MB, ${r.maxRssMB.toFixed(0)} MB RSS, journal ${r.journalMB.toFixed(1)} MB${r.finished ? "" : " (aborted at the budget)"}`);
      return r;
    };
    const samples = quick ? 1 : 3;
    const floor = await collect(sample("floor"), { warmup: 0, samples });
    const blocks = await collect(sample("blocks"), { warmup: 0, samples });
    const chunks = await collect(sample("chunks"), { warmup: 0, samples });
    const ours = await collect(sample(mode), { warmup: 0, samples });
    if (ours.some((r) => !r.finished)) notes.push(`${label}: aborted after ${budget} s; the rate is over what had been processed`);
    cases.push(
      { name: `${label}: throughput`, unit: "MB/s", samples: ours.map((r) => r.MB / r.seconds), floor: `${label}: spawn + line splitting`, target: ">= 50 MB/s" },
      { name: `${label}: spawn + line splitting`, unit: "MB/s", samples: floor.map((r) => r.MB / r.seconds) },
      { name: `${label}: CPU`, unit: "ms CPU/MB", samples: ours.map((r) => r.cpuMs / r.MB), floor: `${label}: spawn + line splitting CPU`, target: "<= 10 ms/MB" },
      { name: `${label}: spawn + line splitting CPU`, unit: "ms CPU/MB", samples: floor.map((r) => r.cpuMs / r.MB), floor: `${label}: spawn + read (chunks, no lines) CPU`, target: "<= 10 ms/MB" },
      { name: `${label}: spawn + blocks of lines (onLines) CPU`, unit: "ms CPU/MB", samples: blocks.map((r) => r.cpuMs / r.MB), floor: `${label}: spawn + read (chunks, no lines) CPU` },
      { name: `${label}: spawn + read (chunks, no lines) CPU`, unit: "ms CPU/MB", samples: chunks.map((r) => r.cpuMs / r.MB) },
      { name: `${label}: peak RSS`, unit: "MB", samples: ours.map((r) => r.maxRssMB), floor: `${label}: spawn + line splitting RSS`, target: "< 250 MB" },
      { name: `${label}: spawn + line splitting RSS`, unit: "MB", samples: floor.map((r) => r.maxRssMB) },
      { name: `${label}: journal size per MB of output`, unit: "MB/MB", samples: ours.map((r) => r.journalMB / r.MB) },
    );
  } finally {
    await removeDir(repo);
  }
}
/**
 * An agent's stream (claude's stream-json, codex's --json events: one turn made from its recorded
 * conversation) through the library + journal, against the same run without the journal (core `run()`),
 * the lines through JSON.parse alone (what its parser cannot skip), and the lines parsed, written again
 * as JSON and appended to a file (what a journal of what was parsed cannot skip). Samples in rotation,
 * so a load spike hits all four alike.
 */
async function agentStream(agent, MB) {
  const label = `${agent} stream-json, ${MB} MB`;
  const repo = await makeRepo();
  try {
    const runs = { corral: [], core: [], parse: [], reencode: [] };
    for (let i = 0; i < (quick ? 1 : 5); i++) {
      for (const m of Object.keys(runs)) {
        const r = await nodeChild(child, [agent, m, String(MB), String(budget), repo], { timeoutMs: (budget + 120) * 1000 });
        note(`${m} ${label}: ${(r.MB / r.runSeconds).toFixed(1)} MB/s, ${(r.runCpuMs / r.MB).toFixed(1)} ms CPU/MB${m === "corral" ? `, journal ${r.journalMB.toFixed(1)} MB` : ""}`);
        runs[m].push(r);
      }
    }
    const cpu = (rs) => rs.map((r) => r.runCpuMs / r.MB);
    cases.push(
      { name: `${label}, journal on: CPU`, unit: "ms CPU/MB", samples: cpu(runs.corral), floor: `${label}: lines parsed, re-encoded, appended: CPU`, target: "<= 10 ms/MB" },
      { name: `${label}, journal off: CPU`, unit: "ms CPU/MB", samples: cpu(runs.core), floor: `${label}: spawn + lines + JSON.parse CPU` },
      { name: `${label}: spawn + lines + JSON.parse CPU`, unit: "ms CPU/MB", samples: cpu(runs.parse) },
      { name: `${label}: lines parsed, re-encoded, appended: CPU`, unit: "ms CPU/MB", samples: cpu(runs.reencode) },
      { name: `${label}, journal on: throughput`, unit: "MB/s", samples: runs.corral.map((r) => r.MB / r.runSeconds), target: ">= 50 MB/s" },
      { name: `${label}: journal size per MB of output`, unit: "MB/MB", samples: runs.corral.map((r) => r.journalMB / r.MB) },
    );
  } finally {
    await removeDir(repo);
  }
}

report("output-scale", cases, { notes });
