// One sample of the output scale case, in its own node process (so peak RSS is its own):
//   node output-scale-child.mjs <short-lines|one-line> <corral|floor|chunks> <MB> <budget seconds> <repo>
// short-lines: the command agent prints MB MiB of 2-byte lines (`yes | head -c`); one-line: MB MiB
// without a newline. The corral library runs it (host sandbox, in place, run journal on); a run
// that has not finished within the budget is aborted and the rate is over what it had processed.
// floor: the same command through spawnStreaming, lines discarded (what the Sandbox seam's `onLine`
// costs before corral does anything); chunks: the same command spawned and read, no line splitting.
// Prints { seconds, MB, cpuMs,
// maxRssMB, journalMB, finished }.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ownUsage } from "./fixtures.mjs";

const [shape, mode, mbArg, budgetArg, repo] = process.argv.slice(2);
const bytes = Number(mbArg) * 2 ** 20;
const what = shape === "one-line" ? `head -c ${bytes} /dev/zero | tr '\\0' x` : `yes | head -c ${bytes}`;
const argv = ["sh", "-c", what];
const env = { PATH: "/usr/local/bin:/usr/bin:/bin" };
const started = performance.now();
let seen = 0;
let finished = true;
if (mode === "chunks") {
  // What a sandbox seam that hands over read chunks (not lines) would start from: spawn and read, bytes counted.
  const { spawn } = await import("node:child_process");
  await new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => (seen += chunk.length));
    child.stderr.resume();
    child.on("error", reject);
    child.on("close", resolve);
  });
} else if (mode === "floor") {
  const { spawnStreaming } = await import("../../packages/core/dist/plugin-kit.js");
  await spawnStreaming(["sh", "-c", what], { env, onLine: (line) => (seen += line.length + 1) });
} else {
  const lib = await import("../../apps/corral/dist/index.js");
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort("bench budget"), Number(budgetArg) * 1000);
  const result = await lib
    .run({
    agent: lib.commandAgent.configure({ argv }),
    sandbox: lib.hostSandbox.configure({}),
    isolation: lib.inPlaceIsolation.configure({}),
    config: false,
    cwd: repo,
    prompt: "print",
    idleTimeout: 600,
    handleProcessSignals: false,
    env,
    signal: abort.signal,
    onEvent: (e) => {
      if (e.type === "agent.output" && e.kind === "text") for (const line of e.lines) seen += line.length + 1;
    },
    })
    // An abort at the budget ends the run with E_ABORTED: the sample is then rated over what it processed.
    .catch((error) => {
      if (error?.code !== "E_ABORTED") throw error;
      return { status: "aborted" };
    });
  clearTimeout(timer);
  finished = result.status !== "aborted";
}
const seconds = (performance.now() - started) / 1000;
const runs = join(repo, ".corral", "runs");
let journal = 0;
try {
  // This sample's run only (run ids sort by time): the samples of a case share the repository.
  const id = readdirSync(runs).sort().at(-1);
  if (id) for (const f of readdirSync(join(runs, id))) journal += statSync(join(runs, id, f)).size;
} catch {
  // no journal (the floor)
}
// A cut line counts as the whole line it stood for: the bytes were read.
const MB = shape === "one-line" || finished ? bytes / 2 ** 20 : seen / 2 ** 20;
console.log(JSON.stringify({ seconds, MB, finished, journalMB: journal / 2 ** 20, ...ownUsage() }));
