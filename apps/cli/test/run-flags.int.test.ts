import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTAINER_TEST_IMAGE, containerEngineReady, hasCommand, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { agentEventsOf, type RunEvent } from "@corral/core";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
const agent = (script: string) => ["--", "sh", "-c", `${script}; echo "<promise>COMPLETE</promise>"`, "{prompt}"];

describe("corral run: limits, mounts and copy from flags", () => {
  it("--mount shows a host folder read-only (or rw), --copy brings an untracked file into the worktree (bwrap)", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)")) ctx.skip();
    const repo = await tempRepo();
    const data = await tempDir("corral-flag-mount-");
    const cache = await tempDir("corral-flag-cache-");
    await writeFile(join(data, "fixture.txt"), "from the host\n");
    await writeFile(join(repo, ".env.local"), "UNTRACKED=1\n");
    const script = "cat /data/fixture.txt; echo x > /data/w 2>/dev/null && echo data-writable; echo kept > /cache/out; cat .env.local";
    const r = await corral(["run", "--sandbox", "bwrap", "--prompt", "p", "--mount", `${data}:/data`, "--mount", `${cache}:/cache:rw`, "--copy", ".env.local", "--json", ...agent(script)], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    const texts = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string; event?: { text?: string } }).flatMap((e) => agentEventsOf(e as unknown as RunEvent).flatMap((a) => (a.type === "text" ? [a.text] : [])));
    expect(texts).toContain("from the host");
    expect(texts).toContain("UNTRACKED=1");
    expect(texts).not.toContain("data-writable"); // read-only unless :rw
    expect(await readFile(join(cache, "out"), "utf8")).toBe("kept\n");
  });

  it("--memory, --pids and --cpus become the container's limits (docker)", async (ctx) => {
    const ready = await containerEngineReady("docker");
    if (!requireTool(ready.ready, ready.reason)) ctx.skip();
    const repo = await tempRepo();
    const config = join(await tempDir(), "corral.config.json");
    await writeFile(config, JSON.stringify({ sandbox: { name: "docker", options: { image: CONTAINER_TEST_IMAGE } } }));
    const read = (v1: string, v2: string) => `echo "${v2}=$(cat /sys/fs/cgroup/${v1} 2>/dev/null || cat /sys/fs/cgroup/${v2})"`;
    const script = [read("pids/pids.max", "pids.max"), read("memory/memory.limit_in_bytes", "memory.max")].join("; ");
    const r = await corral(["run", "--config", config, "--prompt", "p", "--memory", "300", "--pids", "77", "--cpus", "1.5", "--json", ...agent(script)], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("pids.max=77");
    expect(r.stdout).toContain(`memory.max=${300 * 1024 * 1024}`);
  });

  it("bad values are usage errors that say what to pass, before anything is created", async () => {
    const repo = await tempRepo();
    for (const [flags, message] of [
      [["--memory=-1"], /--memory must be a number greater than 0/],
      [["--pids", "1.5"], /--pids must be a whole number/],
      [["--cpus", "0"], /--cpus must be a number greater than 0/],
      [["--mount", "/x:relative"], /--mount must be HOST\[:SANDBOX\]\[:ro\|rw\]/],
    ] as const) {
      const r = await corral(["run", "--prompt", "p", ...flags, ...agent("true")], repo);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(join(repo, ".corral"))).toBe(false); // no journal, no worktree
  });
});


describe("corral run: flags and config agree", () => {
  it("--sandbox docker keeps the config's docker options (its image); the run does not look for the default image", async (ctx) => {
    const ready = await containerEngineReady("docker");
    if (!requireTool(ready.ready, ready.reason)) ctx.skip();
    const repo = await tempRepo();
    const config = join(await tempDir(), "corral.config.json");
    await writeFile(config, JSON.stringify({ sandbox: { name: "docker", options: { image: CONTAINER_TEST_IMAGE } } }));
    const r = await corral(["run", "--config", config, "--sandbox", "docker", "--prompt", "p", ...agent("echo in-the-container")], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("in-the-container");
    expect(r.stderr).not.toMatch(/were not used/);
  });

  it("--isolation worktree keeps the config's worktree options; a flag naming another plugin says the config's options were not used", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)")) ctx.skip();
    const repo = await tempRepo();
    const config = join(await tempDir(), "corral.config.json");
    await writeFile(config, JSON.stringify({ sandbox: { name: "docker", options: { image: CONTAINER_TEST_IMAGE } }, isolation: { name: "worktree", options: { branchPrefix: "from-config/" } } }));
    const same = await corral(["run", "--config", config, "--sandbox", "bwrap", "--isolation", "worktree", "--name", "kept", "--prompt", "p", ...agent("true")], repo);
    expect(same.exitCode, same.stderr).toBe(0);
    expect(same.stderr).toContain("branch: from-config/kept");
    // The other sandbox was asked for: the config's docker options are said to be unused.
    expect(same.stderr).toMatch(/The sandbox "bwrap" was asked for, so the config's sandbox "docker" and its options \(image\) were not used/);
    const other = await corral(["run", "--config", config, "--sandbox", "bwrap", "--isolation", "in-place", "--prompt", "p", ...agent("true")], repo);
    expect(other.exitCode, other.stderr).toBe(0);
    expect(other.stderr).toMatch(/The isolation "in-place" was asked for, so the config's isolation "worktree" and its options \(branchPrefix\) were not used/);
  });
});
