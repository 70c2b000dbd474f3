import { existsSync } from "node:fs";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

// The published command itself, started the way a shell starts it (its #! line), not as `node dist/bin.js`.
const BIN = fileURLToPath(new URL("../bin/corral.js", import.meta.url));
const corral = (bin: string, args: string[], cwd: string) => execa(bin, args, { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });

describe("the corral bin hands every argument to corral, whatever Node would read in it", () => {
  it.each(["--env-file nope.env", "--env-file=nope.env"])("`corral run %s` is corral's error (exit 2), not node's exit 9", async (flag) => {
    const repo = await tempRepo();
    const r = await corral(BIN, ["run", ...flag.split(" "), "--isolation", "in-place", "--prompt", "x", "--", "true"], repo);
    expect(r.stderr).not.toContain("node:");
    expect(r.stderr).toContain(`Cannot read the env file ${join(repo, "nope.env")}: it does not exist.`);
    expect(r.exitCode).toBe(2);
  });

  it("an env file's NODE_OPTIONS reaches the agent as data and never runs in corral's own node", async () => {
    const repo = await tempRepo();
    const marker = join(await tempDir(), "loaded");
    const evil = join(await tempDir(), "evil.cjs");
    await writeFile(evil, `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "yes");\n`);
    const envFile = join(await tempDir(), "run.env");
    await writeFile(envFile, `NODE_OPTIONS="--require ${evil}"\nGREETING=hello\n`);
    const agent = 'echo "greeting=$GREETING" > seen.txt; echo "<promise>COMPLETE</promise>"';
    const r = await corral(BIN, ["run", "--env-file", envFile, "--isolation", "in-place", "--prompt", "x", "--", "sh", "-c", agent], repo);
    expect(r.stderr).toContain("run succeeded");
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(repo, "seen.txt"), "utf8")).toBe("greeting=hello\n");
    expect(existsSync(marker)).toBe(false);
  });

  it("works through a symlink (how npm installs a global bin), arguments kept exactly", async () => {
    const dir = await tempDir();
    const link = join(dir, "corral");
    await symlink(BIN, link);
    const version = await corral(link, ["--version"], dir);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    const r = await corral(link, ["frobnicate", "a b", "$HOME", "--", "--env-file"], dir);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.exitCode).toBe(2);
  });
});
