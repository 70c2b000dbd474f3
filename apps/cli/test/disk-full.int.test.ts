import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gitIn, requireTool, tempDir } from "@corral/test-support";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { agentEventsOf, type RunEvent } from "@corral/core";

// Issue 21 item 4: the journal under faults, on a real small tmpfs the test mounts (root only). A
// full disk mid-run or at start, a read-only worktree base and an unwritable TMPDIR each end in a
// typed error with a hint, a journal that reads whole, a run.json with the run's real end, and
// nothing left that reserves the run's name.

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const SIGNAL = "<promise>COMPLETE</promise>";
const corral = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1", ...env } });
const isRoot = process.getuid?.() === 0;

const mounts: string[] = [];
afterEach(async () => {
  for (const dir of mounts.splice(0)) await execa("umount", ["-l", dir], { reject: false });
});

/** A tmpfs of `size` at a fresh folder, unmounted after the test. */
async function tmpfs(size: string, readOnly = false): Promise<string> {
  const dir = await tempDir("corral-tmpfs-");
  await execa("mount", ["-t", "tmpfs", "-o", `${readOnly ? "ro," : ""}size=${size}`, "tmpfs", dir]);
  mounts.push(dir);
  return dir;
}

/** A repository on its own small disk. */
async function repoOnTmpfs(size = "8m"): Promise<{ disk: string; repo: string }> {
  const disk = await tmpfs(size);
  const repo = join(disk, "repo");
  mkdirSync(repo);
  await gitIn(repo, "init", "-q", "-b", "main");
  await gitIn(repo, "commit", "-q", "--allow-empty", "-m", "initial");
  return { disk, repo };
}

const runFolders = (repo: string) => (existsSync(join(repo, ".corral", "runs")) ? readdirSync(join(repo, ".corral", "runs")) : []);
const record = (repo: string) => JSON.parse(readFileSync(join(repo, ".corral", "runs", runFolders(repo)[0]!, "run.json"), "utf8")) as Record<string, any>;
/** Every line of events.jsonl, parsed: a torn line throws. */
const journalLines = (repo: string) => {
  const text = readFileSync(join(repo, ".corral", "runs", runFolders(repo)[0]!, "events.jsonl"), "utf8");
  expect(text.endsWith("\n")).toBe(true);
  return text.slice(0, -1).split("\n").map((line) => JSON.parse(line) as { type: string; status?: string; lines?: string; event?: { text?: string } });
};
/** Files anywhere under `dir` whose name matches. */
const strays = (dir: string, pattern: RegExp): string[] =>
  readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((path) => pattern.test(path.split("/").at(-1)!));

