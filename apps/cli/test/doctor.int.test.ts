import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTAINER_TEST_IMAGE, containerEngineReady, hasCommand, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
// The real Claude Code CLI, installed with @corral/agent-claude's dependencies.
const CLAUDE_BIN_DIR = fileURLToPath(new URL("../../../packages/agent-claude/node_modules/.bin", import.meta.url));
// Where node is, plus the system folders; nothing else, so "claude" is found only when we add it.
const SYSTEM_PATH = [dirname(process.execPath), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":");
const SECRET = "sk-ant-api03-doctor-test-secret-value-0123456789";

const corral = (args: string[], options: { cwd: string; env?: Record<string, string> }) =>
  execa("node", [BIN, ...args], {
    cwd: options.cwd,
    reject: false,
    stdin: "ignore",
    extendEnv: false,
    env: { PATH: SYSTEM_PATH, HOME: process.env.HOME ?? "/root", NO_COLOR: "1", ...options.env },
  });
const doctor = (args: string[], options: { cwd: string; env?: Record<string, string> }) => corral(["doctor", ...args], options);

interface Report {
  ok: boolean;
  checks: Array<{ name: string; status: "ok" | "warn" | "fail"; detail: string; fix?: string; code?: string }>;
}
const check = (report: Report, name: string) => report.checks.find((c) => c.name === name);

