#!/usr/bin/env node
// Prints bench-results/latest.json (or the file given) as the markdown table of docs/performance.md.
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? "bench-results/latest.json";
const { rows, suites, machine, date, durationSeconds } = JSON.parse(readFileSync(file, "utf8"));
const fmt = (v) => (v === undefined || v === null || Number.isNaN(v) ? "" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const out = [
  `Measured ${date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores, ${machine.memoryGiB} GiB), ${machine.os}, kernel ${machine.kernel}, node ${machine.node}; ` +
    `${Object.entries(machine.tools).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(", ")}; commit ${machine.commit}; ${durationSeconds} s in all.`,
  "",
  "| suite | case | median | p10–p90 | unit | floor | ratio | target | |",
  "| --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- |",
  ...rows.map((r) => `| ${r.suite} | ${r.name} | ${fmt(r.median)} | ${fmt(r.p10)}–${fmt(r.p90)} | ${r.unit} | ${r.floorMedian !== undefined ? fmt(r.floorMedian) : ""} | ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : ""} | ${r.target ?? ""} | ${r.verdict === "miss" ? "**miss**" : (r.verdict ?? "")} |`),
  "",
  ...suites.filter((s) => s.skipped).map((s) => `- skipped ${s.suite ?? s.file}: ${s.skipped}`),
  ...suites.filter((s) => s.error).map((s) => `- failed ${s.file}: ${s.error}`),
  ...suites.flatMap((s) => (s.notes ?? []).map((n) => `- ${s.suite}: ${n}`)),
];
console.log(out.join("\n"));
