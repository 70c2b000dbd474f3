import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gitIn, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
const AGENT = ["--", "sh", "-c", '[ "$0" = fail ] && exit 5; echo "$0" > "$0.txt" && git add -A && git -c user.name=A -c user.email=a@e.x commit -qm "do $0" && echo "<promise>COMPLETE</promise>"', "{prompt}"];

describe("corral run --tasks", () => {
  it("runs every task on its own branch, prints the summary table, NDJSON names each event's task", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "tasks.yaml"), "- name: alpha\n  prompt: alpha\n- name: beta\n  prompt: beta\n- name: gamma\n  prompt: gamma\n");
    const r = await corral(["run", "--tasks", "tasks.yaml", "--parallel", "2", "--isolation", "worktree", "--json", ...AGENT], repo);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/TASK\s+STATUS\s+AGENT\s+ITER\s+COMMITS\s+BRANCH\s+TOKENS\s+COST\s+DURATION/);
    expect(r.stderr).toMatch(/alpha\s+succeeded\s+command\s+1\s+1\s+corral\/alpha/);
    expect(r.stderr).toContain("3/3 task(s) succeeded");
    for (const name of ["alpha", "beta", "gamma"]) expect(await gitIn(repo, "log", "--format=%s", "-1", `corral/${name}`)).toBe(`do ${name}`);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { name?: string; type: string; succeeded?: number });
    // The fleet's own last event (docs/fleets.md) is the fleet's, not a task's; every other event names its task.
    expect(events.at(-1)).toMatchObject({ type: "fleet.finished", succeeded: 3 });
    const taskEvents = events.slice(0, -1);
    expect(taskEvents.every((e) => ["alpha", "beta", "gamma"].includes(e.name!))).toBe(true);
    expect(events.filter((e) => e.type === "run.finished")).toHaveLength(3);
  });

  it("exits 1 when a task fails, and still runs the others", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "tasks.json"), JSON.stringify([{ name: "ok", prompt: "ok" }, { name: "fail", prompt: "fail" }]));
    const r = await corral(["run", "--tasks", "tasks.json", "--isolation", "worktree", ...AGENT], repo);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/ok\s+succeeded/);
    expect(r.stderr).toMatch(/fail\s+failed/);
    expect(r.stderr).toContain("1/2 task(s) succeeded");
    expect(r.stderr).toContain("[fail] The command agent exited with code 5");
  });

  it("--tasks-cmd takes the list from a command's JSON", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--tasks-cmd", `echo '[{"name":"from-cmd","prompt":"from-cmd"}]'`, "--isolation", "worktree", ...AGENT], repo);
    expect(r.exitCode).toBe(0);
    expect(await gitIn(repo, "log", "--format=%s", "-1", "corral/from-cmd")).toBe("do from-cmd");
  });

  it("a bad tasks file is rejected whole with each problem's line, exit 2, nothing started", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "tasks.yaml"), "- name: a\n  prompt: x\n- name: a\n  prompt: y\n- name: b\n");
    const r = await corral(["run", "--tasks", "tasks.yaml", ...AGENT], repo);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/tasks\.yaml:3 \(task 2\): the name "a" is already used/);
    expect(r.stderr).toMatch(/tasks\.yaml:5 \(task 3\): give exactly one of prompt or promptFile/);
    expect(await gitIn(repo, "branch", "--list", "corral/*")).toBe("");
  });

  it("an unknown plugin is one usage error (exit 2) before any task starts", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "tasks.json"), JSON.stringify([{ name: "a", prompt: "a" }, { name: "b", prompt: "b" }]));
    const r = await corral(["run", "--tasks", "tasks.json", "--sandbox", "no-such-sandbox", ...AGENT], repo);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.match(/Unknown sandbox "no-such-sandbox"/g)).toHaveLength(1);
    expect(await gitIn(repo, "branch", "--list", "corral/*")).toBe("");
  });

  it("refuses per-run flags that a fleet cannot take", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--tasks", "t.json", "--prompt", "x", ...AGENT], repo);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--prompt does not apply to a fleet");
    const p = await corral(["run", "--parallel", "3", "--prompt", "x", ...AGENT], repo);
    expect(p.exitCode).toBe(2);
    expect(p.stderr).toContain("--parallel only applies to fleets");
  });
});
