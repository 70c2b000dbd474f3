import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTAINER_TEST_IMAGE, containerEngineReady, hasCommand, requireTool, tempDir } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

/** The agent commits with plain `git commit`, as a coding agent does: no identity of its own. */
const AGENT = ["--", "sh", "-c", 'echo "change $$" >> work.txt && git add work.txt && git commit -qm "agent: add work"; echo "<promise>COMPLETE</promise>"', "{prompt}"];

/** A user whose identity lives only in ~/.gitconfig, and a repository with none of its own. */
async function userAndRepo() {
  const home = await tempDir("corral-identity-home-");
  await writeFile(join(home, ".gitconfig"), "[user]\n\tname = Ada Lovelace\n\temail = ada@example.com\n");
  const repo = await tempDir("corral-identity-repo-");
  const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: "1" };
  for (const args of [["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "initial"]]) await execa("git", args, { cwd: repo, env });
  return { home, repo };
}

/** `sandboxArgs`: `--sandbox bwrap`, or a `--config` naming a container sandbox with its image. */
async function runIn(sandboxArgs: string[]) {
  const { home, repo } = await userAndRepo();
  const r = await execa("node", [BIN, "run", ...sandboxArgs, "--prompt", "commit", "--name", "identity", ...AGENT], {
    cwd: repo,
    reject: false,
    stdin: "ignore",
    env: { NO_COLOR: "1", HOME: home },
  });
  const author = (await execa("git", ["log", "-1", "--format=%an <%ae>", "corral/identity"], { cwd: repo, reject: false })).stdout;
  return { r, author };
}

async function containerConfig(engine: "docker" | "podman"): Promise<string[]> {
  const config = join(await tempDir(), "corral.config.json");
  await writeFile(config, JSON.stringify({ sandbox: { name: engine, options: { image: CONTAINER_TEST_IMAGE } } }));
  return ["--config", config];
}

describe("the agent commits as the user (identity only in ~/.gitconfig)", () => {
  it("bwrap", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)")) ctx.skip();
    const { r, author } = await runIn(["--sandbox", "bwrap"]);
    expect(r.stderr).toContain("commits: 1");
    expect(r.exitCode).toBe(0);
    expect(author).toBe("Ada Lovelace <ada@example.com>");
  });

  for (const engine of ["docker", "podman"] as const) {
    it(engine, async (ctx) => {
      const ready = await containerEngineReady(engine);
      if (!requireTool(ready.ready, ready.reason)) ctx.skip();
      const { r, author } = await runIn(await containerConfig(engine));
      expect(r.stderr).toContain("commits: 1");
      expect(r.exitCode).toBe(0);
      expect(author).toBe("Ada Lovelace <ada@example.com>");
    });
  }

  it("without an identity the run warns at the start, and no commit lands", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)")) ctx.skip();
    const repo = await tempDir("corral-identity-none-");
    const home = await tempDir("corral-identity-nohome-");
    const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: "1" };
    await execa("git", ["init", "-q", "-b", "main"], { cwd: repo, env });
    await execa("git", ["-c", "user.name=S", "-c", "user.email=s@example.com", "commit", "-q", "--allow-empty", "-m", "initial"], { cwd: repo, env });
    const r = await execa("node", [BIN, "run", "--sandbox", "bwrap", "--prompt", "commit", ...AGENT], { cwd: repo, reject: false, stdin: "ignore", env: { NO_COLOR: "1", HOME: home, XDG_CONFIG_HOME: join(home, ".config") } });
    expect(r.stderr).toMatch(/No git identity found/);
    expect(r.stderr).toContain("commits: 0");
  });
});

