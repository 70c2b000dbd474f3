import { existsSync } from "node:fs";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasCommand, requireTool, tempDir } from "@corral/test-support";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { agentEventsOf, type RunEvent } from "@corral/core";

// The published way: the user installs this package in their project and names it in corral.config.*.
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(dirname(createRequire(import.meta.url).resolve("@corral/cli/package.json")), "dist", "bin.js");
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });

/**
 * A project whose corral.config.mjs names the plugin package, installed (linked) in its node_modules.
 * Not a git checkout: firejail refuses in-place runs in one (it cannot show the run its own git dir).
 */
async function project({ installed = true } = {}): Promise<string> {
  const repo = await tempDir("corral-firejail-project-");
  await writeFile(join(repo, "corral.config.mjs"), 'export default { plugins: ["corral-sandbox-firejail"] };\n');
  if (installed) {
    await mkdir(join(repo, "node_modules"));
    await symlink(PACKAGE_DIR, join(repo, "node_modules", "corral-sandbox-firejail"));
  }
  return repo;
}

describe("corral loads corral-sandbox-firejail by its package name", () => {
  let ready = false;
  beforeAll(async () => {
    ready = requireTool(await hasCommand("firejail"), "firejail is not installed (tooling/ci/extras.sh install)");
  });

  it("`corral run --sandbox firejail` runs the agent inside firejail: the workspace is writable, its parent is not", async (ctx) => {
    if (!ready) ctx.skip();
    const repo = await project();
    const escape = join(dirname(repo), `escaped-${process.pid}-${Date.now()}.txt`);
    const agent = `echo made-inside > inside.txt; if (echo x > "${escape}") 2>/dev/null; then echo ESCAPED; else echo write-outside-blocked; fi; echo "container=$container"; echo "<promise>COMPLETE</promise>"`;
    const r = await corral(["run", "--sandbox", "firejail", "--isolation", "in-place", "--prompt", "go", "--json", "--", "sh", "-c", agent], repo);
    expect(r.stderr).toContain("run succeeded: 1 iteration(s)");
    expect(r.exitCode).toBe(0);
    const events = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; sandbox?: string; event?: { text?: string } });
    expect(events[0]).toMatchObject({ type: "run.started", sandbox: "firejail" });
    const texts = events.flatMap((e) => agentEventsOf(e as unknown as RunEvent)).flatMap((a) => (a.type === "text" ? [a.text] : []));
    expect(texts).toContain("write-outside-blocked");
    expect(texts).not.toContain("ESCAPED");
    expect(texts).toContain("container=firejail");
    expect(existsSync(escape)).toBe(false);
    expect(await readFile(join(repo, "inside.txt"), "utf8")).toBe("made-inside\n");
  });

  it("`corral plugins` lists it with its package and version", async (ctx) => {
    if (!ready) ctx.skip();
    const r = await corral(["plugins", "--json"], await project());
    expect(r.exitCode).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ kind: string; name: string; package: string; version: string; available: boolean }>;
    const version = (JSON.parse(await readFile(join(PACKAGE_DIR, "package.json"), "utf8")) as { version: string }).version;
    expect(rows).toContainEqual(expect.objectContaining({ kind: "sandbox", name: "firejail", package: "corral-sandbox-firejail", version, available: true }));
  });

  it("a config naming it without it installed says exactly what to install", async () => {
    const repo = await project({ installed: false });
    const r = await corral(["run", "--sandbox", "firejail", "--isolation", "in-place", "--prompt", "go", "--", "true"], repo);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('The plugin package "corral-sandbox-firejail" named in your corral config is not installed');
    expect(r.stderr).toContain("npm install corral-sandbox-firejail");
  });
});
