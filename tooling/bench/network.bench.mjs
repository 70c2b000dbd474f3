// The egress proxy (issue 16): what a network allowlist costs, measured on the path a sandbox uses —
// a TCP port on its loopback, a socat forwarder, the proxy's unix socket, then the upstream — against
// the same request straight to the upstream (the floor).
//   1. connection setup: a fresh connection and one small HTTP request (time to the whole response)
//   2. throughput of a 100 MB download (MB/s)
//   3. the per-run cost of starting the proxy (and closing it)
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePolicy } from "../../packages/core/dist/index.js";
import { EgressProxy } from "../../packages/core/dist/testing/index.js";
import { collect, measure, measureEach, note, quick, report, skip } from "./measure.mjs";
import { runQuiet } from "./fixtures.mjs";

if ((await runQuiet(["sh", "-c", "command -v socat"]))?.exitCode !== 0) {
  skip("network", "socat is not installed (apt-get install socat): it is the sandbox side of the proxy");
  process.exit(0);
}

const MB = quick ? 20 : 100;
/** The upstream server's program: `/big` is MB MiB, anything else a short answer; prints its port. */
const UPSTREAM = `
import { createServer } from "node:http";
const MB = Number(process.argv[1]), chunk = Buffer.alloc(1 << 20, "x");
const server = createServer((req, res) => {
  if (req.url !== "/big") return res.end("ok\\n");
  res.writeHead(200, { "content-length": String(MB * chunk.length) });
  let left = MB;
  const pump = () => { while (left > 0) { left--; if (!res.write(chunk)) return res.once("drain", pump); } res.end(); };
  pump();
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

// The upstream is another process (as a real server is), so the proxy does not share its event loop.
const upstreamProcess = spawn(process.execPath, ["--input-type=module", "-e", UPSTREAM, String(MB)], { stdio: ["ignore", "pipe", "inherit"] });
const upstreamPort = Number(await new Promise((resolve) => upstreamProcess.stdout.once("data", (data) => resolve(String(data).trim()))));

const dir = mkdtempSync(join(tmpdir(), "corral-bench-net-"));
const socket = join(dir, "proxy.sock");
const policy = parsePolicy({ allow: [`bench.test:${upstreamPort}`] });
const proxy = await EgressProxy.start(socket, { policy, hosts: { "bench.test": "127.0.0.1" } });
// The sandbox's side: the forwarder bwrap and the container bridge start (one socat, forking per connection).
const forwardPort = 20000 + (process.pid % 20000);
const forwarder = spawn("socat", [`TCP-LISTEN:${forwardPort},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${socket}`], { stdio: "ignore" });
await waitForPort(forwardPort);

/** One GET on a fresh connection; resolves with the body's size. */
const get = (viaProxy, path) =>
  new Promise((resolve, reject) => {
    const options = viaProxy
      ? { host: "127.0.0.1", port: forwardPort, path: `http://bench.test:${upstreamPort}${path}`, headers: { host: `bench.test:${upstreamPort}` }, agent: false }
      : { host: "127.0.0.1", port: upstreamPort, path, agent: false };
    const req = request(options, (res) => {
      let size = 0;
      res.on("data", (data) => (size += data.length));
      res.on("end", () => (res.statusCode === 200 ? resolve(size) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });

note("connection setup");
const [viaSetup, directSetup] = await measureEach([() => get(true, "/small"), () => get(false, "/small")], { warmup: 5, samples: 40 });

note(`${MB} MB download (curl)`);
/** curl's own measure of the download rate, in MB/s; it fails on a short or refused download. */
const curlRate = (...args) =>
  new Promise((resolve, reject) =>
    execFile("curl", ["-sSf", "-o", "/dev/null", "-w", "%{speed_download} %{size_download}", ...args], (error, stdout) => {
      const [speed, size] = String(stdout).split(" ").map(Number);
      if (error || size !== MB * 2 ** 20) return reject(error ?? new Error(`got ${size} bytes`));
      resolve(speed / 2 ** 20);
    }),
  );
const big = `http://bench.test:${upstreamPort}/big`;
const proxyFlag = ["--proxy", `http://127.0.0.1:${forwardPort}`];
const rates = { tunnel: [], plain: [], direct: [] };
// In rotation, like measureEach, but each sample is a rate.
await collect(async () => {
  rates.tunnel.push(await curlRate(...proxyFlag, "--proxytunnel", big));
  rates.plain.push(await curlRate(...proxyFlag, big));
  rates.direct.push(await curlRate(`http://127.0.0.1:${upstreamPort}/big`));
}, { warmup: 1, samples: 7 });

note("proxy start and close");
let n = 0;
const startClose = await measure(async () => {
  const p = await EgressProxy.start(join(dir, `p${n++}.sock`), { policy });
  await p.close();
});
const startOnly = [];
await collect(async () => {
  const t = performance.now();
  const p = await EgressProxy.start(join(dir, `s${n++}.sock`), { policy });
  startOnly.push(performance.now() - t);
  await p.close();
}, { warmup: 3, samples: 15 });

forwarder.kill("SIGKILL");
upstreamProcess.kill("SIGKILL");
await proxy.close();
rmSync(dir, { recursive: true, force: true });

report("network", [
  { name: "fresh connection + small GET through socat and the proxy", unit: "ms", samples: viaSetup, floor: "fresh connection + small GET, direct", note: "the sandbox's path: loopback port, socat, the proxy's unix socket" },
  { name: "fresh connection + small GET, direct", unit: "ms", samples: directSetup },
  { name: `${MB} MB download through socat and the proxy, tunnelled (CONNECT, as HTTPS is)`, unit: "MB/s", samples: rates.tunnel, floor: `${MB} MB download, direct`, target: ">= 0.8x floor" },
  { name: `${MB} MB download through socat and the proxy, plain HTTP`, unit: "MB/s", samples: rates.plain, floor: `${MB} MB download, direct` },
  { name: `${MB} MB download, direct`, unit: "MB/s", samples: rates.direct, note: "curl from a node upstream on the loopback" },
  { name: "egress proxy start", unit: "ms", samples: startOnly, target: "<= 20 ms" },
  { name: "egress proxy start + close", unit: "ms", samples: startClose },
]);

async function waitForPort(port) {
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`socat did not listen on ${port}`);
}

