import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasCommand, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { loadConfig } from "corral";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
/** Runs `corral init` on a real pseudo-terminal (util-linux `script`), typing `input`. */
const onTty = (cwd: string, input: string, args = "") =>
  execa("script", ["-qfec", `node ${BIN} init ${args}`, "/dev/null"], { cwd, input, reject: false, env: { NO_COLOR: "1", PATH: process.env.PATH ?? "" } });

/** The scaffolded config, loaded as corral loads it (with `corral` resolvable from the project). */
async function scaffoldedConfig(dir: string) {
  await mkdir(join(dir, "node_modules"), { recursive: true });
  await symlink(fileURLToPath(new URL("../node_modules/corral", import.meta.url)), join(dir, "node_modules", "corral"));
  return (await loadConfig({ cwd: dir })).config;
}

describe("corral init without a terminal", () => {
  it("scaffolds from flags: config, prompt, Dockerfile, .env.example, .gitignore; the config loads", async () => {
    const repo = await tempRepo();
    const r = await corral(["init", "--agent", "claude", "--sandbox", "docker", "--model", "sonnet"], repo);
    expect(r.exitCode).toBe(0);
    for (const f of ["corral.config.ts", ".corral/prompt.md", "Dockerfile", ".env.example", ".gitignore"]) expect(r.stderr).toContain(`created ${f}`);
    expect(existsSync(join(repo, "Containerfile"))).toBe(false);
    expect(await readFile(join(repo, ".env.example"), "utf8")).toContain("ANTHROPIC_API_KEY=");
    expect(await readFile(join(repo, "Dockerfile"), "utf8")).toMatch(/@anthropic-ai\/claude-code[^]*ARG AGENT_UID/);
    expect((await readFile(join(repo, ".gitignore"), "utf8")).split("\n")).toEqual(expect.arrayContaining([".env", ".corral/runs/", ".corral/worktrees/"]));
    // the scaffolded prompt can be committed; what corral writes there cannot
    const ignored = async (path: string) => (await execa("git", ["check-ignore", "-q", path], { cwd: repo, reject: false })).exitCode === 0;
    expect(await ignored(".corral/prompt.md")).toBe(false);
    expect(await ignored(".corral/runs/r1/run.json")).toBe(true);
    expect(await ignored(".corral/worktrees/x/README.md")).toBe(true);
    expect(await readFile(join(repo, ".corral/prompt.md"), "utf8")).toContain("<promise>COMPLETE</promise>");
    const config = await scaffoldedConfig(repo);
    expect(config).toMatchObject({ agent: "claude", model: "sonnet", sandbox: { name: "docker", options: { image: expect.stringMatching(/^corral-corral-repo-.*:latest$/) } }, promptFile: ".corral/prompt.md", envFile: ".env" });
  });

  it("what it scaffolds runs as is: the config loads without corral installed in the project, the prompt renders", async () => {
    const repo = await tempRepo();
    expect((await corral(["init", "--agent", "command", "--sandbox", "host", "--yes"], repo)).exitCode).toBe(0);
    const r = await corral(["run", "--max-iterations", "1", "--", "sh", "-c", 'cat; echo "<promise>COMPLETE</promise>"'], repo);
    expect(r.stderr).toContain("run succeeded: 1 iteration(s)");
    expect(r.stderr).toMatch(/You are working on the branch corral\/\S+ \(iteration 1 of 1\)/);
    expect(r.stderr).toContain("initial"); // the !`git log` of the prompt ran
    expect(r.exitCode).toBe(0);
  });

  it("never overwrites: an existing file is skipped and named; .gitignore only gains missing lines", async () => {
    const repo = await tempRepo({ "README.md": "x", ".gitignore": "node_modules\n.env\n", ".corral/prompt.md": "my own prompt" });
    const r = await corral(["init", "--yes"], repo);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain("skipped .corral/prompt.md (it exists; not overwritten)");
    expect(r.stderr).toContain("updated .gitignore");
    expect(await readFile(join(repo, ".corral/prompt.md"), "utf8")).toBe("my own prompt");
    expect(await readFile(join(repo, ".gitignore"), "utf8")).toBe("node_modules\n.env\n\n# corral\n.corral/runs/\n.corral/worktrees/\n");
    expect(existsSync(join(repo, "Dockerfile"))).toBe(false); // bwrap: no image
    const config = await readFile(join(repo, "corral.config.ts"), "utf8");
    const again = await corral(["init", "--agent", "codex", "--sandbox", "host"], repo);
    expect(again.stderr).toContain("skipped corral.config.ts");
    expect(await readFile(join(repo, "corral.config.ts"), "utf8")).toBe(config);
  });

  it("--agent gemini: its key in .env.example, its CLI in the image, the agent in the config", async () => {
    const repo = await tempRepo();
    const r = await corral(["init", "--agent", "gemini", "--sandbox", "docker"], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readFile(join(repo, ".env.example"), "utf8")).toContain("GEMINI_API_KEY=");
    expect(await readFile(join(repo, "Dockerfile"), "utf8")).toContain("RUN npm install -g @google/gemini-cli");
    expect(await scaffoldedConfig(repo)).toMatchObject({ agent: "gemini", sandbox: { name: "docker" } });
  });

  it("--agent copilot: its provider key and base URL in .env.example, its CLI in the image, a model in the config", async () => {
    const repo = await tempRepo();
    const r = await corral(["init", "--agent", "copilot", "--sandbox", "docker"], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    const envExample = await readFile(join(repo, ".env.example"), "utf8");
    expect(envExample).toContain("COPILOT_PROVIDER_API_KEY=");
    expect(envExample).toContain("COPILOT_PROVIDER_BASE_URL=");
    expect(await readFile(join(repo, "Dockerfile"), "utf8")).toContain("RUN npm install -g @github/copilot");
    expect(JSON.stringify(await scaffoldedConfig(repo))).toContain("copilot");
    expect(await readFile(join(repo, "corral.config.ts"), "utf8")).toContain('model: "gpt-5"');
  });

  it("a missing choice exits 2 naming its flag, and writes nothing", async () => {
    const dir = await tempDir();
    const noAgent = await corral(["init", "--sandbox", "bwrap"], dir);
    expect(noAgent.exitCode).toBe(2);
    expect(noAgent.stderr).toMatch(/needs --agent .*no terminal/);
    const noSandbox = await corral(["init", "--agent", "codex"], dir);
    expect(noSandbox.exitCode).toBe(2);
    expect(noSandbox.stderr).toMatch(/needs --sandbox/);
    const bad = await corral(["init", "--agent", "gpt", "--sandbox", "bwrap"], dir);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--agent must be one of claude, codex, copilot, gemini, opencode, pi, command/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("corral init on a terminal", () => {
  it("asks each choice, re-asks a bad answer, and scaffolds podman with a Containerfile", async (ctx) => {
    if (!requireTool(await hasCommand("script"), "script (util-linux) is not installed")) ctx.skip();
    const repo = await tempRepo();
    const r = await onTty(repo, "codex\nnope\npodman\ngpt-5\n");
    expect(r.stdout).toContain("Agent (claude, codex, copilot, gemini, opencode, pi, command) [claude]:");
    expect(r.stdout).toContain("please answer one of: bwrap, docker, podman, host");
    expect(r.stdout).toContain("created Containerfile");
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(repo, ".env.example"), "utf8")).toContain("OPENAI_API_KEY=");
    expect(await scaffoldedConfig(repo)).toMatchObject({ agent: "codex", model: "gpt-5", sandbox: { name: "podman" } });
  });

  it("a flag skips its question; input that ends early exits 2 naming the flag", async (ctx) => {
    if (!requireTool(await hasCommand("script"), "script (util-linux) is not installed")) ctx.skip();
    const repo = await tempRepo();
    const given = await onTty(repo, "\n\n", "--agent command");
    expect(given.stdout).not.toContain("Agent (");
    expect(given.exitCode).toBe(0);
    expect(await readFile(join(repo, "corral.config.ts"), "utf8")).toMatch(/name: "command"[^]*sandbox: "bwrap"/);

    const dir = await tempDir();
    const ended = await onTty(dir, "claude\n");
    expect(ended.stdout).toMatch(/input ended before --sandbox was chosen/);
    expect(ended.exitCode).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });
});
