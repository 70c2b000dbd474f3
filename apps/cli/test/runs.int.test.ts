import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
const AGENT = ["--", "sh", "-c", 'echo "$(date +%s%N)" >> work.txt; git add work.txt; git -c user.name=A -c user.email=a@example.com commit -qm work; echo "<promise>COMPLETE</promise>"', "{prompt}"];

describe("corral runs", () => {
  it("`corral runs <id>` is `corral runs show <id>`, and a released worktree shows as removed", async () => {
    const repo = await tempRepo();
    expect((await corral(["run", "--prompt", "p", "--name", "shortcut", ...AGENT], repo)).exitCode).toBe(0);
    const show = await corral(["runs", "show", "shortcut"], repo);
    const short = await corral(["runs", "shortcut"], repo);
    expect(show.exitCode).toBe(0);
    expect(short.stdout).toBe(show.stdout);
    expect(show.stdout).toMatch(/workspace: .*\.corral\/worktrees\/shortcut \(removed\)/);
    expect(show.stdout).toContain("branch: corral/shortcut");
  });

  it("a reader that stops early (`runs logs <id> | head -1`) ends the command quietly with exit 0; twin: the whole log when read to the end", async () => {
    const repo = await tempRepo();
    expect((await corral(["run", "--prompt", "p", "--name", "long", "--", "sh", "-c", 'seq 1 200000; echo "<promise>COMPLETE</promise>"'], repo)).exitCode).toBe(0);
    const piped = await execa("bash", ["-c", `set -o pipefail; node "$0" runs logs long | head -1`, BIN], { cwd: repo, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
    expect(piped.stderr).toBe("");
    expect(piped.exitCode).toBe(0);
    expect(piped.stdout).toMatch(/^# corral run long /);
    const whole = await corral(["runs", "logs", "long"], repo);
    expect(whole.exitCode).toBe(0);
    expect(whole.stdout).toContain("\n200000\n");
  });

  it("an in-place run's workspace (the checkout) is not marked removed; an unknown run is a usage error", async () => {
    const repo = await tempRepo();
    expect((await corral(["run", "--isolation", "in-place", "--prompt", "p", "--name", "here", ...AGENT], repo)).exitCode).toBe(0);
    const show = await corral(["runs", "here"], repo);
    expect(show.stdout).toContain(`workspace: ${repo}\n`);
    const unknown = await corral(["runs", "no-such-run"], repo);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/no-such-run/);
  });

  it("a journal that cannot be read is an error (exit 1, E_JOURNAL_UNREADABLE's message), never an empty result with exit 0", async () => {
    const repo = await tempRepo();
    expect((await corral(["run", "--isolation", "in-place", "--prompt", "p", "--name", "lost", ...AGENT], repo)).exitCode).toBe(0);
    // Twin: readable, the events are there.
    const shown = await corral(["runs", "show", "lost", "--json"], repo);
    expect(shown.exitCode).toBe(0);
    expect((JSON.parse(shown.stdout) as { events: unknown[] }).events.length).toBeGreaterThan(3);
    const root = join(repo, ".corral", "runs");
    const dir = join(root, readdirSync(root)[0]!);
    rmSync(join(dir, "events.jsonl"));
    for (const args of [["runs", "show", "lost", "--json"], ["runs", "logs", "lost", "--json"]]) {
      const r = await corral(args, repo);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/journal .*events\.jsonl is missing/);
      expect(r.stderr).toContain("hint:");
    }
    mkdirSync(join(dir, "events.jsonl")); // there, but not a file: EISDIR
    const logs = await corral(["runs", "logs", "lost", "--json"], repo);
    expect(logs.exitCode).toBe(1);
    expect(logs.stderr).toMatch(/cannot be read \(EISDIR\)/);
    const text = await corral(["runs", "logs", "lost"], repo); // the plain-text log is rendered from events.jsonl
    expect(text.exitCode).toBe(1);
    expect(text.stderr).toMatch(/events\.jsonl cannot be read \(EISDIR\)/);
  });
});
