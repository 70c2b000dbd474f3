// Case 10, remote engines (issue 20): the docker sandbox on the local socket against the same
// sandbox on a second, real engine over tcp+TLS (tooling/ci/remote-engine.sh: another dockerd in a
// network namespace, TLS certificates made for the test), same image:
//   - one exec of `true` (output streamed, as the run loop does): remote over TCP+TLS and over ssh vs the local socket;
//   - one proxied HTTP request from inside a container (`network: "proxy"`, curl's own time_total): the
//     tcp+TLS exec-stream relay and the ssh relay vs the local nsenter bridge, all to the same proxy;
//   - a whole one-iteration run (copied workspace in and out, the `command` agent making a commit):
//     remote vs local, both with `workspace: "copy"` so only the engine's place differs.
// The same two for podman: the remote podman service over corral's ssh (a forwarded socket, ADR 0430)
// vs this machine's podman.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createServer } from "node:http";
import { join } from "node:path";
import { commandAgent, instantiate, parsePolicy, run } from "../../packages/core/dist/index.js";
import { EgressProxy } from "../../packages/core/dist/testing/index.js";
import { baseEnv, makeRepo, removeDir, tempDir, TEST_IMAGE } from "./fixtures.mjs";
import { measureEach, note, quick, report, skip } from "./measure.mjs";

