// Parser throughput: the gemini stream-json parser over a large generated stream, against the
// floor of JSON.parse on the same lines. Target: >= 100 MB/s.
import { readFileSync } from "node:fs";
import { measureEach, report } from "../../../tooling/bench/measure.mjs";
import { createGeminiParser } from "../dist/index.js";

const recorded = readFileSync(new URL("../src/fixtures/commit.stream.jsonl", import.meta.url), "utf8").split("\n").filter(Boolean);
// ~32 MB: the recorded lines, with text of varying size so it is not one line repeated.
const lines = [];
let bytes = 0;
for (let i = 0; bytes < 32 * 1024 * 1024; i++) {
  const line = recorded[i % recorded.length].replace("Writing t", `step ${i}: ${"x".repeat(i % 2000)}`);
  lines.push(line);
  bytes += Buffer.byteLength(line) + 1;
}
const mb = bytes / (1024 * 1024);
const mbPerSecond = (samples) => samples.map((ms) => mb / (ms / 1000));

// Parser and floor sampled in rotation, so a load spike on a shared machine hits both alike.
const [parser, floor] = await measureEach(
  [
    () => {
      const p = createGeminiParser();
      for (const line of lines) p.parse(line, "stdout");
    },
    () => {
      for (const line of lines) JSON.parse(line);
    },
  ],
  { warmup: 2, samples: 9 },
);

report("agent-gemini", [
  { name: "gemini parser throughput", unit: "MB/s", samples: mbPerSecond(parser), floor: "JSON.parse of the same lines", target: ">= 100 MB/s" },
  { name: "JSON.parse of the same lines", unit: "MB/s", samples: mbPerSecond(floor) },
]);