describe("corral doctor", () => {
  it("exit 0 when the configured run can start: claude CLI found with its version, credentials named but never printed", async () => {
    const cwd = await tempRepo();
    const r = await doctor(["--agent", "claude", "--sandbox", "host"], { cwd, env: { PATH: `${CLAUDE_BIN_DIR}:${SYSTEM_PATH}`, ANTHROPIC_API_KEY: SECRET } });
    expect(r.stderr).toMatch(/\[ok {2}\] node +v\d+\.\d+\.\d+/);
    expect(r.stderr).toMatch(/\[ok {2}\] git +git version \d/);
    expect(r.stderr).toMatch(/\[ok {2}\] agent claude +.*used by this run/);
    expect(r.stderr).toMatch(/\[ok {2}\] run agent +claude: .*\/claude \(\d+\.\d+\.\d+ \(Claude Code\)\)/);
    expect(r.stderr).toMatch(/\[ok {2}\] run credentials +credentials: ANTHROPIC_API_KEY set/);
    expect(r.stderr).toContain("The configured run can start.");
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    expect(r.stdout).toBe("");
    expect(r.exitCode).toBe(0);
  });

  it("a program found in the project's node_modules is never run on the host (an in-place run's agent can write it); twin: one on PATH is, above", async () => {
    const cwd = await tempRepo();
    const marker = join(await tempDir(), "ran-on-the-host");
    await mkdir(join(cwd, "node_modules", ".bin"), { recursive: true });
    await writeFile(join(cwd, "node_modules", ".bin", "claude"), `#!/bin/sh\ntouch ${marker}\necho "9.9.9 (planted)"\n`, { mode: 0o755 });
    const r = await doctor(["--agent", "claude", "--sandbox", "host", "--json"], { cwd, env: { ANTHROPIC_API_KEY: SECRET } });
    const report = JSON.parse(r.stdout) as Report;
    expect(check(report, "run agent")).toMatchObject({ status: "ok", detail: expect.stringContaining("not run on the host") });
    expect(r.stdout).not.toContain("planted");
    expect(existsSync(marker)).toBe(false);
  });

  it("exit 1 without credentials, with the fix; an agent that is not configured is only listed", async () => {
    const cwd = await tempRepo();
    const r = await doctor(["--agent", "claude", "--sandbox", "host", "--json"], { cwd, env: { PATH: `${CLAUDE_BIN_DIR}:${SYSTEM_PATH}` } });
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.ok).toBe(false);
    expect(check(report, "run credentials")).toMatchObject({ status: "fail", code: "E_MISSING_CREDENTIALS", detail: expect.stringContaining("none of ANTHROPIC_API_KEY") });
    expect(check(report, "run credentials")?.fix).toContain("Export ANTHROPIC_API_KEY");
    expect(check(report, "agent codex")?.status).toBe("ok");
    expect(check(report, "agent opencode")?.status).toBe("ok");
    expect(check(report, "agent pi")?.status).toBe("ok");
    expect(check(report, "agent copilot")?.status).toBe("ok");
    expect(report.checks.filter((c) => c.status === "fail").map((c) => c.name)).toEqual(["run credentials"]);
  });

  it("exit 1 when the agent's CLI is missing, with the code, the paths and the fix `corral run` gives", async () => {
    const cwd = await tempRepo();
    const r = await doctor(["--agent", "claude", "--sandbox", "host", "--json"], { cwd, env: { ANTHROPIC_API_KEY: SECRET } });
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(check(report, "run agent")).toMatchObject({ status: "fail", code: "E_AGENT_NOT_FOUND", detail: expect.stringContaining("/usr/bin/claude") });
    expect(check(report, "run agent")?.detail).toContain(join(cwd, "node_modules", ".bin", "claude"));
    expect(check(report, "run agent")?.fix).toContain("`executable` option");
    // The run did not resolve, so doctor cannot know which sandbox it uses: it calls none "not used".
    expect(check(report, "sandbox host")?.detail).not.toContain("not used by this run");
    expect(r.stdout).not.toContain(SECRET);
    // `corral run` fails the same way, before it starts, once, and never as a credentials problem.
    const ran = await corral(["run", "--agent", "claude", "--sandbox", "host", "--prompt", "hi", "--json"], { cwd, env: { ANTHROPIC_API_KEY: SECRET } });
    expect(JSON.parse(ran.stdout.trim().split("\n").pop()!)).toMatchObject({ type: "error", error: { code: "E_AGENT_NOT_FOUND" } });
    expect(ran.stderr.match(/program `claude` was not found/g)).toHaveLength(1);
    expect(ran.stderr).not.toMatch(/credential/i);
    expect(ran.exitCode).toBe(2);
    expect((await execa("git", ["worktree", "list"], { cwd })).stdout.split("\n")).toHaveLength(1);
  });

  it("bwrap with the config's mounts: doctor finds the program where run does, exit 0, and the run succeeds", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed")) ctx.skip();
    const cwd = await tempRepo();
    const tools = await tempDir();
    await writeFile(join(tools, "my-agent"), "#!/bin/sh\necho \"did: $1 <promise>COMPLETE</promise>\"\n", { mode: 0o755 });
    // Shown at a path of its own inside; on the host, /corral-tools does not exist.
    const config = { agent: { name: "command", options: { argv: ["my-agent", "{prompt}"] } }, sandbox: "bwrap", mounts: [{ host: tools, sandbox: "/corral-tools" }] };
    await writeFile(join(cwd, "corral.config.json"), JSON.stringify(config));
    const env = { PATH: `/corral-tools:${SYSTEM_PATH}` };
    const r = await doctor(["--json"], { cwd, env });
    const report = JSON.parse(r.stdout) as Report;
    expect(check(report, "config")?.detail).toBe(join(cwd, "corral.config.json"));
    expect(check(report, "run")).toMatchObject({ status: "ok", detail: "agent command, sandbox bwrap, isolation worktree" });
    expect(check(report, "run agent")).toMatchObject({ status: "ok", detail: "command: /corral-tools/my-agent" });
    expect(check(report, "run sandbox")).toMatchObject({ status: "ok", detail: expect.stringContaining("bwrap is available") });
    expect(r.exitCode).toBe(0);
    const ran = await corral(["run", "--prompt", "hello"], { cwd, env });
    expect(ran.stderr).toContain("did: hello");
    expect(ran.exitCode).toBe(0);
    // Without the mount both fail, with the same code.
    await writeFile(join(cwd, "corral.config.json"), JSON.stringify({ ...config, mounts: [] }));
    const broken = JSON.parse((await doctor(["--json"], { cwd, env })).stdout) as Report;
    expect(check(broken, "run agent")).toMatchObject({ status: "fail", code: "E_AGENT_NOT_FOUND", detail: expect.stringContaining("/corral-tools/my-agent") });
    const failed = await corral(["run", "--prompt", "hello", "--json"], { cwd, env });
    expect(JSON.parse(failed.stdout.trim().split("\n").pop()!)).toMatchObject({ error: { code: "E_AGENT_NOT_FOUND" } });
  });

  it("a container sandbox with the config's image: exit 0, and nothing about the default image", async (ctx) => {
    const engine = (await containerEngineReady("docker")).ready ? "docker" : (await containerEngineReady("podman")).ready ? "podman" : undefined;
    if (!requireTool(engine !== undefined, "neither docker nor podman is ready with the test image (tooling/ci/engines.sh)")) ctx.skip();
    const cwd = await tempRepo();
    await writeFile(join(cwd, "corral.config.json"), JSON.stringify({ agent: { name: "command", options: { argv: ["true"] } }, sandbox: { name: engine, options: { image: CONTAINER_TEST_IMAGE } } }));
    const r = await doctor([], { cwd });
    expect(r.stderr).toMatch(new RegExp(`\\[ok {2}\\] run sandbox +${engine} is available`));
    expect(r.stderr).toMatch(/\[ok {2}\] run agent +command: `true` is looked up inside/);
    expect(r.stderr).not.toContain("corral-agent:latest");
    expect(r.stderr).not.toMatch(/\[(warn|FAIL)\]/);
    expect(r.exitCode).toBe(0);
  });

  it("exit 1 when the configured container sandbox cannot run (engine down or image missing), with the fix and the code", async (ctx) => {
    if (!requireTool(await hasCommand("podman"), "podman is not installed")) ctx.skip();
    const cwd = await tempRepo();
    await writeFile(join(cwd, "corral.config.json"), JSON.stringify({ agent: { name: "command", options: { argv: ["true"] } }, sandbox: { name: "podman", options: { image: "corral-doctor-no-such-image:never" } } }));
    const r = await doctor(["--json"], { cwd });
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(check(report, "run sandbox")).toMatchObject({ status: "fail", detail: expect.stringContaining("podman is unavailable"), code: expect.stringMatching(/^E_SANDBOX_/) });
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
    expect(broken.stderr).toMatch(/fix: Fix the .*config file\./);
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
