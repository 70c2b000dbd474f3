import { existsSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
// Each task prints two lines (the second after a pause, and an escape sequence in it), commits, and is done.
const agent = (pause: number) => ["--", "sh", "-c", `echo "hello from $0"; sleep ${pause}; printf "bye \\033]0;pwned\\007 from %s\\n" "$0"; echo "$0" > "$0.txt" && git add -A && git -c user.name=A -c user.email=a@e.x commit -qm "do $0" && echo "<promise>COMPLETE</promise>"`, "{prompt}"];
const AGENT = agent(0);

async function fleetOf(repo: string, names: string[]) {
  await writeFile(join(repo, "tasks.json"), JSON.stringify(names.map((name) => ({ name, prompt: name }))));
}

describe("corral runs: fleets", () => {
  it("groups a fleet's tasks with counts per state; logs --fleet prefixes every line by its task, inert", async () => {
    const repo = await tempRepo();
    await fleetOf(repo, ["alpha", "beta"]);
    const r = await corral(["run", "--tasks", "tasks.json", "--isolation", "worktree", ...AGENT], repo);
    expect(r.exitCode).toBe(0);

    const fleets = await corral(["runs", "fleets", "--json"], repo);
    expect(fleets.exitCode).toBe(0);
    const [fleet] = JSON.parse(fleets.stdout) as Array<{ id: string; state: string; tasks: number; counts: Record<string, number>; runs: Array<{ name: string }> }>;
    expect(fleet).toMatchObject({ state: "finished", tasks: 2, counts: { succeeded: 2 } });
    expect(fleet!.runs.map((t) => t.name).sort()).toEqual(["alpha", "beta"]);
    expect(existsSync(join(repo, ".corral", "runs", "fleets", `${fleet!.id}.json`))).toBe(true);

    const list = await corral(["runs"], repo);
    expect(list.stdout).toMatch(new RegExp(`Fleets.*\\n.*\\n${fleet!.id}\\s+finished\\s+\\S+ \\S+\\s+2\\s+2 succeeded`));

    const one = await corral(["runs", "fleets", fleet!.id.slice(0, 8)], repo);
    expect(one.stdout).toMatch(/alpha/);

    const logs = await corral(["runs", "logs", "--fleet", fleet!.id.slice(0, 8)], repo);
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toMatch(/^\[alpha\] .*hello from alpha/m);
    expect(logs.stdout).toMatch(/^\[beta\] .*hello from beta/m);
    // The task's escape sequence is shown, never sent to the terminal.
    expect(logs.stdout).not.toContain("\u001b]0;");
    expect(logs.stdout).toMatch(/\[alpha\] .*bye .*pwned.* from alpha/);

    const unknown = await corral(["runs", "logs", "--fleet", "nope"], repo);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('No fleet "nope"');
  });

  it("logs --fleet -f follows a running fleet: tasks that start later too, and ends when the fleet does", async () => {
    const repo = await tempRepo();
    await fleetOf(repo, ["first", "second"]);
    // One at a time, so the second task starts only after the follower is already running.
    const fleetRun = execa("node", [BIN, "run", "--tasks", "tasks.json", "--parallel", "1", "--isolation", "worktree", ...agent(2)], { cwd: repo, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
    const fleetsDir = join(repo, ".corral", "runs", "fleets");
    for (let i = 0; i < 300 && !(existsSync(fleetsDir) && readdirSync(fleetsDir).some((f) => f.endsWith(".json"))); i++) await sleep(50);
    const id = readdirSync(fleetsDir).find((f) => f.endsWith(".json"))!.slice(0, -5);
    const follow = await corral(["runs", "logs", "--fleet", id, "-f"], repo);
    expect((await fleetRun).exitCode).toBe(0);
    expect(follow.exitCode).toBe(0);
    expect(follow.stdout).toMatch(/^\[first\] .*hello from first/m);
    expect(follow.stdout).toMatch(/^\[second\] .*bye .* from second/m);
    const running = await corral(["runs", "fleets", id, "--json"], repo);
    expect(JSON.parse(running.stdout)).toMatchObject({ state: "finished", counts: { succeeded: 2 } });
  }, 60_000);
});
