// Container start and per-exec overhead of the docker sandbox against raw `docker run -d` and
// `docker exec` with the same hardening flags, and how long stopping an agent that dodges takes
// (ignores SIGTERM, rewrites pid files, leaves its group; ADR 0404) with the default grace. Run after `pnpm build`, with dockerd up and the
// test image built (tooling/ci/engines.sh start && tooling/ci/engines.sh images).
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { measure, report, skip } from "../../../tooling/bench/measure.mjs";

const SUITE = "sandbox-docker";
const IMAGE = process.env.CORRAL_TEST_IMAGE ?? "corral-test:local";
const run = promisify(execFile);

const { docker, dockerSandbox } = await import("../dist/index.js");
const sandbox = dockerSandbox.create(docker({ image: IMAGE }).options);
const availability = await sandbox.check();
if (!availability.available) {
  skip(SUITE, availability.reason);
  process.exit(0);
}

const root = await mkdtemp(join(tmpdir(), "corral-bench-docker-"));
let n = 0;
const spec = () => ({
  runId: `bench-${process.pid}-${++n}`,
  workspace: { path: root, cwd: root },
  gitMounts: [],
  home: root,
  mounts: [],
  env: { PATH: "/usr/bin:/bin", HOME: root },
  network: "none",
  limits: {},
});
// The raw floor: the same container the plugin makes, through the docker CLI.
const uid = `${process.getuid()}:${process.getgid()}`;
const rawRun = (name) => [
  "run", "-d", "--rm", "--name", name, "--init", "--user", uid, "--workdir", root, "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=1g",
  "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--network", "none", "--memory", "4g", "--memory-swap", "4g", "--pids-limit", "1024",
  "--mount", `type=bind,source=${root},target=${root}`, IMAGE, "sleep", "infinity",
];

const started = [];
const pluginStart = await measure(async () => started.push(await sandbox.create(spec())), { warmup: 2, samples: 10 });
await Promise.all(started.splice(0).map((h) => h.close()));
const rawNames = [];
const rawStart = await measure(async () => {
  const name = `corral-bench-raw-${process.pid}-${++n}`;
  rawNames.push(name);
  await run("docker", rawRun(name));
}, { warmup: 2, samples: 10 });
await run("docker", ["rm", "-f", ...rawNames]);

const handle = await sandbox.create(spec());
const pluginExec = await measure(() => handle.exec(["true"]), { warmup: 3, samples: 20 });
// From the abort to exec() returning, for an agent that does everything to stay alive.
const dodger = `trap '' TERM INT HUP; for f in /tmp/*.pid /tmp/.corral-*; do [ -f "$f" ] && echo 1 > "$f"; done
(sh -c "trap '' TERM; while :; do sleep 1; done" &) </dev/null >/dev/null 2>&1; echo started; while :; do sleep 1; done`;
const stopDodger = [];
await measure(async () => {
  const abort = new AbortController();
  let at = 0;
  await handle.exec(["sh", "-c", dodger], { signal: abort.signal, onLine: (line) => line === "started" && ((at = performance.now()), abort.abort()) });
  stopDodger.push(performance.now() - at);
}, { warmup: 0, samples: 5 });
const rawExec = await measure(() => run("docker", ["exec", handle.id, "true"]), { warmup: 3, samples: 20 });
await handle.close();
await rm(root, { recursive: true, force: true });

report(SUITE, [
  { name: "container start via plugin", unit: "ms", samples: pluginStart, floor: "container start via raw docker run -d", target: "<= 1.10x floor" },
  { name: "container start via raw docker run -d", unit: "ms", samples: rawStart },
  { name: "exec true via plugin", unit: "ms", samples: pluginExec, floor: "exec true via raw docker exec", target: "<= 1.10x floor" },
  { name: "exec true via raw docker exec", unit: "ms", samples: rawExec },
  { name: "stop of a dodging agent (2 s grace)", unit: "ms", samples: stopDodger, target: "< 3000" },
]);
