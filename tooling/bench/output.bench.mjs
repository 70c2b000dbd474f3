// Case 5, the orchestrator's CPU time per MB of agent output: an agent that prints ~50 MB of
// stream-json (agent-claude's recorded conversation, lines of varying size) through a whole
// run in the host sandbox, measured with process.cpuUsage() (the agent's own CPU is in another
// process and not counted). Floor: spawning the same command and discarding its lines.
// Target: <= 10 ms of CPU per MB, i.e. the orchestrator keeps up with >= 100 MB/s.
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { commandAgent, run as runCore } from "../../packages/core/dist/index.js";
import { spawnStreaming } from "../../packages/core/dist/plugin-kit.js";
import { baseEnv, makeRepo, removeDir, tempDir } from "./fixtures.mjs";
import { collect, note, quick, report } from "./measure.mjs";

const MB = Number(process.env.BENCH_OUTPUT_MB ?? (quick ? 10 : 50));
const work = await tempDir("corral-bench-output-");
const repo = await makeRepo();
const notes = [];

// ~MB megabytes of realistic lines.
const recorded = (await readFile(new URL("../../packages/agent-claude/src/fixtures/claude-tool-commit.jsonl", import.meta.url), "utf8")).split("\n").filter(Boolean).map((l) => l.replace(" <promise>COMPLETE</promise>", ""));
const lines = [];
let bytes = 0;
for (let i = 0; bytes < MB * 1024 * 1024; i++) {
  const line = recorded[i % recorded.length].replace("I'll write the file.", `step ${i}: ${"x".repeat(i % 2000)}`);
  lines.push(line);
  bytes += Buffer.byteLength(line) + 1;
}
const stream = join(work, "stream.jsonl");
await writeFile(stream, `${lines.join("\n")}\n`);
lines.length = 0;
const megabytes = bytes / (1024 * 1024);
// A fake `claude` that prints the stream whatever its arguments.
const fakeClaude = join(work, "claude");
await writeFile(fakeClaude, `#!/bin/sh\ncat > /dev/null\nexec cat '${stream}'\n`);
await chmod(fakeClaude, 0o755);

/** CPU ms per MB spent in this process while `fn` runs. */
const cpuPerMB = (fn) => async () => {
  const before = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / megabytes;
};
const options = { cwd: repo, prompt: "bench", handleProcessSignals: false, env: { ...baseEnv }, idleTimeout: 120 };

const cases = [];
try {
  note(`floor: spawn cat of ${megabytes.toFixed(0)} MB, lines discarded`);
  const floor = await collect(cpuPerMB(() => spawnStreaming(["cat", stream], { env: { ...baseEnv }, onLine: () => {} })), { warmup: 1, samples: 5 });
  cases.push({ name: "spawn + line splitting only", unit: "ms CPU/MB", samples: floor });

  note("core run(), command agent");
  const command = commandAgent.configure({ argv: ["cat", stream] });
  cases.push({ name: "run(), command agent", unit: "ms CPU/MB", samples: await collect(cpuPerMB(() => runCore({ ...options, agent: command })), { warmup: 1, samples: 5 }), floor: "spawn + line splitting only", target: "<= 10 ms/MB" });

  const claudeModule = await import("../../packages/agent-claude/dist/index.js").catch(() => undefined);
  if (claudeModule) {
    note("core run(), claude agent (stream-json parser)");
    const claude = claudeModule.claude({ executable: fakeClaude });
    const hostEnv = { ANTHROPIC_API_KEY: "sk-bench-not-a-real-key" };
    cases.push({ name: "run(), claude agent", unit: "ms CPU/MB", samples: await collect(cpuPerMB(() => runCore({ ...options, agent: claude, hostEnv })), { warmup: 1, samples: 5 }), floor: "spawn + line splitting only", target: "<= 10 ms/MB" });

    const lib = await import("../../apps/corral/dist/index.js").catch(() => undefined);
    if (lib) {
      note("corral library run(), claude agent, with its default run journal");
      const libRun = () => lib.run({ ...options, agent: claude, sandbox: lib.hostSandbox.configure({}), isolation: lib.inPlaceIsolation.configure({}), config: false, hostEnv });
      cases.push({ name: "corral run() + journal, claude agent", unit: "ms CPU/MB", samples: await collect(cpuPerMB(libRun), { warmup: 1, samples: 5 }), floor: "spawn + line splitting only", target: "<= 10 ms/MB", note: "journal writes every event to .corral/runs/<id>/events.jsonl" });
    } else notes.push("corral library run skipped: apps/corral is not built");
  } else notes.push("claude agent skipped: packages/agent-claude is not built");
} finally {
  await removeDir(work);
  await removeDir(repo);
}
report("output", cases, { notes, megabytes: Math.round(megabytes) });
