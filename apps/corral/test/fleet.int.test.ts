import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bwrap } from "@corral/sandbox-bwrap";
import { worktree } from "@corral/worktree-git";
import { agentEventsOf, commandAgent, UsageError, type Agent } from "@corral/core";
import { gitIn, hasCommand, requireTool, tempRepo } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { parseTasks, runMany, type Task, type TaskOutcome } from "../src/index.js";

// Each task's agent writes a file named after the task (its prompt) and commits it.
const agent = commandAgent.configure({
  argv: ["sh", "-c", 'echo "$0" > "task-$0.txt" && git add -A && git -c user.name=Agent -c user.email=a@example.com commit -qm "task $0" && echo "<promise>COMPLETE</promise>"', "{prompt}"],
});
const tasks = (n: number): Task[] => Array.from({ length: n }, (_, i) => ({ name: `t${String(i + 1).padStart(2, "0")}`, prompt: `t${String(i + 1).padStart(2, "0")}` }));

async function fleetOf16(sandbox: ReturnType<typeof bwrap> | "host") {
  const repo = await tempRepo();
  const streamed: TaskOutcome[] = [];
  const before = process.resourceUsage().maxRSS;
  const fleet = runMany(tasks(16), { cwd: repo, config: false, agent, sandbox, isolation: worktree(), concurrency: 8, handleProcessSignals: false, maxIterations: 2 });
  for await (const outcome of fleet) streamed.push(outcome);
  const results = await fleet.results;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.info(`[fleet ${typeof sandbox === "string" ? sandbox : "bwrap"}] 16 tasks at concurrency 8: orchestrator peak RSS ${peakRssMb.toFixed(0)} MB (before: ${(before / 1024).toFixed(0)} MB)`);

  expect(streamed.map((o) => o.name).sort()).toEqual(results.map((o) => o.name).sort());
  expect(results.map((o) => [o.name, o.status, o.error?.message])).toEqual(tasks(16).map((t) => [t.name, "succeeded", undefined]));
  for (const outcome of results) {
    const branch = `corral/${outcome.name}`;
    expect(outcome.result!.branch).toBe(branch);
    expect(outcome.result!.commits.map((c) => c.subject)).toEqual([`task ${outcome.name}`]);
    // Exactly its own commit on its own branch.
    expect(await gitIn(repo, "log", "--format=%s", `main..${branch}`)).toBe(`task ${outcome.name}`);
    expect(await gitIn(repo, "show", "--name-only", "--format=", branch)).toBe(`task-${outcome.name}.txt`);
  }
  expect((await gitIn(repo, "branch", "--list", "corral/*")).split("\n")).toHaveLength(16);
  expect((await gitIn(repo, "worktree", "list")).split("\n")).toHaveLength(1);
  const leftovers = readdirSync(join(repo, ".corral", "worktrees"), { withFileTypes: true }).filter((e) => e.isDirectory());
  expect(leftovers).toEqual([]);
}

