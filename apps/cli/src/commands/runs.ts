import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { totalTokens, UsageError } from "@corral/core";
import { inert, inertJson } from "@corral/core/plugin-kit";
import { fleetLog, followEvents, followLog, listFleets, listRuns, readFleetSummary, readRun, streamEvents, streamLog, type FleetSummary, type JournalRun } from "corral";
import { journalLocation } from "corral/internal";
import { parseFlags } from "../args.js";
import { RUNS_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { usd } from "../format.js";

/**
 * `corral runs list|show <id>|logs <id> [-f]`: the run journal (`.corral/runs`) of this repository.
 * A journal holds what a sandbox printed: it is read as a stream (never whole) and shown inert.
 */
export default async function runs(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(
    "runs",
    argv,
    { json: { type: "boolean" }, follow: { type: "boolean", short: "f" }, fleet: { type: "string" }, cwd: { type: "string" }, help: { type: "boolean", short: "h" } },
    true,
  );
  // `corral runs <id>` is `corral runs show <id>`.
  const [action = "list", ref, ...extra] = positionals.length === 1 && !ACTIONS.has(positionals[0]!) ? ["show", ...positionals] : positionals;
  if (values.help) {
    io.stdout.write(RUNS_HELP);
    return EXIT.ok;
  }
  if (extra.length) throw new UsageError(`Unexpected argument "${extra[0]}".`, { hint: "See `corral runs --help`." });
  if (values.follow && action !== "logs") throw new UsageError("--follow (-f) goes with `corral runs logs <id>`.", { hint: "e.g. corral runs logs fix-login -f" });
  if (values.fleet !== undefined && action !== "logs" && action !== "fleets") throw new UsageError("--fleet goes with `corral runs logs` (or `corral runs fleets`).", { hint: "e.g. corral runs logs --fleet 01J2 -f" });
  const { root } = await journalLocation(resolve(io.cwd, values.cwd ?? "."));

  if (action === "fleets") {
    const ref = positionals[1] ?? values.fleet;
    const fleets = ref === undefined ? await listFleets(root) : [await readFleetSummary(root, ref)];
    if (values.json) {
      io.stdout.write(`${inertJson(ref === undefined ? fleets : fleets[0], 2)}\n`);
      return EXIT.ok;
    }
    if (!fleets.length) {
      io.stderr.write(inert(`No fleets recorded in ${root}.\n`));
      return EXIT.ok;
    }
    io.stdout.write(inert(fleetTable(fleets)));
    if (ref !== undefined) for (const r of fleets[0]!.runs) io.stdout.write(inert(`  ${r.id}  ${r.state.padEnd(11)}  ${r.name ?? ""}${r.branch ? `  ${r.branch}` : ""}\n`));
    return EXIT.ok;
  }

  if (action === "logs" && values.fleet !== undefined) {
    if (ref !== undefined) throw new UsageError(`Unexpected argument "${ref}": --fleet names the fleet.`, { hint: "e.g. corral runs logs --fleet 01J2 -f" });
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once("SIGINT", stop);
    try {
      for await (const { task, runId, line } of fleetLog(root, values.fleet, { follow: values.follow ?? false, signal: controller.signal })) {
        const text = values.json ? `${inertJson({ task, runId, line })}\n` : `${inert(`[${task}]`)} ${inert(line)}\n`;
        if (!io.stdout.write(text)) await new Promise<void>((resume) => io.stdout.once("drain", resume));
      }
    } finally {
      process.off("SIGINT", stop);
    }
    return EXIT.ok;
  }

  if (action === "list") {
    if (ref !== undefined) throw new UsageError(`Unexpected argument "${ref}".`, { hint: "`corral runs show <id>` shows one run." });
    const all = await listRuns(root);
    if (values.json) {
      io.stdout.write(`${inertJson(all, 2)}\n`);
      return EXIT.ok;
    }
    if (!all.length) {
      io.stderr.write(inert(`No runs recorded in ${root}.\n`));
      return EXIT.ok;
    }
    const rows = all.map((r) => [
      r.id,
      r.name ?? "",
      stateLabel(r),
      r.started.replace("T", " ").replace(/\.\d+Z$|Z$/, ""),
      duration(r),
      agentLabel(r),
      r.sandbox?.name ?? "",
      r.usage ? String(totalTokens(r.usage)) : "-",
      usd(r.usage?.costUsd),
      r.branch ?? "",
    ]);
    io.stdout.write(inert(table([["ID", "NAME", "STATE", "STARTED", "DURATION", "AGENT", "SANDBOX", "TOKENS", "COST", "BRANCH"], ...rows])));
    // The fleets among them, one line each with their tasks counted per state.
    const fleets = await listFleets(root);
    if (fleets.length) io.stdout.write(inert(`\nFleets (corral runs fleets <id>, corral runs logs --fleet <id> -f):\n${fleetTable(fleets)}`));
    return EXIT.ok;
  }

  if (action !== "show" && action !== "logs") {
    throw new UsageError(`Unknown action "${action}" for corral runs.`, { hint: "Use list, show <id> (or just <id>), logs <id> [-f], logs --fleet <id> [-f] or fleets [<id>]." });
  }
  if (ref === undefined) throw new UsageError(`corral runs ${action} needs a run id (or name).`, { hint: "`corral runs list` shows them." });
  const run = await readRun(root, ref);
  const write = async (text: string) => {
    // Wait for a slow reader (a pager): a journal is too large to be queued in memory.
    if (io.stdout.write(text)) return;
    await new Promise<void>((resume) => {
      // Both listeners go once either fires: a journal of millions of events must not pile them up.
      const done = () => {
        io.stdout.off("drain", done);
        io.stdout.off("close", done);
        resume();
      };
      io.stdout.on("drain", done);
      io.stdout.on("close", done);
    });
  };

  if (action === "show") {
    if (!values.json) {
      io.stdout.write(inert(describe(run)));
      io.stdout.write(inert(await networkSummary(run)));
      return EXIT.ok;
    }
    // The run as JSON with its events, written event by event; a journal that cannot be read fails before any of it.
    const events = streamEvents(run);
    let next = await events.next();
    const head = inertJson(run, 2);
    await write(`${head.slice(0, -2)},\n  "events": [`);
    let first = true;
    for (; !next.done; next = await events.next()) {
      await write(`${first ? "" : ","}\n    ${inertJson(next.value)}`);
      first = false;
    }
    await write(`${first ? "" : "\n  "}]\n}\n`);
    return EXIT.ok;
  }

  // logs: the plain-text log (or, with --json, the events), followed with -f until the run ends.
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  try {
    if (values.json) {
      const events = values.follow ? followEvents(run, { signal: controller.signal }) : streamEvents(run);
      for await (const event of events) await write(`${inertJson(event)}\n`);
    } else if (values.follow) {
      for await (const line of followLog(run, { signal: controller.signal })) await write(`${inert(line)}\n`);
    } else {
      // Block by block: the log is rendered inert, but anything that can write the journal folder could have changed it.
      for await (const text of streamLog(run)) await write(inert(text));
    }
  } finally {
    process.off("SIGINT", stop);
  }
  return EXIT.ok;
}

const ACTIONS = new Set(["list", "show", "logs", "fleets"]);

/** One row per fleet: its id, state, start, and its tasks counted per state (`3 succeeded, 1 running`). */
function fleetTable(fleets: readonly FleetSummary[]): string {
  const rows = fleets.map((f) => [
    f.id,
    f.state,
    f.started.replace("T", " ").replace(/\.\d+Z$|Z$/, ""),
    String(f.tasks),
    Object.entries(f.counts).map(([state, n]) => `${n} ${state}`).join(", "),
  ]);
  return table([["FLEET", "STATE", "STARTED", "TASKS", "COUNTS"], ...rows]);
}

function stateLabel(run: JournalRun): string {
  return run.cleaned ? `${run.state} (cleaned)` : run.state;
}

function duration(run: JournalRun): string {
  if (!run.ended) return run.state === "running" || run.state === "created" ? "running" : "";
  const s = Math.round((Date.parse(run.ended) - Date.parse(run.started)) / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function describe(run: JournalRun): string {
  const u = run.usage;
  const lines = [
    `run ${run.id}${run.name ? ` (${run.name})` : ""}`,
    `  state: ${stateLabel(run)}${run.recordedState !== run.state ? ` (recorded as ${run.recordedState}; its process ${run.pid} is gone)` : ""}`,
    `  started: ${run.started}${run.ended ? `, ended: ${run.ended} (${duration(run)})` : ""}`,
    `  pid: ${run.pid} on ${run.host}`,
    `  agent: ${run.agent ?? "?"}, sandbox: ${run.sandbox ? `${run.sandbox.name}${run.sandbox.id ? ` (${run.sandbox.id})` : ""}` : "?"}, isolation: ${run.isolation ?? "?"}`,
    `  workspace: ${run.workspace === undefined ? "(not created)" : existsSync(run.workspace) ? run.workspace : `${run.workspace} (removed)`}`,
    `  branch: ${run.branch ?? "(none)"}${run.baseBranch ? ` (from ${run.baseBranch})` : ""}`,
    ...(run.fleet ? [`  fleet: ${run.fleet}`] : []),
    ...(run.resumedFrom ? [`  resumed from: ${run.resumedFrom}`] : []),
    ...(run.sessionId ? [`  agent session: ${run.sessionId}`] : []),
    `  iterations: ${run.iterations ?? 0}`,
    ...(run.commits ? [`  commits: ${run.commits.length}`, ...run.commits.map((c) => `    ${c.sha.slice(0, 8)} ${c.subject}`)] : []),
    ...(u ? [`  tokens: ${totalTokens(u)} (input ${u.inputTokens}, output ${u.outputTokens})${u.costUsd !== undefined ? `, cost $${u.costUsd.toFixed(4)}` : ""}`] : []),
    ...(run.error ? [`  error: ${run.error.message}`, ...(run.error.hint ? [`  hint: ${run.error.hint}`] : [])] : []),
    ...(run.truncated ? [`  journal: truncated at ${Math.round(run.truncated.maxBytes / 1024)} KiB on ${run.truncated.time}; ${run.truncated.droppedEvents} event(s) of output after it not recorded`] : []),
    ...(run.cleaned ? [`  cleaned: ${run.cleaned.time}`, ...run.cleaned.actions.map((a) => `    ${a}`)] : []),
    ...(run.state === "interrupted" && !run.cleaned ? ["  `corral clean` removes what it left behind (keeping its branch)."] : []),
    `  log: corral runs logs ${run.id}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** What the egress proxy let through and refused, per host (from the journal's network events). */
async function networkSummary(run: JournalRun): Promise<string> {
  const hosts = new Map<string, { allowed: number; denied: number; bytesOut: number; bytesIn: number; reason?: string; allowWith?: string }>();
  for await (const event of streamEvents(run)) {
    if (event.type !== "network.allowed" && event.type !== "network.denied") continue;
    const key = `${event.host}:${event.port}`;
    const entry = hosts.get(key) ?? { allowed: 0, denied: 0, bytesOut: 0, bytesIn: 0 };
    if (event.type === "network.allowed") {
      entry.allowed++;
      entry.bytesOut += event.bytesOut;
      entry.bytesIn += event.bytesIn;
    } else {
      entry.denied++;
      entry.reason = event.reason;
      if (event.allowWith) entry.allowWith = event.allowWith;
    }
    hosts.set(key, entry);
  }
  if (!hosts.size) return "";
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const rows = [...hosts].map(([host, e]) =>
    e.denied
      ? `    denied   ${host}  ${e.denied}× (${e.reason})${e.allowWith ? ` — allow it with --allow-domain ${e.allowWith}` : ""}${e.allowed ? `; allowed ${e.allowed}×` : ""}`
      : `    allowed  ${host}  ${e.allowed} connection(s), ${kib(e.bytesOut)} out, ${kib(e.bytesIn)} in`,
  );
  return `  network:\n${rows.join("\n")}\n`;
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
/** The run's agent and its model (`claude (opus)`), as recorded; `?` before it started. */
function agentLabel(run: JournalRun): string {
  return run.agent ? `${run.agent}${run.model ? ` (${run.model})` : ""}` : "?";
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows.map((row) => `${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")}\n`).join("");
}
