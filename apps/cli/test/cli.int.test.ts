import { existsSync, readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gitIn, hasCommand, processesMatching, requireTool, tempDir, tempRepo, waitFor } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { agentEventsOf, type RunEvent } from "@corral/core";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
  execa("node", [BIN, ...args], { cwd: options.cwd ?? tmpdir(), reject: false, stdin: "ignore", env: { NO_COLOR: "1", ...options.env } });

/** Everything under a folder (names only), to prove bad input created nothing. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();
}

const AGENT = ["--", "sh", "-c", 'echo "prompt was: $0"; echo "change $(date +%s%N)" >> work.txt; git add work.txt; git -c user.name=Agent -c user.email=agent@example.com commit -qm "agent: add work"; echo "<promise>COMPLETE</promise>"', "{prompt}"];

describe("corral run (end to end)", () => {
  it("runs the command agent in a temp repo: summary on stderr, NDJSON on stdout", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--isolation", "in-place", "--prompt", "write it", "--max-iterations", "3", "--name", "e2e", "--json", ...AGENT], { cwd: repo });
    expect(r.stderr).toContain("run succeeded: 1 iteration(s)");
    expect(r.stderr).toContain("completion signal: <promise>COMPLETE</promise>");
    expect(r.stderr).toContain("commits: 1");
    expect(r.stderr).toMatch(/[0-9a-f]{8} agent: add work/);
    expect(r.stderr).not.toMatch(/\x1b\[/); // no ANSI without a TTY
    expect(r.exitCode).toBe(0);
    const events = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; name?: string; event?: { text?: string } });
    expect(events[0]!.type).toBe("run.started");
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "succeeded", iterations: 1 });
    expect(events.every((e) => e.name === "e2e")).toBe(true);
    expect(events.flatMap((e) => agentEventsOf(e as unknown as RunEvent).flatMap((a) => (a.type === "text" ? [a.text] : []))).includes("prompt was: write it")).toBe(true);
    expect(events.find((e) => e.type === "commits")).toMatchObject({ commits: [{ subject: "agent: add work", files: ["work.txt"] }] });
    expect(await gitIn(repo, "log", "--format=%s", "-1")).toBe("agent: add work");
  });

  it("--sandbox bwrap on a worktree (the default isolation in a repo): the agent commits inside bwrap, on the run's branch", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)")) ctx.skip();
    const repo = await tempRepo();
    const r = await corral(["run", "--sandbox", "bwrap", "--prompt", "write it", "--name", "in-bwrap", ...AGENT], { cwd: repo });
    expect(r.stderr).toContain("run succeeded: 1 iteration(s)");
    expect(r.stderr).toContain("sandbox bwrap ready");
    expect(r.stderr).toContain("branch: corral/in-bwrap");
    expect(r.exitCode).toBe(0);
    expect(await gitIn(repo, "log", "--format=%s", "-1", "corral/in-bwrap")).toBe("agent: add work");
    expect(await gitIn(repo, "log", "--format=%s", "-1", "main")).toBe("initial"); // the checkout itself is untouched
    expect(await gitIn(repo, "worktree", "list")).not.toContain("in-bwrap"); // released
  });

  it("writes a tail -f-able log file with the run name in its header", async () => {
    const repo = await tempRepo();
    const log = join(await tempDir(), "run.log");
    const r = await corral(["run", "--isolation", "in-place", "--prompt", "x", "--name", "logged", "--log-file", log, ...AGENT], { cwd: repo });
    expect(r.exitCode).toBe(0);
    const text = await readFile(log, "utf8");
    expect(text.split("\n")[0]).toMatch(/^# corral run logged \(/);
    expect(text).toContain("[logged] #1 prompt was: x");
    expect(r.stderr).toContain(`log: ${log}`);
  });

  it("Ctrl-C aborts cleanly: exit 130, no child process left", async () => {
    const repo = await tempRepo();
    const marker = `cli-sigint-${process.pid}-${Date.now()}`;
    const child = execa("node", [BIN, "run", "--isolation", "in-place", "--prompt", "x", "--", "sh", "-c", `ln -sf "$(command -v sleep)" ./${marker}; echo started; ./${marker} 300`], {
      cwd: repo,
      reject: false,
      env: { NO_COLOR: "1" },
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // The CLI's own argv contains the marker too, so wait for the agent's output instead.
    await waitFor(() => stderr.includes("started"), 15_000, "the agent to start");
    expect((await processesMatching(`./${marker} 300`)).length).toBeGreaterThan(0);
    child.kill("SIGINT");
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(stderr).toContain("SIGINT received");
    expect(stderr).toContain("run aborted");
    expect(await processesMatching(marker)).toEqual([]);
  });

  it("a failing agent exits 1 with the error and its hint", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--isolation", "in-place", "--prompt", "x", "--", "sh", "-c", "echo boom; exit 4"], { cwd: repo });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("exited with code 4");
    expect(r.stderr).toContain("boom");
    expect(r.stderr).toContain("hint:");
  });
});

describe("bad input: one-line error with a hint, exit 2, nothing created", () => {
  const cases: Array<[string, string[], RegExp, ((dir: string) => Promise<void>)?]> = [
    ["an unknown flag", ["run", "--bogus"], /Unknown option '--bogus'/],
    ["no prompt", ["run", ...AGENT], /No prompt was given/],
    ["both --prompt and --prompt-file", ["run", "--prompt", "a", "--prompt-file", "p.md", ...AGENT], /not both/],
    ["an unreadable prompt file", ["run", "--prompt-file", "nope.md", ...AGENT], /Cannot read the prompt file/],
    ["--prompt-arg without =", ["run", "--prompt-file", "p.md", "--prompt-arg", "issue", ...AGENT], /needs a name, "=" and a value/, async (d) => writeFile(join(d, "p.md"), "{{issue}}")],
    ["an unknown agent", ["run", "--agent", "gpt-pilot", "--prompt", "x"], /Unknown agent "gpt-pilot"/],
    ["an unknown sandbox", ["run", "--sandbox", "vmware", "--prompt", "x", ...AGENT], /Unknown sandbox "vmware"/],
    ["an unknown isolation", ["run", "--isolation", "chroot", "--prompt", "x", ...AGENT], /Unknown isolation "chroot"/],
    ["a non-numeric --max-iterations", ["run", "--max-iterations", "lots", "--prompt", "x", ...AGENT], /--max-iterations must be a whole number/],
    ["a negative --max-iterations", ["run", "--max-iterations", "-3", "--prompt", "x", ...AGENT], /--max-iterations/],
    ["a zero --idle-timeout", ["run", "--idle-timeout", "0", "--prompt", "x", ...AGENT], /--idle-timeout must be a number greater than 0/],
    ["a non-numeric --completion-timeout", ["run", "--completion-timeout", "soon", "--prompt", "x", ...AGENT], /--completion-timeout/],
    ["a config file that does not parse", ["run", "--prompt", "x", ...AGENT], /Cannot load .*corral\.config\.json/, async (d) => writeFile(join(d, "corral.config.json"), "{ nope")],
    ["a config file that fails its schema", ["run", "--prompt", "x", ...AGENT], /maxIterations/, async (d) => writeFile(join(d, "corral.config.json"), JSON.stringify({ maxIterations: "many" }))],
    ["a command agent without a command", ["run", "--agent", "command", "--prompt", "x"], /needs the command to run/],
  ];

  it.each(cases)("%s", async (_label, args, message, setup) => {
    const repo = await tempRepo();
    await setup?.(repo);
    const before = listing(repo);
    // A private TMPDIR: nothing (no per-run HOME either) may appear in it.
    const tmp = await tempDir();
    const r = await corral(args, { cwd: repo, env: { TMPDIR: tmp } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stdout).toBe("");
    expect(listing(repo)).toEqual(before);
    expect(listing(tmp)).toEqual([]);
  });

  it("a non-git --cwd with the worktree isolation", async () => {
    const dir = await tempDir();
    const r = await corral(["run", "--isolation", "worktree", "--cwd", dir, "--prompt", "x", ...AGENT]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/not inside a git repository/);
    expect(listing(dir)).toEqual([]);
  });
});

describe("corral --help and plugins", () => {
  it("--help loads no plugin code (not even core)", async () => {
    const trace = join(await tempDir(), "modules.txt");
    await writeFile(trace, "");
    const r = await execa("node", ["--import", fileURLToPath(new URL("./module-trace.mjs", import.meta.url)), BIN, "--help"], { env: { CORRAL_TRACE_FILE: trace } });
    expect(r.stdout).toContain("Usage: corral <command>");
    const modules = await readFile(trace, "utf8");
    expect(modules).toContain("bin.js");
    expect(modules).not.toMatch(/sandbox-|agent-|worktree-git|dockerode|@corral\/core|zod|execa/);
  });

  it("unknown commands exit 2 with a hint", async () => {
    const r = await corral(["frobnicate"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });

  it("corral plugins lists the built-ins with their availability", async () => {
    const r = await corral(["plugins", "--json"]);
    expect(r.exitCode).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ kind: string; name: string; available: boolean; version: string }>;
    expect(rows).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: "sandbox", name: "host", available: true }),
      expect.objectContaining({ kind: "agent", name: "command", available: true }),
      expect.objectContaining({ kind: "isolation", name: "in-place", available: true }),
      // First-party agents found through core's catalog when installed (the CLI's tests install them).
      expect.objectContaining({ kind: "agent", name: "opencode", available: true }),
      expect.objectContaining({ kind: "agent", name: "pi", available: true }),
      expect.objectContaining({ kind: "agent", name: "copilot", available: true }),
    ]));
    expect(existsSync(BIN)).toBe(true);
  });

  it("corral plugins --no-check lists without probing: sandbox availability is unknown", async () => {
    const r = await corral(["plugins", "--json", "--no-check"]);
    expect(r.exitCode).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ kind: string; name: string; available: boolean | null }>;
    expect(rows).toContainEqual(expect.objectContaining({ kind: "sandbox", name: "host", available: null }));
    expect(rows).toContainEqual(expect.objectContaining({ kind: "agent", name: "command", available: true }));
    // Every first-party agent the catalog names is found where it is installed.
    for (const name of ["claude", "codex", "gemini"]) expect(rows).toContainEqual(expect.objectContaining({ kind: "agent", name }));
    const table = await corral(["plugins", "--no-check"]);
    expect(table.stdout).toMatch(/sandbox\s+host\s+\S+\s+@corral\/core\s+not checked/);
  });
});
