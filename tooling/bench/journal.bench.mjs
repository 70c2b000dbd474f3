// Case 10, the run journal's writer (issue 22): the journal display fed the events core makes of an
// agent's line-heavy output — `yes | head -c BENCH_JOURNAL_MB` (2-byte lines) and 1 KiB lines — in
// 64 KiB turns of the event loop, as a pipe delivers them. Reported: MB of agent output per second
// and CPU per MB (target >= 50 MB/s), and the journal's size as a multiple of the output (events.jsonl,
// the plain-text log rendered from it, ADR 0710; target <= 2x, the cap raised out of the way). Floor: the same bytes written with
// fs.createWriteStream in the same 64 KiB turns (the cost of putting the output on disk at all).
// The events are made in both cases (it is core's cost, not the journal's).
import { createWriteStream, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as turn } from "node:timers/promises";
import { collect, note, quick, report, skip } from "./measure.mjs";

const lib = await import("../../apps/corral/dist/internal.js").catch(() => undefined);
if (!lib) {
  skip("journal", "apps/corral is not built (pnpm build)");
  process.exit(0);
}
const MB = Number(process.env.BENCH_JOURNAL_MB ?? (quick ? 10 : 50));
const TOTAL = MB * 1024 * 1024;
const CHUNK = 64 * 1024;
const runId = "20260101-000000-bench0";

/** Calls `onChunk(events, bytes)` for each 64 KiB of `line`-lines, one event-loop turn each. */
async function feed(line, onChunk) {
  const perChunk = Math.max(1, Math.floor(CHUNK / (line.length + 1)));
  const bytes = Buffer.from(`${line}\n`.repeat(perChunk));
  for (let done = 0; done < TOTAL; done += bytes.length) {
    const time = new Date().toISOString();
    const events = [];
    for (let i = 0; i < perChunk; i++) events.push({ runId, time, type: "agent", iteration: 1, event: { type: "text", text: line } });
    onChunk(events, bytes);
    await turn();
  }
}

/** MB/s, CPU ms per MB and (for the journal) its size over the output, for one pass. */
async function pass(line, withJournal) {
  const dir = await mkdtemp(join(tmpdir(), "corral-bench-journal-"));
  try {
    const before = process.cpuUsage();
    const start = performance.now();
    if (withJournal) {
      const display = lib.journalDisplay({ root: dir, maxBytes: 1e15 });
      display.onEvent({ runId, time: new Date().toISOString(), type: "run.started", agent: "command", sandbox: "host", isolation: "in-place", maxIterations: 1, cwd: dir });
      await feed(line, (events) => {
        for (const event of events) display.onEvent(event);
      });
      await display.close();
    } else {
      const out = createWriteStream(join(dir, "out"));
      await feed(line, (_events, bytes) => out.write(bytes));
      await new Promise((resolve) => out.end(resolve));
    }
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(before);
    const folder = withJournal ? join(dir, runId) : dir;
    const size = readdirSync(folder).reduce((sum, f) => sum + statSync(join(folder, f)).size, 0);
    return { mbps: MB / seconds, cpuPerMB: (cpu.user + cpu.system) / 1000 / MB, ratio: size / TOTAL };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const cases = [];
for (const [label, line] of [["2-byte lines (yes)", "y"], ["1 KiB lines", "0123456789abcdef".repeat(64).slice(0, 1023)]]) {
  note(`journal vs createWriteStream, ${MB} MB of ${label}`);
  const floor = [];
  const journal = [];
  // In rotation, so a load spike on a shared machine hits both.
  for (let i = 0; i < (quick ? 3 : 5); i++) {
    floor.push(await pass(line, false));
    journal.push(await pass(line, true));
  }
  const floorName = `createWriteStream, ${label}`;
  cases.push({ name: floorName, unit: "MB/s", samples: floor.map((s) => s.mbps) });
  cases.push({ name: `journal, ${label}`, unit: "MB/s", samples: journal.map((s) => s.mbps), floor: floorName, target: ">= 50 MB/s" });
  cases.push({ name: `journal CPU, ${label}`, unit: "ms CPU/MB", samples: journal.map((s) => s.cpuPerMB), note: `floor ${floor.map((s) => s.cpuPerMB).sort((a, b) => a - b)[floor.length >> 1].toFixed(1)} ms/MB (making the events included in both)` });
  cases.push({ name: `journal size, ${label}`, unit: "x output", samples: journal.map((s) => s.ratio), target: "<= 2" });
}
report("journal", cases, { megabytes: MB });
