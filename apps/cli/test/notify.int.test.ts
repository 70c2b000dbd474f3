import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

// Issue 18, "Tell the user": `--notify CMD` runs on the host when the run ends.

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
const QUICK = ["--", "sh", "-c", 'echo "<promise>COMPLETE</promise>"', "{prompt}"];

describe("corral run --notify", () => {
  it("runs each notifier with run.finished on stdin and CORRAL_RUN_* env; a failing one is a warning and the exit code stands", async () => {
    const repo = await tempRepo();
    const r = await corral(["run", "--prompt", "work", "--name", "ping", "--notify", 'jq -r .status > told.txt || cat > told.txt', "--notify", 'echo "$CORRAL_RUN_NAME $CORRAL_RUN_STATUS" > env.txt; exit 5', ...QUICK], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readFile(join(repo, "env.txt"), "utf8")).toBe("ping succeeded\n");
    expect(await readFile(join(repo, "told.txt"), "utf8")).toContain("succeeded");
    expect(r.stderr).toMatch(/warning: The onRunFinished hook `echo .*` failed with exit code 5\. The run's result stands\./);
    // said before the summary, which stays the run's last word
    expect(r.stderr.indexOf("onRunFinished")).toBeLessThan(r.stderr.indexOf("run succeeded"));
  });
});