describe("runMany", () => {
  it("16 tasks at concurrency 8 in the host sandbox: all succeed, 16 branches, no worktree left", async () => {
    await fleetOf16("host");
  });

  it("16 tasks at concurrency 8 in bwrap", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)")) ctx.skip();
    await fleetOf16(bwrap());
  });

  it("a failed task does not stop the others; failFast stops the rest", async () => {
    const repo = await tempRepo();
    const mixed = commandAgent.configure({ argv: ["sh", "-c", '[ "$0" = bad ] && { echo broken; exit 9; }; sleep 0.3; echo ok; echo "<promise>COMPLETE</promise>"', "{prompt}"] });
    const list: Task[] = [{ name: "bad", prompt: "bad" }, { name: "a", prompt: "a" }, { name: "b", prompt: "b" }, { name: "c", prompt: "c" }];
    const all = await runMany(list, { cwd: repo, config: false, agent: mixed, isolation: "in-place", concurrency: 1, handleProcessSignals: false }).results;
    expect(all.map((o) => o.status)).toEqual(["failed", "succeeded", "succeeded", "succeeded"]);
    expect(all[0]!.error!.code).toBe("E_AGENT_EXECUTION");
    const fast = await runMany(list, { cwd: repo, config: false, agent: mixed, isolation: "in-place", concurrency: 1, failFast: true, handleProcessSignals: false }).results;
    expect(fast.map((o) => o.status)).toEqual(["failed", "skipped", "skipped", "skipped"]);
  });

  it("a fleet budget starts no more tasks once reached and stops the running ones cleanly, their work kept", async () => {
    const repo = await tempRepo();
    // Each task commits, then reports 100 tokens every 0.1 s for half a minute.
    const spender: Agent = {
      name: "spender",
      command: (input) => ({
        argv: ["sh", "-c", 'echo "$0" > "task-$0.txt" && git add -A && git -c user.name=Agent -c user.email=a@example.com commit -qm "task $0"; i=0; while [ $i -lt 300 ]; do echo "usage 100"; sleep 0.1; i=$((i+1)); done', input.prompt],
      }),
      parser: () => ({ parse: (line) => (line === "usage 100" ? [{ type: "usage", usage: { inputTokens: 0, outputTokens: 100, cacheReadTokens: 0, cacheWriteTokens: 0 } }] : []) }),
    };
    const started = Date.now();
    const results = await runMany(tasks(4), { cwd: repo, config: false, agent: spender, isolation: worktree(), concurrency: 2, handleProcessSignals: false, fleetBudget: { tokens: 1000 } }).results;
    expect(Date.now() - started).toBeLessThan(25_000);
    const ran = results.filter((o) => o.status === "incomplete");
    expect(ran).toHaveLength(2);
    for (const outcome of ran) {
      expect(outcome.result!.stoppedBy).toMatchObject({ budget: "tokens", limit: 1000, scope: "fleet" });
      expect(outcome.result!.commits.map((c) => c.subject)).toEqual([`task ${outcome.name}`]);
    }
    expect(results.filter((o) => o.status === "skipped").map((o) => o.name)).toHaveLength(2);
    // (twin) a budget the fleet stays under changes nothing
    const quiet: Agent = { ...spender, command: (input) => ({ argv: ["sh", "-c", 'echo "usage 100"; echo "<promise>COMPLETE</promise>"', input.prompt] }), parser: () => ({ parse: (line) => (line === "usage 100" ? [{ type: "usage", usage: { inputTokens: 0, outputTokens: 100, cacheReadTokens: 0, cacheWriteTokens: 0 } }] : [{ type: "text", text: line }]) }) };
    const under = await runMany(tasks(4), { cwd: repo, config: false, agent: quiet, isolation: "in-place", concurrency: 2, handleProcessSignals: false, fleetBudget: { tokens: 1000 } }).results;
    expect(under.map((o) => o.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
  });

  it("aborting stops every task and keeps every branch", async () => {
    const repo = await tempRepo();
    const slow = commandAgent.configure({ argv: ["sh", "-c", 'echo "$0" > f.txt; git add -A; git -c user.name=A -c user.email=a@e.x commit -qm "$0"; echo committed; sleep 30', "{prompt}"] });
    const controller = new AbortController();
    const fleet = runMany(tasks(3), { cwd: repo, config: false, agent: slow, isolation: worktree(), concurrency: 3, signal: controller.signal, handleProcessSignals: false, onEvent: (e) => { if (e.type === "agent" || e.type === "agent.output") setTimeout(() => controller.abort(), 300); } });
    const all = await fleet.results;
    expect(all.map((o) => o.status)).toEqual(["aborted", "aborted", "aborted"]);
    expect((await gitIn(repo, "branch", "--list", "corral/*")).split("\n").map((b) => b.trim()).sort()).toEqual(["corral/t01", "corral/t02", "corral/t03"]);
  });
});

describe("runMany beside the user's own git", () => {
  it("8 tasks in bwrap, each making 3 commits while the user runs gc (--prune=now too), pack-refs, gc --auto and commits in the checkout: every task has its 3 commits", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)")) ctx.skip();
    const repo = await tempRepo();
    // Plenty of loose objects, so `gc --auto` has something to do.
    await gitIn(repo, "config", "gc.auto", "1");
    // After each commit the agent waits for the test's go-<n>: the user's maintenance runs between its commits.
    const step = (n: number) => `echo "$0 $n" > "$0-${n}.txt" && git add -A && git -c user.name=Agent -c user.email=a@example.com commit -qm "$0 step ${n}" && echo "done-${n}" && while [ ! -e "go-${n}" ]; do sleep 0.1; done && rm -f "go-${n}"`;
    const threeCommits = commandAgent.configure({ argv: ["sh", "-c", `${[1, 2, 3].map(step).join(" && ")} && echo "<promise>COMPLETE</promise>"`, "{prompt}"] });
    const workspaces = new Map<string, string>();
    // One user at the keyboard: the maintenance of all eight tasks' pauses runs one command at a time.
    let user: Promise<unknown> = Promise.resolve();
    const userCommands: string[][] = [];
    const userFailures: string[] = [];
    const fleet = runMany(tasks(8), {
      cwd: repo,
      config: false,
      agent: threeCommits,
      sandbox: bwrap(),
      isolation: worktree(),
      concurrency: 8,
      idleTimeout: 300,
      handleProcessSignals: false,
      onEvent: (event) => {
        if (event.type === "workspace.ready") workspaces.set(event.name!, event.path);
        const done = agentEventsOf(event).find((e) => e.type === "text" && e.text.startsWith("done-"));
        if (done?.type !== "text") return;
        const n = done.text.slice("done-".length);
        const workspace = workspaces.get(event.name!)!;
        // --prune=now also deletes the temporary pack another task's release is fetching into the repository.
        const commands = [["gc", "--quiet", "--prune=now"], ["gc", "--quiet"], ["pack-refs", "--all"], ["gc", "--auto", "--quiet"], ["commit", "-q", "--allow-empty", "-m", `user after ${event.name} ${n}`]];
        user = user.then(async () => {
          for (const command of commands) {
            // The user's own git may lose a lock race with a run's release (git's own rule); it never stops the agent.
            await gitIn(repo, ...command).catch((error: unknown) => userFailures.push(`${command.join(" ")}: ${String(error)}`));
            userCommands.push(command);
          }
          await writeFile(join(workspace, `go-${n}`), "");
        });
      },
    });
    const results = await fleet.results;
    await user;
    expect(userCommands).toHaveLength(8 * 3 * 5);
    if (userFailures.length) console.info(`[fleet beside the user] the user's git lost ${userFailures.length} lock race(s): ${userFailures.join("; ")}`);
    expect(results.map((o) => [o.name, o.status, o.error?.message])).toEqual(tasks(8).map((t) => [t.name, "succeeded", undefined]));
    for (const outcome of results) {
      const subjects = [1, 2, 3].map((n) => `${outcome.name} step ${n}`);
      expect(outcome.result!.commits.map((c) => c.subject)).toEqual(subjects);
      expect((await gitIn(repo, "log", "--reverse", "--format=%s", `corral/${outcome.name}`, "--not", "main")).split("\n")).toEqual(subjects);
    }
    expect(await gitIn(repo, "rev-list", "--count", "main")).toBe(String(1 + 8 * 3));
    expect(await gitIn(repo, "fsck", "--no-dangling")).toBe("");
  }, 300_000);
});

