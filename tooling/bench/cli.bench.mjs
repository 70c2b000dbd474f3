// Case 1, CLI start: `corral --help` and `corral plugins` against the floor of starting node
// at all (`node -e 0`). Target: <= 1.5x node's own start.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { spawnStreaming } from "../../packages/core/dist/plugin-kit.js";
import { measureEach, note, report, skip } from "./measure.mjs";

const bin = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));
if (!existsSync(bin)) {
  skip("cli", `${bin} is not built (pnpm build)`);
  process.exit(0);
}

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };
const start = (argv) => async () => {
  const r = await spawnStreaming([process.execPath, ...argv], { env, cwd: process.cwd() });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited with ${r.exitCode}`);
};

note("node -e 0, corral --help, corral plugins (in rotation)");
const [floor, help, plugins] = await measureEach([start(["-e", "0"]), start([bin, "--help"]), start([bin, "plugins"])], { warmup: 2, samples: 15 });

report("cli", [
  { name: "node -e 0", unit: "ms", samples: floor },
  { name: "corral --help", unit: "ms", samples: help, floor: "node -e 0", target: "<= 1.5x floor" },
  { name: "corral plugins", unit: "ms", samples: plugins, floor: "node -e 0", target: "<= 1.5x floor", note: "probes every installed plugin (bwrap, docker, podman availability)" },
]);
