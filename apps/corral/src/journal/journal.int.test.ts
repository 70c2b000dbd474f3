import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { gitIn, tempDir, tempRepo } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { agentEventsOf, emptyUsage, type RunEvent } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { run } from "../run.js";
import { journalDisplay } from "./display.js";
import { listRuns, readEvents, readRun, streamEvents, streamLog } from "./reader.js";
import { journalLocation, probeGit } from "./root.js";

const agent = (script: string) => ({ name: "command", options: { argv: ["sh", "-c", script] } });

describe("run() journals into .corral/runs of the repository", () => {
  it("records a succeeded run; the agent sees CORRAL_RUN_ID; .corral stays out of git", async () => {
    const repo = await tempRepo();
    const result = await run({
      cwd: repo,
      config: false,
      isolation: "in-place",
      agent: agent('echo "id=$CORRAL_RUN_ID"; echo "token $SERVICE_TOKEN"; echo "<promise>COMPLETE</promise>"'),
      env: { SERVICE_TOKEN: "tok-1234567890-secret" },
      prompt: "go",
      name: "journaled",
      handleProcessSignals: false,
    });
    const [entry, ...others] = await listRuns(join(repo, ".corral", "runs"));
    expect(others).toEqual([]);
    expect(entry).toMatchObject({ id: result.runId, name: "journaled", state: "succeeded", pid: process.pid, workspace: repo, sandbox: { name: "host" }, agent: "command", options: { env: ["SERVICE_TOKEN"], prompt: "go" } });
    const events = await readEvents(entry!);
    expect(events[0]!.type).toBe("run.started");
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "succeeded" });
    expect(events.flatMap(agentEventsOf).some((e) => e.type === "text" && e.text === `id=${result.runId}`)).toBe(true);
    let files = ["run.json", "events.jsonl"].map((f) => readFileSync(join(entry!.dir, f), "utf8")).join("\n");
    for await (const text of streamLog(entry!)) files += text; // the plain-text log, rendered from events.jsonl
    expect(files).not.toContain("tok-1234567890-secret");
    expect(await gitIn(repo, "status", "--porcelain")).toBe("");
  });

  it("records a failed run with its error; journal: false and a folder outside git record nothing", async () => {
    const repo = await tempRepo();
    await expect(run({ cwd: repo, config: false, isolation: "in-place", agent: agent("exit 3"), prompt: "x", handleProcessSignals: false })).rejects.toThrow(/exited with code 3/);
    const [failed] = await listRuns(join(repo, ".corral", "runs"));
    expect(failed).toMatchObject({ state: "failed", error: { code: "E_AGENT_EXECUTION" } });
    expect(failed!.ended).toBeDefined();

    const quiet = await tempRepo();
    await run({ cwd: quiet, config: false, isolation: "in-place", agent: agent("true"), prompt: "x", journal: false, handleProcessSignals: false });
    expect(existsSync(join(quiet, ".corral"))).toBe(false);

    const plain = await tempDir();
    await run({ cwd: plain, config: false, isolation: "in-place", agent: agent("true"), prompt: "x", handleProcessSignals: false });
    expect(existsSync(join(plain, ".corral"))).toBe(false);
    await run({ cwd: plain, config: false, isolation: "in-place", agent: agent("true"), prompt: "x", journal: true, handleProcessSignals: false });
    expect((await listRuns(join(plain, ".corral", "runs"))).map((r) => r.state)).toEqual(["incomplete"]);
  });
});

