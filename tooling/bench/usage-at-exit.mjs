// Preloaded into a process under measurement (`node --import ./usage-at-exit.mjs …`): at exit it
// writes that process's own peak RSS and CPU time, as JSON, to $BENCH_USAGE_FILE. So a bench can
// measure the real `corral` command (dist/bin.js) without changing it.
import { writeFileSync } from "node:fs";

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  process.on("exit", () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ maxRssMB: u.maxRSS / 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));
  });
}
