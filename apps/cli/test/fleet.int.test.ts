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

describe("corral run --tasks with mergeBack: merge", () => {
  // Each task writes its own file, except the two "clash" tasks, which write one file two ways.
  const MERGING = ["--", "sh", "-c", 'f="$0.txt"; case "$0" in clash-*) f=clash.txt;; esac; echo "$0" > "$f" && git add -A && git -c user.name=A -c user.email=a@e.x commit -qm "do $0" && echo "<promise>COMPLETE</promise>"', "{prompt}"];
  const mergeConfig = async (repo: string) => {
    await writeFile(join(repo, "corral.config.json"), JSON.stringify({ isolation: { name: "worktree", options: { mergeBack: "merge" } } }));
    await gitIn(repo, "add", "corral.config.json");
    await gitIn(repo, "commit", "-qm", "config");
  };

  it("16 tasks at --parallel 8 (host): every merge lands on main, one after another, and the summary shows each", async () => {
    const repo = await tempRepo();
    await mergeConfig(repo);
    const names = Array.from({ length: 16 }, (_, i) => `t${String(i + 1).padStart(2, "0")}`);
    await writeFile(join(repo, "tasks.json"), JSON.stringify(names.map((name) => ({ name, prompt: name }))));
    const r = await corral(["run", "--tasks", "tasks.json", "--parallel", "8", ...MERGING], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("16/16 task(s) succeeded");
    for (const name of names) {
      expect(r.stderr).toMatch(new RegExp(`\\n  ${name}: corral/${name} (fast-forwarded|merged) into main \\([0-9a-f]{12}\\)\\.`));
      expect(await gitIn(repo, "show", `main:${name}.txt`)).toBe(name);
      expect(await gitIn(repo, "merge-base", "--is-ancestor", `corral/${name}`, "main").then(() => "contained")).toBe("contained");
    }
    expect(await gitIn(repo, "status", "--porcelain", "--untracked-files=no")).toBe("");
  }, 300_000);

  it("a merge that conflicts is a failed task with its branch kept, said in the summary; the CLI exits 1", async () => {
    const repo = await tempRepo();
    await mergeConfig(repo);
    await writeFile(join(repo, "tasks.json"), JSON.stringify(["clash-a", "clash-b", "own"].map((name) => ({ name, prompt: name }))));
    const r = await corral(["run", "--tasks", "tasks.json", "--parallel", "3", ...MERGING], repo);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain("2/3 task(s) succeeded");
    expect(r.stderr).toMatch(/stopped on a conflict in clash\.txt; nothing was changed and corral\/clash-[ab] is kept/);
    const loser = /corral\/(clash-[ab]) is kept/.exec(r.stderr)![1]!;
    expect(r.stderr).toMatch(new RegExp(`${loser}\\s+failed`));
    expect(r.stderr).toContain(`[${loser}] The run's work did not all land`);
    expect(await gitIn(repo, "log", "-1", "--format=%s", `corral/${loser}`)).toBe(`do ${loser}`);
    expect(await gitIn(repo, "show", "main:own.txt")).toBe("own");
  });
});
