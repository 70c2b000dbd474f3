import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

// Issue 18, "Budgets": `--max-time`, `--max-tokens`, `--max-cost`, the config's budget, and a fleet's.

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
const COMMIT_THEN_LINGER = ["--", "sh", "-c", 'echo "$0" > work.txt && git add work.txt && git -c user.name=A -c user.email=a@e.x commit -qm "do $0"; sleep 60', "{prompt}"];
const QUICK = ["--", "sh", "-c", 'echo "<promise>COMPLETE</promise>"', "{prompt}"];

describe("budgets on the command line", () => {
  it("--max-time stops the run cleanly: exit 3, the summary names the budget, the commit is on the branch", async () => {
    const repo = await tempRepo();
    const started = Date.now();
    const r = await corral(["run", "--prompt", "work", "--name", "timed", "--max-time", "2", "--json", ...COMMIT_THEN_LINGER], repo);
    expect(Date.now() - started).toBeLessThan(40_000);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^run incomplete: 1 iteration\(s\) in [\d.]+ s, stopped because the run's time budget \(2 s\) was reached: \d+ s spent$/m);
    expect(r.stderr).toContain("  commits: 1");
    const finished = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string }).find((e) => e.type === "run.finished");
    expect(finished).toMatchObject({ status: "incomplete", stoppedBy: { budget: "wallSeconds", limit: 2, scope: "run" }, branch: "corral/timed" });
  });

  it("(twin) a budget the run stays under: exit 0; the config's budget is used and a flag overrides it per key", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "corral.config.json"), JSON.stringify({ budget: { wallSeconds: 1, tokens: 1000 } }));
    const under = await corral(["run", "--prompt", "work", "--max-time", "60", ...QUICK], repo);
    expect(under.exitCode, under.stderr).toBe(0);
    expect(under.stderr).toContain("run succeeded");
    const fromConfig = await corral(["run", "--prompt", "work", ...COMMIT_THEN_LINGER], repo);
    expect(fromConfig.exitCode, fromConfig.stderr).toBe(3);
    expect(fromConfig.stderr).toContain("stopped because the run's time budget (1 s) was reached");
  });

  it("bad budgets are usage errors (exit 2) that say what to pass", async () => {
    const repo = await tempRepo();
    for (const [flag, value, expected] of [
      ["--max-tokens", "1.5", "--max-tokens must be a whole number"],
      ["--max-cost", "0", "--max-cost must be"],
      ["--max-time", "soon", "--max-time must be a number"],
    ] as const) {
      const r = await corral(["run", "--prompt", "work", flag, value, ...QUICK], repo);
      expect(r.exitCode, `${flag} ${value}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(expected);
    }
    await writeFile(join(repo, "corral.config.json"), JSON.stringify({ budget: { tokenz: 5 } }));
    const typo = await corral(["run", "--prompt", "work", ...QUICK], repo);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain("tokenz");
  });

  it("--fleet-max-tokens and --fleet-max-cost are checked like the run's", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "tasks.json"), JSON.stringify([{ name: "one", prompt: "one" }]));
    const r = await corral(["run", "--tasks", "tasks.json", "--fleet-max-tokens", "zero", ...QUICK], repo);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--fleet-max-tokens must be a whole number");
    const ok = await corral(["run", "--tasks", "tasks.json", "--fleet-max-tokens", "1000", "--fleet-max-cost", "5", ...QUICK], repo);
    expect(ok.exitCode, ok.stderr).toBe(0);
  });
});
