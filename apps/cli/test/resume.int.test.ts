import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { processStartTime } from "@corral/core/plugin-kit";
import { gitIn, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });

// The agent continues what it finds: a first turn commits step 1 and leaves wip.txt without the
// completion signal (incomplete); a turn that finds wip.txt commits it and completes. `fail*`
// prompts commit a file and exit 1 the first time (no wip), and complete once that file is there.
const SCRIPT = `G="git -c user.name=Agent -c user.email=agent@example.com"
case "$0" in
  fail*) if [ -f failed.txt ]; then echo again >> failed.txt; $G commit -qam "retry $0"; echo "<promise>COMPLETE</promise>"; else echo once > failed.txt; git add failed.txt; $G commit -qm "fail $0"; exit 1; fi;;
  ok*) echo "$0" > ok.txt; git add ok.txt; $G commit -qm "ok $0"; echo "<promise>COMPLETE</promise>";;
  *) if [ -f wip.txt ]; then git add wip.txt; $G commit -qm "finish $0"; echo "<promise>COMPLETE</promise>"; else echo 1 > step1.txt; git add step1.txt; $G commit -qm "step 1 $0"; echo half > wip.txt; fi;;
esac`;
const AGENT = ["--", "sh", "-c", SCRIPT, "{prompt}"];

interface RunJson {
  id: string;
  name?: string;
  state: string;
  branch?: string;
  fleet?: string;
  resumedFrom?: string;
  workspace?: string;
  commits?: Array<{ sha: string; subject: string }>;
}
const runs = async (repo: string) => JSON.parse((await corral(["runs", "list", "--json"], repo)).stdout) as RunJson[];
const show = async (repo: string, id: string) => JSON.parse((await corral(["runs", "show", id, "--json"], repo)).stdout) as RunJson;

describe("corral run --branch-exists", () => {
  it("new (the default) says the branch it took instead; fail refuses with a hint naming --resume; reuse continues the branch", async () => {
    const repo = await tempRepo();
    expect((await corral(["run", "--prompt", "ok one", "--name", "fix-1", ...AGENT], repo)).exitCode).toBe(0);
    const first = await gitIn(repo, "rev-parse", "corral/fix-1");

    const again = await corral(["run", "--prompt", "ok two", "--name", "fix-1", ...AGENT], repo);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/The branch corral\/fix-1 exists already.*--branch-exists reuse/);
    expect(again.stderr).toContain("branch: corral/fix-1-2");

    const refused = await corral(["run", "--prompt", "ok three", "--name", "fix-1", "--branch-exists", "fail", "--json", ...AGENT], repo);
    expect(refused.exitCode).toBe(1);
    const finished = refused.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string; error?: { code: string; hint?: string } }).find((e) => e.type === "run.finished");
    expect(finished?.error?.code).toBe("E_BRANCH_EXISTS");
    expect(finished?.error?.hint).toMatch(/corral run --resume <run>.*--branch-exists reuse/);
    expect(await gitIn(repo, "branch", "--list", "corral/fix-1-3")).toBe("");

    const reused = await corral(["run", "--prompt", "ok four", "--name", "fix-1", "--branch-exists", "reuse", ...AGENT], repo);
    expect(reused.exitCode, reused.stderr).toBe(0);
    expect(await gitIn(repo, "log", "--format=%s", "corral/fix-1")).toBe("ok ok four\nok ok one\ninitial");
    expect(await gitIn(repo, "rev-parse", "corral/fix-1^")).toBe(first);

    const bad = await corral(["run", "--prompt", "x", "--branch-exists", "maybe", ...AGENT], repo);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--branch-exists must be fail, new or reuse");
  });
});

