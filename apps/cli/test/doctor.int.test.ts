import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasCommand, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
// The real Claude Code CLI, installed with @corral/agent-claude's dependencies.
const CLAUDE_BIN_DIR = fileURLToPath(new URL("../../../packages/agent-claude/node_modules/.bin", import.meta.url));
// Where node is, plus the system folders; nothing else, so "claude" is found only when we add it.
const SYSTEM_PATH = [dirname(process.execPath), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":");
const SECRET = "sk-ant-api03-doctor-test-secret-value-0123456789";

const doctor = (args: string[], options: { cwd: string; env?: Record<string, string> }) =>
  execa("node", [BIN, "doctor", ...args], {
    cwd: options.cwd,
    reject: false,
    stdin: "ignore",
    extendEnv: false,
    env: { PATH: SYSTEM_PATH, HOME: process.env.HOME ?? "/root", NO_COLOR: "1", ...options.env },
  });

interface Report {
  ok: boolean;
  checks: Array<{ name: string; status: "ok" | "warn" | "fail"; detail: string; fix?: string }>;
}
const check = (report: Report, name: string) => report.checks.find((c) => c.name === name);

describe("corral doctor", () => {
  it("exit 0 when the configured run can start: claude CLI found with its version, credentials named but never printed", async () => {
    const cwd = await tempRepo();
    const r = await doctor(["--agent", "claude", "--sandbox", "host"], { cwd, env: { PATH: `${CLAUDE_BIN_DIR}:${SYSTEM_PATH}`, ANTHROPIC_API_KEY: SECRET } });
    expect(r.stderr).toMatch(/\[ok {2}\] node +v\d+\.\d+\.\d+/);
    expect(r.stderr).toMatch(/\[ok {2}\] git +git version \d/);
    expect(r.stderr).toMatch(/\[ok {2}\] agent claude +.*CLI claude: \d+\.\d+\.\d+ \(Claude Code\); credentials: ANTHROPIC_API_KEY set/);
    expect(r.stderr).toMatch(/\[ok {2}\] run sandbox +the host sandbox starts and finds .*\/claude/);
    expect(r.stderr).toContain("The configured run can start.");
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    expect(r.stdout).toBe("");
    expect(r.exitCode).toBe(0);
  });

  it("exit 1 without credentials, with the fix, and a warning (not a failure) for an agent that is not configured", async () => {
    const cwd = await tempRepo();
    const r = await doctor(["--agent", "claude", "--sandbox", "host", "--json"], { cwd, env: { PATH: `${CLAUDE_BIN_DIR}:${SYSTEM_PATH}` } });
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.ok).toBe(false);
    expect(check(report, "run credentials")).toMatchObject({ status: "fail", detail: expect.stringContaining("none of ANTHROPIC_API_KEY") });
    expect(check(report, "run credentials")?.fix).toContain("Export ANTHROPIC_API_KEY");
    expect(check(report, "agent codex")?.status).not.toBe("fail");
    expect(report.checks.filter((c) => c.status === "fail").map((c) => c.name)).toEqual(["run credentials"]);
  });

  it("exit 1 when the agent's CLI is missing: the host check warns, the in-sandbox check fails with the fix", async () => {
    const cwd = await tempRepo();
    const r = await doctor(["--agent", "claude", "--sandbox", "host", "--json"], { cwd, env: { ANTHROPIC_API_KEY: SECRET } });
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(check(report, "agent claude")).toMatchObject({ status: "warn", detail: expect.stringContaining("CLI claude is not on PATH") });
    expect(check(report, "run sandbox")).toMatchObject({ status: "fail", detail: "the host sandbox starts, but `claude` is not found inside it" });
    expect(check(report, "run sandbox")?.fix).toContain("Make `claude` available inside the host sandbox");
    expect(r.stdout).not.toContain(SECRET);
  });

  it("probes the real bwrap sandbox from the config: the command agent's program is found inside", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed")) ctx.skip();
    const cwd = await tempRepo();
    await writeFile(join(cwd, "corral.config.json"), JSON.stringify({ agent: { name: "command", options: { argv: ["sh", "-c", "echo {prompt}"] } }, sandbox: "bwrap" }));
    const r = await doctor(["--json"], { cwd });
    const report = JSON.parse(r.stdout) as Report;
    expect(check(report, "config")?.detail).toBe(join(cwd, "corral.config.json"));
    expect(check(report, "sandbox bwrap")).toMatchObject({ status: "ok", detail: expect.stringContaining("available — bubblewrap") });
    expect(check(report, "run")).toMatchObject({ status: "ok", detail: "agent command, sandbox bwrap, isolation worktree" });
    expect(check(report, "run sandbox")).toMatchObject({ status: "ok", detail: expect.stringMatching(/^the bwrap sandbox starts and finds \/.*sh$/) });
    expect(r.exitCode).toBe(0);
  });

  it("exit 1 when the configured container sandbox cannot run (engine down or image missing), with the fix", async (ctx) => {
    if (!requireTool(await hasCommand("podman"), "podman is not installed")) ctx.skip();
    const cwd = await tempRepo();
    await writeFile(join(cwd, "corral.config.json"), JSON.stringify({ agent: { name: "command", options: { argv: ["true"] } }, sandbox: { name: "podman", options: { image: "corral-doctor-no-such-image:never" } } }));
    const r = await doctor(["--json"], { cwd });
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(check(report, "run sandbox")).toMatchObject({ status: "fail", detail: expect.stringContaining("podman is unavailable") });
    expect(check(report, "run sandbox")?.fix).toBeTruthy();
  });

  it("exit 1 for a sandbox no installed plugin provides, and for a broken config; exit 2 for a bad flag", async () => {
    const cwd = await tempDir();
    const unknown = await doctor(["--agent", "claude", "--sandbox", "no-such-sandbox"], { cwd });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/\[FAIL\] run .*no-such-sandbox/);
    await writeFile(join(cwd, "corral.config.json"), "{ not json");
    const broken = await doctor([], { cwd });
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toMatch(/\[FAIL\] config +Cannot load .*corral\.config\.json/);
    expect(broken.stderr).toContain("fix: Fix the error in the config file.");
    const bad = await doctor(["--no-such-flag"], { cwd });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--no-such-flag");
  });

  it("--help prints the usage and exits 0", async () => {
    const r = await doctor(["--help"], { cwd: await tempDir() });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Usage: corral doctor");
  });
});
