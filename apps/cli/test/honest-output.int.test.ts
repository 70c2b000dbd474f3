import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

// Issue 17, "Honest output": what a run and a fleet say at the end, once, on stderr and in --json.

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
const sh = (script: string) => ["--", "sh", "-c", script, "{prompt}"];
const COMMIT = 'echo "$0 $(date +%s%N)" >> work.txt && git add work.txt && git -c user.name=A -c user.email=a@e.x commit -qm "do $0"';
const SIGNAL = 'echo "<promise>COMPLETE</promise>"';
type Event = { type: string; name?: string; status?: string; branch?: string; commits?: unknown[]; workspace?: { kept: boolean; uncommitted?: number }; tasks?: Array<Record<string, unknown>>; error?: { code: string } };
const ndjson = (stdout: string) => stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Event);
const count = (text: string, part: string) => text.split(part).length - 1;

describe("a single run's end, said once", () => {
  it("iterations used up without the completion signal: status incomplete, exit 3, in the summary and run.finished (with branch and commits)", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--prompt", "work", "--max-iterations", "2", "--name", "busy", "--json", ...sh(COMMIT)], repo);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^run incomplete: 2 iteration\(s\) \(all of them\) in [\d.]+ s, without the completion signal$/m);
    expect(r.stderr).toContain("  commits: 2");
    expect(r.stderr).toContain("  workspace removed, branch corral/busy kept");
    const finished = ndjson(r.stdout).find((e) => e.type === "run.finished")!;
    expect(finished).toMatchObject({ status: "incomplete", branch: "corral/busy", workspace: { kept: false } });
    expect(finished.commits).toHaveLength(2);
  });

  it("a completed run prints its summary once; no [name] prefix, named or not", async () => {
    const repo = await tempRepo();
    for (const name of [["--name", "named"], []]) {
      const r = await corral(["run", "--prompt", "work", ...name, ...sh(`${COMMIT} && ${SIGNAL}`)], repo);
      expect(r.exitCode).toBe(0);
      expect(count(r.stderr, "run succeeded")).toBe(1);
      expect(count(r.stderr, "commits: 1")).toBe(1);
      expect(r.stderr).not.toMatch(/^\[/m);
    }
  });

  it("a failed run: its summary (branch, commits) and the error with its hint, each once", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--prompt", "work", "--name", "broken", ...sh("echo unique-oops-line; exit 4")], repo);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^run failed: 1 iteration\(s\)/m);
    expect(r.stderr).toContain("  branch: corral/broken");
    expect(count(r.stderr, "exited with code 4")).toBe(1);
    expect(count(r.stderr, "unique-oops-line")).toBe(2); // the agent's own line, then once in the error's last output
    expect(count(r.stderr, "hint:")).toBe(1);
  });

  it("files changed but no commit (e.g. git had no identity): the summary says so, and where they are", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--prompt", "work", "--name", "nocommit", ...sh(`echo change > new.txt && ${SIGNAL}`)], repo);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("  commits: 0");
    expect(r.stderr).toContain("  no commit: the agent changed 1 file(s) but committed none");
    expect(r.stderr).toMatch(/workspace kept: \S+nocommit/);
  });

  it("--json: a usage error is a JSON error line on stdout (and still a message on stderr, exit 2)", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--json", "--max-iterations", "zero", ...sh("true")], repo);
    expect(r.exitCode).toBe(2);
    expect(ndjson(r.stdout)).toEqual([{ type: "error", time: expect.any(String), error: { code: "E_USAGE", message: expect.stringContaining("--max-iterations"), hint: expect.any(String) } }]);
    expect(r.stderr).toContain("corral: --max-iterations");
  });
});

describe("a fleet's end", () => {
  it("failed tasks keep their branch and iterations in the table; kept work is listed; --fail-fast's skipped task and the fleet summary are events", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "tasks.json"), JSON.stringify([{ name: "good", prompt: "good" }, { name: "dirty", prompt: "dirty" }, { name: "bad", prompt: "bad" }, { name: "never", prompt: "never" }]));
    const agent = sh(`case "$0" in bad) echo broken; exit 5;; dirty) echo x > left.txt; ${SIGNAL};; *) ${COMMIT} && ${SIGNAL};; esac`);
    const r = await corral(["run", "--tasks", "tasks.json", "--parallel", "1", "--fail-fast", "--json", ...agent], repo);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^good\s+succeeded\s+command\s+1\s+1\s+corral\/good/m);
    expect(r.stderr).toMatch(/^bad\s+failed\s+command\s+1\s+0\s+corral\/bad/m);
    expect(r.stderr).toMatch(/^never\s+skipped\s+-/m);
    expect(r.stderr).toMatch(/workspaces kept \(uncommitted work, for inspection\):\n {2}dirty: \S+dirty\n/);
    expect(count(r.stderr, "exited with code 5")).toBe(1);
    const events = ndjson(r.stdout);
    expect(events.find((e) => e.type === "task.skipped")).toMatchObject({ name: "never", status: "skipped", reason: expect.stringContaining("fail-fast") });
    const fleet = events.find((e) => e.type === "fleet.finished")!;
    expect(fleet.tasks!.map((t) => [t.name, t.status, t.branch])).toEqual([
      ["good", "succeeded", "corral/good"],
      ["dirty", "succeeded", "corral/dirty"],
      ["bad", "failed", "corral/bad"],
      ["never", "skipped", undefined],
    ]);
    expect(fleet.tasks![1]).toMatchObject({ keptPath: expect.stringContaining("dirty") });
    expect(fleet.tasks![2]).toMatchObject({ iterations: 1, commits: 0, error: { code: "E_AGENT_EXECUTION" } });
  });

  it("every task used up its iterations: exit 3", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "tasks.json"), JSON.stringify([{ name: "one", prompt: "one" }]));
    const r = await corral(["run", "--tasks", "tasks.json", ...sh(COMMIT)], repo);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^one\s+incomplete\s+command\s+1\s+1/m);
  });
});