describe("corral run --resume", () => {
  it("continues an incomplete run in its kept worktree on its branch, as a new run that records resumedFrom", async () => {
    const repo = await tempRepo();
    const first = await corral(["run", "--prompt", "task", "--name", "task", ...AGENT], repo);
    expect(first.exitCode, first.stderr).toBe(3); // incomplete: no completion signal, wip.txt left
    const [original] = await runs(repo);
    expect(original).toMatchObject({ name: "task", state: "incomplete", branch: "corral/task" });
    expect(existsSync(join(original!.workspace!, "wip.txt"))).toBe(true);

    // The command agent's argv is a flag, not in the journal: given again, as any plugin option the config does not hold.
    const resumed = await corral(["run", "--resume", "task", "--json", ...AGENT], repo);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`corral: resuming run ${original!.id} (incomplete) on corral/task, in a new agent session`);
    const events = resumed.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string; runId: string; resumedFrom?: string; branch?: string; path?: string });
    const started = events.find((e) => e.type === "run.started")!;
    expect(started.resumedFrom).toBe(original!.id);
    expect(started.runId).not.toBe(original!.id);
    expect(events.find((e) => e.type === "workspace.ready")).toMatchObject({ branch: "corral/task", path: original!.workspace });
    // Its commits continue the branch; the journal says where it came from.
    expect(await gitIn(repo, "log", "--format=%s", "corral/task")).toBe("finish task\nstep 1 task\ninitial");
    const record = await show(repo, started.runId);
    expect(record).toMatchObject({ resumedFrom: original!.id, state: "succeeded", branch: "corral/task" });
    expect(record.commits?.map((c) => c.subject)).toEqual(["finish task"]);
    expect((await corral(["runs", "show", started.runId], repo)).stdout).toContain(`  resumed from: ${original!.id}\n`);
  });

  it("refuses a run that succeeded and was merged (squashed), one whose branch is gone, one still running, and an unknown one; nothing is made", async () => {
    const repo = await tempRepo();
    expect((await corral(["run", "--prompt", "ok merged", "--name", "merged", ...AGENT], repo)).exitCode).toBe(0);
    expect((await corral(["merge", "merged", "--squash"], repo)).exitCode).toBe(0);
    const merged = await corral(["run", "--resume", "merged", "--json", ...AGENT], repo);
    expect(merged.exitCode).toBe(1);
    expect(JSON.parse(merged.stdout)).toMatchObject({ error: { code: "E_RUN_MERGED" } });
    expect(merged.stderr).toMatch(/hint: Start a new run/);

    expect((await corral(["run", "--prompt", "ok gone", "--name", "gone", ...AGENT], repo)).exitCode).toBe(0);
    expect((await corral(["discard", "gone", "--force"], repo)).exitCode).toBe(0);
    const gone = await corral(["run", "--resume", "gone", "--json", ...AGENT], repo);
    expect(gone.exitCode).toBe(1);
    expect(JSON.parse(gone.stdout)).toMatchObject({ error: { code: "E_BRANCH_GONE" } });

    // A run whose orchestrator lives (this test's process stands for it) is still running.
    expect((await corral(["run", "--prompt", "task", "--name", "live", ...AGENT], repo)).exitCode).toBe(3);
    const live = (await runs(repo)).find((r) => r.name === "live")!;
    const file = join(repo, ".corral/runs", live.id, "run.json");
    const record = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...record, state: "running", pid: process.pid, pidStart: processStartTime(process.pid), host: hostname() }));
    const active = await corral(["run", "--resume", "live", "--json", ...AGENT], repo);
    expect(active.exitCode).toBe(1);
    expect(JSON.parse(active.stdout)).toMatchObject({ error: { code: "E_RUN_ACTIVE" } });
    // Its twin: the same run, its orchestrator gone, is interrupted, and resumes.
    await writeFile(file, JSON.stringify({ ...record, state: "running", pid: 999_999_999 }));
    const interrupted = await corral(["run", "--resume", "live", ...AGENT], repo);
    expect(interrupted.exitCode, interrupted.stderr).toBe(0);
    expect(interrupted.stderr).toContain("(interrupted) on corral/live");

    const unknown = await corral(["run", "--resume", "nope", "--json", ...AGENT], repo);
    expect(unknown.exitCode).toBe(2);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: "E_RUN_NOT_FOUND" } });
    const withName = await corral(["run", "--resume", "live", "--name", "other", ...AGENT], repo);
    expect(withName.exitCode).toBe(2);
    expect(await gitIn(repo, "branch", "--list", "corral/other*")).toBe("");
  });
});

describe("corral run --resume keeps the first run's network, credentials, workspace and limits, never wider", () => {
  const options = async (repo: string, id: string) => (JSON.parse(await readFile(join(repo, ".corral/runs", id, "run.json"), "utf8")) as { options: Record<string, unknown> }).options;
  const resumedId = (stdout: string) => stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string; runId: string }).find((e) => e.type === "run.started")!.runId;

  it("the first run's --network none and --pids come back on the resumed run (they were the config's default before)", async () => {
    const repo = await tempRepo();
    const first = await corral(["run", "--sandbox", "bwrap", "--network", "none", "--pids", "300", "--prompt", "task", "--name", "narrow", ...AGENT], repo);
    expect(first.exitCode, first.stderr).toBe(3);
    const resumed = await corral(["run", "--resume", "narrow", "--json", ...AGENT], repo);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await options(repo, resumedId(resumed.stdout))).toMatchObject({ network: "none", limits: { pids: 300 } });
    // What the caller passes wins.
    expect((await corral(["run", "--prompt", "task", "--name", "narrow2", "--sandbox", "bwrap", "--network", "none", ...AGENT], repo)).exitCode).toBe(3);
    const flagged = await corral(["run", "--resume", "narrow2", "--network", "host", "--json", ...AGENT], repo);
    expect(flagged.exitCode, flagged.stderr).toBe(0);
    expect(await options(repo, resumedId(flagged.stdout))).toMatchObject({ network: "host" });
  });

  it("attack: a wider network planted in the journal is not taken: the config's applies, and it says so", async () => {
    const repo = await tempRepo();
    expect((await corral(["run", "--sandbox", "bwrap", "--network", "none", "--prompt", "task", "--name", "planted", ...AGENT], repo)).exitCode).toBe(3);
    const planted = (await runs(repo)).find((r) => r.name === "planted")!;
    const file = join(repo, ".corral/runs", planted.id, "run.json");
    const record = JSON.parse(await readFile(file, "utf8")) as { options: Record<string, unknown> };
    await writeFile(file, JSON.stringify({ ...record, options: { ...record.options, network: "host" } }));
    const resumed = await corral(["run", "--resume", "planted", "--json", ...AGENT], repo);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('had a wider network than this one gets ("host")');
    const kept = await options(repo, resumedId(resumed.stdout));
    expect(kept.network).toBeUndefined();
  });
});