describe("runMany: bad starts", () => {
  it("an already-aborted signal runs no task", async () => {
    const repo = await tempRepo();
    const controller = new AbortController();
    controller.abort();
    const marker = commandAgent.configure({ argv: ["sh", "-c", 'touch "ran-$0"', "{prompt}"] });
    const all = await runMany(tasks(3), { cwd: repo, config: false, agent: marker, isolation: "in-place", signal: controller.signal, handleProcessSignals: false }).results;
    expect(all.map((o) => o.status)).toEqual(["aborted", "aborted", "aborted"]);
    expect(readdirSync(repo).filter((f) => f.startsWith("ran-"))).toEqual([]);
  });

  it("a config that cannot load rejects results and ends the iterator with the error", async () => {
    const repo = await tempRepo();
    const fleet = runMany(tasks(2), { cwd: repo, config: join(repo, "missing.json"), agent, handleProcessSignals: false });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const outcome of fleet) seen.push(outcome.name);
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "E_CONFIG" });
    expect(seen).toEqual([]);
    await expect(fleet.results).rejects.toMatchObject({ code: "E_CONFIG" });
  });

  it("an unknown plugin in any task is a usage error before any task starts", async () => {
    const repo = await tempRepo();
    const list: Task[] = [{ name: "ok", prompt: "ok" }, { name: "bad", prompt: "bad", sandbox: "no-such-sandbox" }];
    await expect(runMany(list, { cwd: repo, config: false, agent, isolation: "in-place", handleProcessSignals: false }).results).rejects.toMatchObject({ code: "E_PLUGIN_NOT_FOUND" });
    expect(readdirSync(repo).filter((f) => f.startsWith("task-"))).toEqual([]);
  });

  it("refuses a shared runId", () => {
    expect(() => runMany(tasks(2), { runId: "same" } as never)).toThrow(/own run id/);
  });
});

describe("task lists", () => {
  it("are rejected whole, with the line of each problem", () => {
    const yaml = ["- name: ok", "  prompt: fine", "- name: ok", "  prompt: again", "- prompt: no name", "- name: both", "  prompt: a", "  promptFile: b.md", "- name: bad name!", "  prompt: x", "  maxIterations: -1"].join("\n");
    let error: UsageError | undefined;
    try { parseTasks(yaml, "tasks.yaml"); } catch (e) { error = e as UsageError; }
    expect(error).toBeInstanceOf(UsageError);
    const message = error!.message;
    expect(message).toContain("nothing was started");
    expect(message).toMatch(/tasks\.yaml:3 \(task 2\): the name "ok" is already used by task 1/);
    expect(message).toMatch(/tasks\.yaml:5 \(task 3\): name: /);
    expect(message).toMatch(/tasks\.yaml:6 \(task 4\): give exactly one of prompt or promptFile/);
    expect(message).toMatch(/tasks\.yaml:9 \(task 5\): name: use letters/);
    expect(message).toMatch(/tasks\.yaml:11 \(task 5\): maxIterations: /);
  });

  it("JSON works too, and syntax errors name the line", () => {
    expect(parseTasks('[{"name":"a","prompt":"x","promptArgs":{"k":"v"}}]', "t.json")).toEqual([{ name: "a", prompt: "x", promptArgs: { k: "v" } }]);
    expect(() => parseTasks('[{"name": "a",\n  "prompt": }]', "t.json")).toThrow(/t\.json:2/);
    expect(() => parseTasks("{}", "t.json")).toThrow(/must be a list/);
    expect(() => parseTasks("[]", "t.json")).toThrow(/empty/);
  });
});