describe.runIf(requireTool(isRoot, "mounting a tmpfs needs root"))("the journal on a full disk", () => {
  // The agent prints, fills the disk, prints on (lost), frees it, and prints on (journaled again).
  const agent = (fill: string, free: boolean) => [
    "--",
    "sh",
    "-c",
    `echo before; head -c 64M /dev/zero > '${fill}' 2>/dev/null; i=0; while [ $i -lt 3000 ]; do echo "lost line $i of output"; i=$((i+1)); done; ${free ? `rm -f '${fill}'; ` : ""}echo after; echo '${SIGNAL}'`,
  ];

  it("mid-run, freed again: the journal has no torn line, says what it lost, goes on after, and the run succeeds", async () => {
    const { disk, repo } = await repoOnTmpfs();
    const r = await corral(["run", "--prompt", "p", "--name", "full", ...agent(join(disk, "fill.bin"), true)], repo);
    expect(r.exitCode).toBe(0);
    const lines = journalLines(repo);
    const texts = (await corral(["runs", "logs", "full", "--json"], repo)).stdout.trim().split("\n").map((l) => JSON.parse(l) as { event?: { text?: string } }).flatMap((e) => agentEventsOf(e as unknown as RunEvent).flatMap((a) => (a.type === "text" ? [a.text] : [])));
    expect(texts).toContain("before");
    expect(texts).toContain("after"); // written again once the disk had room
    expect(lines.at(-1)).toMatchObject({ type: "run.finished", status: "succeeded" });
    const rec = record(repo);
    expect(rec.state).toBe("succeeded");
    expect(rec.lost).toMatchObject({ reason: "ENOSPC", droppedEvents: expect.any(Number) });
    expect(rec.lost.droppedEvents).toBeGreaterThan(0);
    expect(strays(repo, /\.tmp$/)).toEqual([]);
  });

  it("mid-run, still full at the end: exit 1 with E_DISK_FULL and a hint; run.json says failed (not running), with the error", async () => {
    const { disk, repo } = await repoOnTmpfs();
    const r = await corral(["run", "--prompt", "p", "--name", "full", ...agent(join(disk, "fill.bin"), false)], repo);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/No space left on the disk/);
    expect(r.stderr).toMatch(/hint: Free some space/);
    expect(r.stderr).not.toMatch(/please report it/);
    const rec = record(repo);
    expect(rec).toMatchObject({ state: "failed", error: { code: "E_DISK_FULL" } });
    expect(rec.ended).toBeDefined();
    journalLines(repo); // every line whole
    const listed = await corral(["runs", "list", "--json"], repo);
    expect((JSON.parse(listed.stdout) as Array<{ state: string }>)[0]!.state).toBe("failed"); // not "interrupted"
    expect(strays(repo, /\.tmp$/)).toEqual([]);
  });

  it("full at start: a typed error, no run folder, status file or temp file left; the name is free once there is room", async () => {
    const { disk, repo } = await repoOnTmpfs();
    await execa("sh", ["-c", `head -c 64M /dev/zero > '${join(disk, "fill.bin")}'`], { reject: false });
    const r = await corral(["run", "--prompt", "p", "--name", "start", "--", "sh", "-c", `echo '${SIGNAL}'`], repo);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/No space left on the disk/);
    expect(r.stderr).not.toMatch(/please report it/);
    expect(runFolders(repo)).toEqual([]);
    expect(strays(join(repo, ".git"), /^start\.json|\.tmp$/)).toEqual([]);
    expect(strays(repo, /^run\.json\..*\.tmp$/)).toEqual([]);

    rmSync(join(disk, "fill.bin"));
    const again = await corral(["run", "--prompt", "p", "--name", "start", "--", "sh", "-c", `echo '${SIGNAL}'`], repo);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain("branch corral/start kept"); // the name, not start-2
    expect(record(repo)).toMatchObject({ name: "start", state: "succeeded" });
  });
});

describe.runIf(requireTool(isRoot, "mounting a tmpfs needs root"))("folders corral cannot write", () => {
  it("a read-only worktree base is E_WORKTREE_BASE_UNWRITABLE's message with a hint; the name is not reserved", async () => {
    const { repo } = await repoOnTmpfs();
    const readOnly = await tmpfs("1m", true);
    const config = join(await tempDir(), "corral.config.json");
    writeFileSync(config, JSON.stringify({ isolation: { name: "worktree", options: { baseDir: join(readOnly, "worktrees") } } }));
    const r = await corral(["run", "--config", config, "--prompt", "p", "--name", "ro", "--", "sh", "-c", `echo '${SIGNAL}'`], repo);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot make worktrees in .* \(EROFS\)/);
    expect(r.stderr).toMatch(/hint: .*baseDir/);
    expect(record(repo)).toMatchObject({ state: "failed", error: { code: "E_WORKTREE_BASE_UNWRITABLE" } });
    expect(strays(join(repo, ".git"), /^ro\.json/)).toEqual([]);
    // Twin: the default base (inside the repository) works, under the same name.
    const ok = await corral(["run", "--prompt", "p", "--name", "ro", "--", "sh", "-c", `echo '${SIGNAL}'`], repo);
    expect(ok.exitCode).toBe(0);
    expect(ok.stderr).toContain("branch corral/ro kept");
  });

  it("an unwritable or missing TMPDIR is E_TEMP_DIR_UNWRITABLE's message with a hint", async () => {
    const { repo } = await repoOnTmpfs();
    const readOnly = await tmpfs("1m", true);
    for (const [tmp, code] of [[readOnly, "EROFS"], [join(readOnly, "missing"), "ENOENT"]] as const) {
      const r = await corral(["run", "--isolation", "in-place", "--prompt", "p", "--", "sh", "-c", `echo '${SIGNAL}'`], repo, { TMPDIR: tmp });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`cannot make its temporary folders in ${tmp} (${code})`);
      expect(r.stderr).toMatch(/hint: Point TMPDIR at a folder you can write/);
    }
    const ok = await corral(["run", "--isolation", "in-place", "--prompt", "p", "--", "sh", "-c", `echo '${SIGNAL}'`], repo, { TMPDIR: await tempDir() });
    expect(ok.exitCode).toBe(0);
  });
});