const script = fileURLToPath(new URL("../ci/remote-engine.sh", import.meta.url));
let env;
try {
  if (process.getuid?.() !== 0) throw new Error("the remote test engine needs root");
  const status = execFileSync("bash", [script, "status"], { encoding: "utf8" });
  execFileSync("bash", [script, /remote docker: \d/.test(status) ? "load" : "start"], { stdio: ["ignore", "ignore", "inherit"] });
  env = Object.fromEntries(execFileSync("bash", [script, "env"], { encoding: "utf8" }).trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
} catch (error) {
  skip("remote", `remote engine unavailable: ${error.message}`);
  process.exit(0);
}
const { docker } = await import("../../packages/sandbox-docker/dist/index.js");
const { podman } = await import("../../packages/sandbox-podman/dist/index.js");
const { worktree } = await import("../../packages/worktree-git/dist/index.js");
const local = docker({ image: TEST_IMAGE });
const remote = docker({ image: TEST_IMAGE, host: env.CORRAL_REMOTE_DOCKER_TCP, tlsVerify: true, certPath: env.CORRAL_REMOTE_DOCKER_CERT_PATH });
const overSsh = docker({ image: TEST_IMAGE, host: env.CORRAL_REMOTE_SSH, sshIdentity: env.CORRAL_REMOTE_SSH_KEY, sshKnownHosts: env.CORRAL_REMOTE_SSH_KNOWN_HOSTS });
const localPodman = podman({ image: TEST_IMAGE });
const remotePodman = podman({ image: TEST_IMAGE, host: env.CORRAL_REMOTE_PODMAN, sshIdentity: env.CORRAL_REMOTE_SSH_KEY, sshKnownHosts: env.CORRAL_REMOTE_SSH_KNOWN_HOSTS });
for (const [name, configured] of [["local docker", local], ["remote docker", remote], ["ssh docker", overSsh], ["local podman", localPodman], ["remote podman", remotePodman]]) {
  const availability = await instantiate("sandbox", configured).check();
  if (!availability.available) {
    skip("remote", `${name}: ${availability.reason}`);
    process.exit(0);
  }
}

const cases = [];
const home = await tempDir("corral-bench-home-");
const copySpec = (runId) => ({ runId, workspace: { path: "/tmp/corral/workspace", cwd: "/tmp/corral/workspace", copy: true }, gitMounts: [], home, mounts: [], env: { ...baseEnv, HOME: home }, network: "none", limits: {} });
const onLine = () => {};
const repo = await makeRepo();
try {
  // exec: both handles live, timed in rotation.
  const handles = [];
  for (const configured of [local, remote, overSsh]) handles.push(await instantiate("sandbox", configured).create(copySpec(`bench-remote-${process.pid}-${handles.length}`)));
  try {
    note("exec true: local socket, tcp+TLS and ssh (in rotation)");
    const ok = (r) => {
      if (r.exitCode !== 0) throw new Error(`exec exited ${r.exitCode}`);
    };
    const [viaLocal, viaRemote, viaSsh] = await measureEach(handles.map((h) => () => h.exec(["true"], { cwd: "/tmp", onLine }).then(ok)), { warmup: 3, samples: 20 });
    cases.push(
      { name: "exec true, remote docker (tcp+TLS)", unit: "ms", samples: viaRemote, floor: "exec true, local docker (unix socket)" },
      { name: "exec true, remote docker (ssh)", unit: "ms", samples: viaSsh, floor: "exec true, local docker (unix socket)" },
      { name: "exec true, local docker (unix socket)", unit: "ms", samples: viaLocal },
    );
  } finally {
    for (const h of handles) await h.close();
  }

  // The egress proxy's per-connection cost: one request through it from inside each container, in rotation.
  const upstream = createServer((request, response) => response.end("ok"));
  await new Promise((done) => upstream.listen(0, "127.0.0.1", done));
  const port = upstream.address().port;
  const socket = join(home, "relay-proxy.sock");
  const proxy = await EgressProxy.start(socket, { policy: parsePolicy({ allow: [`allowed.test:${port}`] }), hosts: { "allowed.test": "127.0.0.1" } });
  const proxied = [];
  try {
    for (const configured of [local, remote, overSsh]) proxied.push(await instantiate("sandbox", configured).create({ ...copySpec(`bench-relay-${process.pid}-${proxied.length}`), network: { mode: "proxy", socket, ports: { http: 3128, socks: 1080 } } }));
    note("one proxied request from inside the container: local bridge, tcp+TLS relay, ssh relay (in rotation)");
    const request = async (handle) => {
      const lines = [];
      const r = await handle.exec(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}\n", "--proxy", "http://127.0.0.1:3128", `http://allowed.test:${port}/`], { cwd: "/tmp", onLine: (line, stream) => void (stream === "stdout" && lines.push(line)) });
      const [code, seconds] = (lines[0] ?? "").split(" ");
      if (r.exitCode !== 0 || code !== "200") throw new Error(`proxied request failed: exit ${r.exitCode}, ${lines.join(" ")}`);
      return Number(seconds) * 1000;
    };
    const samples = proxied.map(() => []);
    for (let i = 0; i < (quick ? 5 : 23); i++) for (const [k, handle] of proxied.entries()) {
      const ms = await request(handle);
      if (i >= 3) samples[k].push(ms); // the first three warm up
    }
    cases.push(
      { name: "proxied request, remote docker (tcp+TLS, exec-stream relay)", unit: "ms", samples: samples[1], floor: "proxied request, local docker (nsenter bridge)" },
      { name: "proxied request, remote docker (ssh relay)", unit: "ms", samples: samples[2], floor: "proxied request, local docker (nsenter bridge)" },
      { name: "proxied request, local docker (nsenter bridge)", unit: "ms", samples: samples[0] },
    );
  } finally {
    for (const h of proxied) await h.close();
    await proxy.close();
    await new Promise((done) => upstream.close(done));
  }
  if (process.env.BENCH_REMOTE === "relay") throw Object.assign(new Error("done"), { relayOnly: true });

  // A one-iteration run making a commit, copied workspace, on each engine.
  const agent = commandAgent.configure({ argv: ["sh", "-c", "echo bench > bench.txt && git add bench.txt && git -c user.name=b -c user.email=b@example.invalid commit -qm bench"] });
  const runOn = (sandbox) => async () => {
    const result = await run({ agent, sandbox, isolation: worktree(), workspace: "copy", cwd: repo, prompt: "bench", maxIterations: 1, handleProcessSignals: false, network: "none", env: { ...baseEnv } });
    if (result.status !== "completed" && result.status !== "incomplete") throw new Error(`run ${result.status}: ${result.error?.message ?? ""}`);
    if (!result.commits?.length) throw new Error("the run's commit did not come back");
  };
  note("1-iteration runs (copied workspace): local and remote (in rotation)");
  const [runLocal, runRemote] = await measureEach([runOn(local), runOn(remote)], { warmup: 1, samples: 5 });
  cases.push(
    { name: "1-iteration run, remote docker (tcp+TLS, copy)", unit: "ms", samples: runRemote, floor: "1-iteration run, local docker (copy)" },
    { name: "1-iteration run, local docker (copy)", unit: "ms", samples: runLocal },
  );

  // podman: exec over the forwarded socket (ssh) vs the local engine, then a one-iteration run on each.
  const podmanHandles = [];
  for (const configured of [localPodman, remotePodman]) podmanHandles.push(await instantiate("sandbox", configured).create(copySpec(`bench-remote-podman-${process.pid}-${podmanHandles.length}`)));
  try {
    note("exec true: local podman and remote podman over ssh (in rotation)");
    const ok = (r) => {
      if (r.exitCode !== 0) throw new Error(`exec exited ${r.exitCode}`);
    };
    const [viaLocal, viaSsh] = await measureEach(podmanHandles.map((h) => () => h.exec(["true"], { cwd: "/tmp", onLine }).then(ok)), { warmup: 3, samples: 20 });
    cases.push(
      { name: "exec true, remote podman (ssh)", unit: "ms", samples: viaSsh, floor: "exec true, local podman" },
      { name: "exec true, local podman", unit: "ms", samples: viaLocal },
    );
  } finally {
    for (const h of podmanHandles) await h.close();
  }
  note("1-iteration runs (copied workspace): local and remote podman (in rotation)");
  const [podmanLocal, podmanRemote] = await measureEach([runOn(localPodman), runOn(remotePodman)], { warmup: 1, samples: 5 });
  cases.push(
    { name: "1-iteration run, remote podman (ssh, copy)", unit: "ms", samples: podmanRemote, floor: "1-iteration run, local podman (copy)" },
    { name: "1-iteration run, local podman (copy)", unit: "ms", samples: podmanLocal },
  );
} catch (error) {
  if (!error.relayOnly) throw error; // BENCH_REMOTE=relay: only the rows above
} finally {
  await removeDir(repo);
  await removeDir(home);
}
report("remote", cases, { notes: ["the remote engine is a second dockerd in a network namespace on this machine (veth, no real network latency): the ratio is the cost of TCP+TLS and of not sharing the host's files, not of distance"] });
