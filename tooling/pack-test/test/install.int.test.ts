import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasCommand, requireTool, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packAll, publishablePackages } from "../pack.mjs";

/** What a user who wants bwrap + Claude installs (corral and core come with the CLI). */
const MINIMAL = ["@corral/cli", "@corral/sandbox-bwrap", "@corral/agent-claude"];
/** The packages the minimal set pulls in from this workspace; everything else comes from the npm registry. */
const MINIMAL_WITH_INTERNAL_DEPS = [...MINIMAL, "corral", "@corral/core"];

let root: string;
let tarballs: Map<string, string>;

/** A fresh folder with the given tarballs installed by plain npm. */
async function install(names: readonly string[]): Promise<string> {
  const dir = await mkdtemp(join(root, "install-"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "corral-user-project", private: true }));
  await execa("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...names.map((name) => tarballs.get(name)!)], { cwd: dir });
  return dir;
}

/** Every folder named `name` anywhere under `dir` (nested node_modules included). */
function findAll(dir: string, name: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name === name)
    .map((entry) => join(entry.parentPath, entry.name));
}

async function sizeKb(dir: string): Promise<number> {
  const { stdout } = await execa("du", ["-sk", join(dir, "node_modules")]);
  return Number(stdout.split(/\s/)[0]);
}

describe("install only what you need: @corral/cli + sandbox-bwrap + agent-claude from the packed tarballs", () => {
  let minimal: string;
  // A clean env, as a user's shell has: `pnpm test` sets NODE_PATH to the workspace's packages, which would let every plugin resolve.
  const corral = (args: string[], cwd: string, project = minimal) =>
    execa(join(project, "node_modules", ".bin", "corral"), args, { cwd, reject: false, stdin: "ignore", extendEnv: false, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", NO_COLOR: "1" } });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "corral-pack-test-"));
    tarballs = await packAll(root);
    minimal = await install(MINIMAL_WITH_INTERNAL_DEPS);
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("packs every publishable package with workspace: protocols rewritten", async () => {
    expect([...tarballs.keys()].sort()).toEqual(publishablePackages().map((p) => p.name));
    const cli = JSON.parse(await readFile(join(minimal, "node_modules", "@corral", "cli", "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(Object.values(cli.dependencies).filter((range) => range.startsWith("workspace:"))).toEqual([]);
  });

  it("`corral plugins` lists exactly the installed plugins plus the built-ins", async () => {
    const r = await corral(["plugins", "--json"], minimal);
    expect(r.exitCode).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ kind: string; name: string; package: string }>;
    expect(rows.map((row) => `${row.kind}:${row.name}:${row.package}`).sort()).toEqual(
      ["agent:claude:@corral/agent-claude", "agent:command:@corral/core", "isolation:in-place:@corral/core", "sandbox:bwrap:@corral/sandbox-bwrap", "sandbox:host:@corral/core"].sort(),
    );
  });

  it("the newer agent plugins installed from their tarballs are found by `corral plugins` and load (gemini, copilot)", async () => {
    const project = await install([...MINIMAL_WITH_INTERNAL_DEPS, "@corral/agent-gemini", "@corral/agent-copilot"]);
    const r = await corral(["plugins", "--json"], project, project);
    expect(r.exitCode).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ kind: string; name: string; package: string; version: string }>;
    const agents = rows.filter((row) => row.kind === "agent").map((row) => `${row.name}:${row.package}`);
    expect(agents.sort()).toEqual(["claude:@corral/agent-claude", "command:@corral/core", "copilot:@corral/agent-copilot", "gemini:@corral/agent-gemini"]);
    // Their CLIs are devDependencies only: neither package pulls in @google/gemini-cli or @github/copilot.
    expect(existsSync(join(project, "node_modules", "@google", "gemini-cli"))).toBe(false);
    expect(existsSync(join(project, "node_modules", "@github", "copilot"))).toBe(false);
  });

  it("has no dockerode (nor any other plugin's dependency) anywhere in node_modules", () => {
    expect(findAll(join(minimal, "node_modules"), "dockerode")).toEqual([]);
    expect(existsSync(join(minimal, "node_modules", "@corral", "sandbox-docker"))).toBe(false);
    expect(existsSync(join(minimal, "node_modules", "@corral", "worktree-git"))).toBe(false);
  });

  it("`corral run --sandbox docker` fails with the exact install command", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--sandbox", "docker", "--isolation", "in-place", "--prompt", "x", "--", "true"], repo);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('The sandbox "docker" needs the package @corral/sandbox-docker, which is not installed.');
    expect(r.stderr).toContain("npm install @corral/sandbox-docker");
  });

  it("the installed bin hands --env-file to corral (Node 20+ would take it for itself and exit 9)", async () => {
    const repo = await tempRepo();
    for (const flag of [["--env-file", "nope.env"], ["--env-file=nope.env"]]) {
      const r = await corral(["run", ...flag, "--isolation", "in-place", "--prompt", "x", "--", "true"], repo);
      expect(r.stderr).toContain(`Cannot read the env file ${join(repo, "nope.env")}: it does not exist.`);
      expect(r.exitCode).toBe(2);
    }
  });

  it("a `corral run` with the command agent works there, in the installed bwrap sandbox", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed")) ctx.skip();
    const repo = await tempRepo();
    const agent = 'echo "from the agent: $0" > out.txt; git add out.txt; git -c user.name=A -c user.email=a@example.com commit -qm "agent work"; echo "<promise>COMPLETE</promise>"';
    const r = await corral(["run", "--sandbox", "bwrap", "--prompt", "hello", "--", "sh", "-c", agent, "{prompt}"], repo);
    expect(r.stderr).toContain("run succeeded: 1 iteration(s)");
    expect(r.stderr).toContain("commits: 1");
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(repo, "out.txt"), "utf8")).toBe("from the agent: hello\n");
  });

  it("is much smaller than the full set (sizes reported for docs/releasing.md)", async () => {
    const full = await install([...tarballs.keys()]);
    expect(findAll(join(full, "node_modules"), "dockerode").length).toBeGreaterThan(0); // the positive twin
    const sizes = { minimalKb: await sizeKb(minimal), fullKb: await sizeKb(full) };
    await writeFile(join(tmpdir(), "corral-pack-test-sizes.json"), JSON.stringify(sizes, null, 2));
    console.info(`[pack-test] installed size: minimal (cli + bwrap + claude) ${sizes.minimalKb} KiB, full set ${sizes.fullKb} KiB`);
    expect(sizes.minimalKb).toBeLessThan(sizes.fullKb / 2);
  });
});
