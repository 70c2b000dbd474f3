// Case 2, per-exec overhead: one iteration's exec (`true`, output streamed line by line, as the
// run loop does) through each sandbox's handle, against the raw tool with the same flags on the
// same live sandbox: `true` on the host, bwrap with the argv the plugin builds (argvFor),
// `docker exec` / `podman exec` into the same container. Target: <= 1.10x floor + 5 ms.
import { instantiate } from "../../packages/core/dist/index.js";
import { spawnStreaming } from "../../packages/core/dist/plugin-kit.js";
import { availableSandboxes, baseEnv, makeRepo, rawBwrapTrue, removeDir, specFor, tempDir } from "./fixtures.mjs";
import { measurePair, note, report, skip } from "./measure.mjs";

const only = process.env.BENCH_SANDBOXES?.split(",");
const { ready, skipped } = await availableSandboxes(only ? { only } : {});
if (ready.length === 0) {
  skip("exec", skipped.map((s) => `${s.name}: ${s.reason}`).join("; "));
  process.exit(0);
}

const repo = await makeRepo();
const home = await tempDir("corral-bench-home-");
const cases = [];
const notes = skipped.map((s) => `${s.name} skipped: ${s.reason}`);

const mustSucceed = (what) => (r) => {
  if (r.exitCode !== 0) throw new Error(`${what} exited with ${r.exitCode ?? r.signal}`);
};
const onLine = () => {};

/** The raw tool's argv (and env) with the flags the plugin uses, on the same live sandbox. */
function rawExec(name, handle) {
  const env = { ...baseEnv, HOME: home };
  switch (name) {
    case "host":
      return () => spawnStreaming(["true"], { cwd: repo, env, onLine });
    case "bwrap":
      // The seccomp program goes on fd 3, as the plugin hands it over.
      return rawBwrapTrue(handle, env);
    case "docker":
      return () => spawnStreaming(["docker", "exec", ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]), "--workdir", repo, handle.id, "true"], { env: { PATH: process.env.PATH }, onLine });
    case "podman":
      return () => spawnStreaming(["podman", "exec", ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]), "--workdir", repo, handle.id, "true"], { env: { PATH: process.env.PATH, HOME: process.env.HOME ?? "/root" }, onLine });
  }
}

try {
  for (const { name, configured } of ready) {
    const sandbox = instantiate("sandbox", configured);
    const handle = await sandbox.create(specFor(repo, home));
    try {
      const samples = name === "host" || name === "bwrap" ? 30 : 15;
      note(`${name}: exec true via the plugin, and the raw tool (interleaved)`);
      const [viaPlugin, raw] = await measurePair(
        () => handle.exec(["true"], { cwd: repo, onLine }).then(mustSucceed(`${name} exec`)),
        () => rawExec(name, handle)().then(mustSucceed(`raw ${name}`)),
        { warmup: 3, samples },
      );
      const rawName = { host: "spawn true", bwrap: "raw bwrap (same argv)", docker: "raw docker exec (CLI)", podman: "raw podman exec" }[name];
      cases.push(
        { name: `exec true via ${name}`, unit: "ms", samples: viaPlugin, floor: rawName, target: "<= 1.10x floor + 5ms" },
        { name: rawName, unit: "ms", samples: raw },
      );
    } finally {
      await handle.close();
    }
  }
} finally {
  await removeDir(repo);
  await removeDir(home);
}
if (ready.some((s) => s.name === "docker")) notes.push("docker: the plugin talks to dockerd through its API (dockerode); the floor is the docker CLI, which starts a Go client per exec");
report("exec", cases, { notes });