describe("a run's output past the journal's cap", () => {
  it("counts every line it did not keep, exactly, long lines and 2-byte ones, as core hands them over in blocks", async () => {
    const repo = await tempRepo();
    const [long, short] = [300, 200_000];
    await run({
      cwd: repo,
      config: false,
      isolation: "in-place",
      agent: agent(`yes ${"0123456789".repeat(10)} | head -n ${long}; yes y | head -n ${short}`),
      journal: { maxBytes: 16 * 1024 },
      prompt: "go",
      name: "capped",
      handleProcessSignals: false,
    });
    const [entry] = await listRuns(join(repo, ".corral", "runs"));
    const events = await readEvents(entry!);
    const marker = events.findIndex((e) => e.type === "log" && e.message.startsWith("The journal reached its limit"));
    expect(marker).toBeGreaterThan(0);
    const kept = events.slice(0, marker).flatMap((e) => (e.type === "agent.output" ? e.lines : []));
    expect(kept.length).toBeGreaterThan(10);
    expect(entry!.truncated).toMatchObject({ maxBytes: 16 * 1024, droppedEvents: long + short - kept.length });
    expect(events.slice(marker + 1).some((e) => e.type === "agent.output")).toBe(false);
  });
});

describe("the journal reader, on a journal of any size (issue 21 item 5)", () => {
  const event = (type: "run.started" | "run.finished"): RunEvent =>
    type === "run.started"
      ? { runId: "big", time: "2026-01-01T00:00:00Z", type, agent: "command", sandbox: "host", isolation: "in-place", maxIterations: 1, cwd: "/r" }
      : { runId: "big", time: "2026-01-01T00:00:01Z", type, status: "succeeded" as const, iterations: 1, usage: emptyUsage(), durationMs: 1 };
  it("streams a journal over 2 GB: the events after the 2 GiB mark are read", async () => {
    const dir = await tempDir();
    const display = journalDisplay({ root: dir });
    display.onEvent(event("run.started"));
    await display.close?.();
    const file = join(dir, "big", "events.jsonl");
    // A sparse hole (no disk used): 2.1 GB of NULs, one line far longer than any event, skipped.
    truncateSync(file, 2 ** 31 + 100 * 1024 * 1024); // past 2 GiB
    appendFileSync(file, `\n${JSON.stringify(event("run.finished"))}\n`);
    const types: string[] = [];
    for await (const event of streamEvents(await readRun(dir, "big"))) types.push(event.type);
    expect(types).toEqual(["run.started", "run.finished"]);
  }, 300_000); // ~2 s on an idle machine; reading 2 GiB takes much longer on a loaded one
});

describe("probeGit: one git call for whether cwd is in a work tree and where its journal goes", () => {
  it("says what `git rev-parse --is-inside-work-tree` and the journal's own question say, in a checkout, a subfolder, a linked worktree, a git dir, outside git", async () => {
    const repo = await tempRepo();
    await gitIn(repo, "worktree", "add", "-q", "-b", "side", join(repo, ".corral", "side"));
    const plain = await tempDir("corral-probe-plain-");
    mkdirSync(join(repo, "sub", "deeper"), { recursive: true });
    const inside = async (cwd: string) => (await git(["rev-parse", "--is-inside-work-tree"], { cwd, allowFailure: true })).stdout === "true";
    const expected = {
      [repo]: { insideWorkTree: true, location: { root: join(repo, ".corral/runs"), repoRoot: repo, commonDir: join(repo, ".git") } },
      [join(repo, "sub", "deeper")]: { insideWorkTree: true, location: { root: join(repo, ".corral/runs"), repoRoot: repo, commonDir: join(repo, ".git") } },
      [join(repo, ".corral", "side")]: { insideWorkTree: true, location: { root: join(repo, ".corral/runs"), repoRoot: repo, commonDir: join(repo, ".git") } },
      [join(repo, ".git")]: { insideWorkTree: false, location: { root: join(repo, ".git/.corral/runs") } },
      [plain]: { insideWorkTree: false, location: { root: join(plain, ".corral/runs") } },
    };
    for (const [cwd, want] of Object.entries(expected)) {
      const probed = await probeGit(cwd);
      expect({ cwd, probed }).toEqual({ cwd, probed: want });
      expect({ cwd, inside: probed.insideWorkTree }).toEqual({ cwd, inside: await inside(cwd) });
      expect(await journalLocation(cwd)).toEqual(want.location);
    }
  });
});
