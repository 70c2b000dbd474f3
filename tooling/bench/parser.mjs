// The one parser-throughput bench every agent package runs: its parser over ~32 MB made from a
// recorded real stream (text of varying size, so it is not one line repeated), sampled in rotation
// with the floor of JSON.parse on the same lines, so a load spike on a shared machine hits both alike.
import { readFileSync } from "node:fs";
import { measureEach, report } from "./measure.mjs";

/**
 * @param {{ agent: string, fixture: URL, vary: string, createParser: () => { parse: (line: string, stream: "stdout") => unknown } }} input
 *   `vary`: a text of the fixture replaced line by line with a growing one.
 */
export async function benchParser({ agent, fixture, vary, createParser }) {
  const recorded = readFileSync(fixture, "utf8").split("\n").filter(Boolean);
  if (!recorded.some((line) => line.includes(vary))) throw new Error(`bench ${agent}: the fixture has no ${JSON.stringify(vary)} to vary`);
  const lines = [];
  let bytes = 0;
  for (let i = 0; bytes < 32 * 1024 * 1024; i++) {
    const line = recorded[i % recorded.length].replace(vary, `step ${i}: ${"x".repeat(i % 2000)}`);
    lines.push(line);
    bytes += Buffer.byteLength(line) + 1;
  }
  const mb = bytes / (1024 * 1024);
  const mbPerSecond = (samples) => samples.map((ms) => mb / (ms / 1000));
  const [parser, floor] = await measureEach(
    [
      () => {
        const p = createParser();
        for (const line of lines) p.parse(line, "stdout");
      },
      () => {
        for (const line of lines) JSON.parse(line);
      },
    ],
    { warmup: 2, samples: 9 },
  );
  report(`agent-${agent}`, [
    { name: `${agent} parser throughput`, unit: "MB/s", samples: mbPerSecond(parser), floor: "JSON.parse of the same lines", target: ">= 100 MB/s" },
    { name: "JSON.parse of the same lines", unit: "MB/s", samples: mbPerSecond(floor) },
  ]);
}
