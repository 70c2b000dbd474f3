import { fileURLToPath } from "node:url";
import { tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
const AGENT = ["--", "sh", "-c", 'echo "$(date +%s%N)" >> work.txt; git add work.txt; git -c user.name=A -c user.email=a@example.com commit -qm work; echo "<promise>COMPLETE</promise>"', "{prompt}"];

describe("corral runs", () => {
  it("`corral runs <id>` is `corral runs show <id>`, and a released worktree shows as removed", async () => {
    const repo = await tempRepo();
    expect((await corral(["run", "--prompt", "p", "--name", "shortcut", ...AGENT], repo)).exitCode).toBe(0);
    const show = await corral(["runs", "show", "shortcut"], repo);
    const short = await corral(["runs", "shortcut"], repo);
    expect(show.exitCode).toBe(0);
    expect(short.stdout).toBe(show.stdout);
    expect(show.stdout).toMatch(/workspace: .*\.corral\/worktrees\/shortcut \(removed\)/);
    expect(show.stdout).toContain("branch: corral/shortcut");
  });

  it("an in-place run's workspace (the checkout) is not marked removed; an unknown run is a usage error", async () => {
    const repo = await tempRepo();
    expect((await corral(["run", "--isolation", "in-place", "--prompt", "p", "--name", "here", ...AGENT], repo)).exitCode).toBe(0);
    const show = await corral(["runs", "here"], repo);
    expect(show.stdout).toContain(`workspace: ${repo}\n`);
    const unknown = await corral(["runs", "no-such-run"], repo);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/no-such-run/);
  });
});
