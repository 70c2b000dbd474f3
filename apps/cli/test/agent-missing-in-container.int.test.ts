import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTAINER_TEST_IMAGE, containerEngineReady, requireTool, tempDir, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/corral.js", import.meta.url));

describe("an agent program missing inside the container", () => {
  for (const engine of ["docker", "podman"] as const) {
    it(`${engine}: is said to be missing there (exit 126/127), never a credentials problem; twin: one that is there runs`, async (ctx) => {
      const ready = await containerEngineReady(engine);
      if (!requireTool(ready.ready, ready.reason)) ctx.skip();
      const repo = await tempRepo();
      const config = join(await tempDir(), "corral.config.json");
      await writeFile(config, JSON.stringify({ sandbox: { name: engine, options: { image: CONTAINER_TEST_IMAGE } } }));
      const run = (argv: string[]) => execa(BIN, ["run", "--config", config, "--prompt", "p", "--", ...argv], { cwd: repo, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });
      const missing = await run(["corral-no-such-agent", "{prompt}"]);
      expect(missing.exitCode).toBe(1);
      // docker's runtime says 126, podman's 127: either way the program is not there.
      expect(missing.stderr).toMatch(/Exit 12[67] means `corral-no-such-agent` could not be started inside the sandbox/);
      expect(missing.stderr).not.toMatch(/credentials/);
      const present = await run(["sh", "-c", 'echo "<promise>COMPLETE</promise>"', "{prompt}"]);
      expect(present.exitCode, present.stderr).toBe(0);
    });
  }
});