describe("corral run --resume with a journal an agent could have written", () => {
  it("refuses a recorded branch that is the base or the checkout's, and a prompt file outside the repository; a prompt given again resumes", async () => {
    const repo = await tempRepo();
    expect((await corral(["run", "--prompt", "task", "--name", "forged", ...AGENT], repo)).exitCode).toBe(3);
    const run = (await runs(repo))[0]!;
    const file = join(repo, ".corral/runs", run.id, "run.json");
    const record = JSON.parse(await readFile(file, "utf8")) as { options: Record<string, unknown> } & Record<string, unknown>;

    await writeFile(file, JSON.stringify({ ...record, branch: "main" }));
    const onMain = await corral(["run", "--resume", run.id, "--json", ...AGENT], repo);
    expect(onMain.exitCode).toBe(1);
    expect(JSON.parse(onMain.stdout)).toMatchObject({ error: { code: "E_RUN_NOT_RESUMABLE" } });
    expect(await gitIn(repo, "log", "--format=%s", "main")).toBe("initial");

    const { prompt: _p, ...options } = record.options;
    await writeFile(file, JSON.stringify({ ...record, options: { ...options, promptFile: "/etc/passwd" } }));
    const outside = await corral(["run", "--resume", run.id, "--json", ...AGENT], repo);
    expect(outside.exitCode).toBe(1);
    expect(JSON.parse(outside.stdout)).toMatchObject({ error: { code: "E_RUN_NOT_RESUMABLE", message: expect.stringContaining("not inside the repository") } });
    // The twin: the prompt given again, the same run resumes on its own branch.
    const again = await corral(["run", "--resume", run.id, "--prompt", "task", ...AGENT], repo);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await gitIn(repo, "log", "--format=%s", "corral/forged")).toBe("finish task\nstep 1 task\ninitial");
  });
});

describe("corral run --retry-failed", () => {
  it("runs only the fleet's failed tasks again, each continuing its own branch, and says which", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "tasks.json"), JSON.stringify([{ name: "good", prompt: "ok good" }, { name: "bad", prompt: "fail bad" }]));
    const fleet = await corral(["run", "--tasks", "tasks.json", "--sandbox", "bwrap", "--network", "none", ...AGENT], repo);
    expect(fleet.exitCode).toBe(1);
    const tasks = await runs(repo);
    const fleetId = tasks[0]!.fleet!;
    expect(tasks.map((t) => [t.name, t.state]).sort()).toEqual([["bad", "failed"], ["good", "succeeded"]]);
    const failedRun = tasks.find((t) => t.name === "bad")!;

    const retry = await corral(["run", "--retry-failed", fleetId.slice(0, -1), "--json", ...AGENT], repo);
    expect(retry.exitCode, retry.stderr).toBe(0);
    expect(retry.stderr).toContain(`corral: retrying 1 task(s) of fleet ${fleetId}:\n  bad  failed  (run ${failedRun.id})`);
    const [plan] = retry.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string });
    expect(plan).toEqual({ type: "retry", fleet: fleetId, tasks: [{ name: "bad", runId: failedRun.id, state: "failed", branch: "corral/bad" }] });
    // Only bad ran again, on its own branch, after its failed commit.
    const after = await runs(repo);
    expect(after.filter((r) => r.name === "good")).toHaveLength(1);
    expect(after.filter((r) => r.name === "bad").map((r) => r.state)).toEqual(["succeeded", "failed"]);
    expect(await gitIn(repo, "log", "--format=%s", "corral/bad")).toBe("retry fail bad\nfail fail bad\ninitial");
    // With the fleet's own --network none, as a resumed run keeps it.
    const again = after.find((r) => r.name === "bad" && r.state === "succeeded")!;
    expect((JSON.parse(await readFile(join(repo, ".corral/runs", again.id, "run.json"), "utf8")) as { options: unknown }).options).toMatchObject({ network: "none", sandbox: { name: "bwrap" } });

    // Every task of the retried fleet ended well: nothing to retry.
    const retryFleet = after.find((r) => r.name === "bad" && r.state === "succeeded")!.fleet!;
    const nothing = await corral(["run", "--retry-failed", retryFleet, "--json", ...AGENT], repo);
    expect(nothing.exitCode).toBe(2);
    expect(JSON.parse(nothing.stdout)).toMatchObject({ error: { code: "E_NOTHING_TO_RETRY" } });
    expect(nothing.stderr).toContain("--include-incomplete");
  });
});
