import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTAINER_TEST_IMAGE, containerEngineReady, gitIn, hasCommand, requireTool, tempDir, tempRepo, waitFor } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const PTY = fileURLToPath(new URL("./fixtures/pty-drive.py", import.meta.url));
const SECRET = "CORRAL_SHELL_TEST_HOST_SECRET";
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1", [SECRET]: "must-not-leak" } });
/** The built CLI in a pseudo-terminal: each step waits for a regex, then types. */
const inPty = (steps: Array<[string, string]>, args: string[], cwd: string, timeoutS = 60) =>
  execa("python3", [PTY, JSON.stringify(steps), String(timeoutS), "--", "node", BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1", TERM: "xterm-256color", [SECRET]: "must-not-leak" } });

// The unattended run: one commit, then done.
const AGENT = ["sh", "-c", 'echo one > one.txt && git add one.txt && git -c user.name=A -c user.email=a@e.x commit -qm "agent commit" && echo "<promise>COMPLETE</promise>"', "{prompt}"];

async function finishedRun(sandbox: string) {
  const repo = await tempRepo();
  const config = join(await tempDir(), "corral.config.json");
  const sandboxRef = sandbox === "host" || sandbox === "bwrap" ? { name: sandbox } : { name: sandbox, options: { image: CONTAINER_TEST_IMAGE } };
  await writeFile(config, JSON.stringify({ agent: { name: "command", options: { argv: AGENT } }, sandbox: sandboxRef, isolation: { name: "worktree" } }));
  const r = await corral(["run", "--config", config, "--name", "task", "--prompt", "work"], repo);
  expect(r.exitCode, r.stderr).toBe(0);
  return { repo, config };
}

async function ready(sandbox: string): Promise<{ ready: boolean; reason: string }> {
  if (sandbox === "host") return { ready: true, reason: "" };
  if (sandbox === "bwrap") return { ready: await hasCommand("bwrap"), reason: "bwrap is not installed (apt-get install bubblewrap)" };
  return containerEngineReady(sandbox as "docker" | "podman");
}

describe("corral shell <run>", () => {
  for (const sandbox of ["host", "bwrap", "podman", "docker"]) {
    it(`${sandbox}: -- git log runs on the run's worktree with the run's env (nothing of the host's); typing into sh in a pty commits onto the run's branch`, async (ctx) => {
      const r = await ready(sandbox);
      if (!requireTool(r.ready, r.reason)) ctx.skip();
      const { repo, config } = await finishedRun(sandbox);
      const log = await corral(["shell", "task", "--config", config, "--", "git", "log", "--format=%s"], repo);
      expect(log.exitCode, log.stderr).toBe(0);
      expect(log.stdout).toContain("agent commit");
      const env = await corral(["shell", "task", "--config", config, "--", "sh", "-c", `echo "secret=[$${SECRET}] run=[$CORRAL_RUN_ID]"`], repo);
      expect(env.stdout).toContain("secret=[]");
      expect(env.stdout).toMatch(/run=\[[0-9a-f-]+\]/);

      // A person at a terminal: sh's prompt, a command typed, a commit made, exit.
      const typed = await inPty([["[$#]$", "echo typed > typed.txt && git add typed.txt && git -c user.name=H -c user.email=h@e.x commit -qm typed-in-shell; exit\r"]], ["shell", "task", "--config", config], repo);
      expect(typed.exitCode, `${typed.stdout}\n${typed.stderr}`).toBe(0);
      expect(await gitIn(repo, "log", "--format=%s", "corral/task")).toBe("typed-in-shell\nagent commit\ninitial");
      // A command that fails is the session's result: exit 3 (incomplete), the branch as it was.
      expect((await corral(["shell", "task", "--config", config, "--", "sh", "-c", "exit 7"], repo)).exitCode).toBe(3);
    }, 180_000);
  }

  it("refuses a merged run and a discarded one (typed errors with a hint); --json gives the result", async () => {
    const { repo, config } = await finishedRun("host");
    const json = await corral(["shell", "task", "--config", config, "--json", "--", "true"], repo);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: "succeeded", branch: "corral/task", commits: [] });
    expect((await corral(["merge", "task"], repo)).exitCode).toBe(0);
    const merged = await corral(["shell", "task", "--config", config, "--", "true"], repo);
    expect(merged.exitCode).toBe(1);
    expect(merged.stderr).toMatch(/merged into/);
    expect(merged.stderr).toContain("hint:");

    const other = await finishedRun("host");
    expect((await corral(["discard", "task", "--force"], other.repo)).exitCode).toBe(0);
    const gone = await corral(["shell", "task", "--config", other.config, "--", "true"], other.repo);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toContain("hint:");
    const unknown = await corral(["shell", "nope", "--", "true"], repo);
    expect(unknown.exitCode).toBe(2);
  }, 120_000);

  it("refuses a run that is still running (E_RUN_ACTIVE); once it ended, the shell opens", async () => {
    const repo = await tempRepo();
    const config = join(await tempDir(), "corral.config.json");
    await writeFile(config, JSON.stringify({ agent: { name: "command", options: { argv: ["sh", "-c", 'sleep 4; echo "<promise>COMPLETE</promise>"', "{prompt}"] } }, isolation: { name: "worktree" } }));
    const live = execa("node", [BIN, "run", "--config", config, "--name", "slow", "--prompt", "wait"], { cwd: repo, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
    await waitFor(async () => (await corral(["runs", "show", "slow"], repo)).stdout.includes("state: running"), 20_000, "the run to be running");
    const refused = await corral(["shell", "slow", "--config", config, "--", "true"], repo);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("is still running");
    expect(refused.stderr).toContain("hint:");
    expect((await live).exitCode).toBe(0);
    expect((await corral(["shell", "slow", "--config", config, "--", "true"], repo)).exitCode).toBe(0);
  }, 60_000);
});
