// One sample of the output scale case, in its own node process (so peak RSS is its own):
//   node output-scale-child.mjs <short-lines|kib-lines|one-line|claude|codex> <corral|core|floor|blocks|chunks|parse|reencode> <MB> <budget seconds> <repo>
// short-lines: the command agent prints MB MiB of 2-byte lines (`yes | head -c`); kib-lines: of 1 KiB
// lines; one-line: MB MiB without a newline; claude: the claude agent (its stream-json parser) on one
// turn of MB MiB made from its recorded conversation (lines of 0.3–2.5 KB, varied prose); codex: the
// same for the codex agent (its --json events). corral: the corral library runs it (host
// sandbox, in place, run journal on); core: @corral/core's run(), no journal. A run that has not
// finished within the budget is aborted and the rate is over what it had processed.
// floor: the same command through spawnStreaming, lines discarded one by one (`onLine`); blocks: the
// same in blocks of whole lines (`onLines`, ADR 0720); chunks: the same command spawned and read, no
// line splitting; parse: the same lines one by one, each through JSON.parse (an agent stream's floor);
// reencode: that, and what each gave through JSON.stringify, appended to a file 256 KiB at a time (the
// floor of any journal of what was parsed). Prints { seconds, MB, cpuMs, maxRssMB, journalMB, finished, runSeconds, runCpuMs }:
// cpuMs and seconds from the process start, runSeconds and runCpuMs around the work alone (no imports).
import { chmod, readFile, rename, writeFile } from "node:fs/promises";
import { readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ownUsage } from "./fixtures.mjs";

const [shape, mode, mbArg, budgetArg, repo] = process.argv.slice(2);
const bytes = Number(mbArg) * 2 ** 20;
const KIB_LINE = "x".repeat(1023);
const agentShape = shape === "claude" || shape === "codex";
let agentStream;
if (agentShape) {
  // ~MB MiB of one turn of the recorded conversation, as an agent prints it: its start once (claude's
  // init, codex's thread and turn), then its steps (text, a tool call, its result, text) again and
  // again, each text and tool output varied prose of 0–2,000 characters, then its end (the result)
  // once. Kept between samples of one size.
  agentStream = join(tmpdir(), `corral-bench-${shape}-turn-${mbArg}.jsonl`);
  const exists = await readFile(agentStream).then(() => true, () => false);
  if (!exists) {
    await writeFile(`${agentStream}.tmp`, await agentTurn(shape, bytes));
    await rename(`${agentStream}.tmp`, agentStream);
  }
}
/** One turn of about `bytes` made from the recorded conversation: its lines that start the turn, its steps over and over, its end. */
async function agentTurn(shape, bytes) {
  const fixture = shape === "claude" ? "agent-claude/src/fixtures/claude-tool-commit.jsonl" : "agent-codex/src/fixtures/codex-tool-commit.jsonl";
  const recorded = (await readFile(new URL(`../../packages/${fixture}`, import.meta.url), "utf8")).split("\n").filter(Boolean).map((l) => l.replace(" <promise>COMPLETE</promise>", ""));
  // claude: init | text, tool call, tool result, text | result. codex: thread, warning, turn started | text, command started, command done, text | turn done.
  const [head, steps, end] = shape === "claude" ? [recorded.slice(0, 1), recorded.slice(1, 5), recorded.slice(5)] : [recorded.slice(0, 3), recorded.slice(3, 7), recorded.slice(7)];
  const prose = proseOf(0x5eed);
  const out = [...head];
  let size = out.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  for (let i = 0; size < bytes; i++) {
    const step = steps[i % steps.length];
    const text = JSON.stringify(prose(i % 2000)).slice(1, -1);
    // The agent's text, and the command's output (claude's "done", codex's "done\n"), become the varied prose.
    // Each round of steps is new API responses, tool calls and items, with ids of their own (claude counts a message's usage once).
    const round = Math.floor(i / steps.length);
    const line = step.replace(/(msg_mock_|toolu_mock_|item_)(\d)/g, (_, kind, n) => `${kind}${round}_${n}`).replace("I'll write the file.", `step ${i}: ${text}`).replace("Done.", `step ${i}: ${text}`).replace(/"done(\\n)?"/g, (_, nl) => `"${text}${nl ?? ""}"`);
    out.push(line);
    size += Buffer.byteLength(line) + 1;
  }
  out.push(...end);
  return `${out.join("\n")}\n`;
}

/** Text of about `chars` characters in words, sentences and lines, like an agent's prose and a tool's output (a seeded PRNG: the same every time). */
function proseOf(seed) {
  const words = "the a of to and in is it that for on with as this be are file test we not by at run function return const build error from if line code value should now change will add fix check its new path use case first when one".split(" ");
  const marks = ["`src/index.ts`", "`npm test`", "42", "(see below)", "e.g.", "README.md", "ok", "exit 0", "FAIL", "PASS"];
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (chars) => {
    let text = "";
    while (text.length < chars) {
      const r = next();
      const word = r < 0.08 ? marks[Math.floor(next() * marks.length)] : words[Math.floor(next() * words.length)];
      text += word + (r > 0.97 ? ".\n" : r > 0.9 ? ". " : r > 0.86 ? ", " : " ");
    }
    return text.slice(0, chars);
  };
}
const what =
  shape === "one-line" ? `head -c ${bytes} /dev/zero | tr '\\0' x` : shape === "kib-lines" ? `yes ${KIB_LINE} | head -c ${bytes}` : agentShape ? `cat '${agentStream}'` : `yes | head -c ${bytes}`;
const argv = ["sh", "-c", what];
const env = { PATH: "/usr/local/bin:/usr/bin:/bin" };
const fileBytes = agentShape ? statSync(agentStream).size : bytes;
const started = performance.now();
let seen = 0;
let finished = true;
/** The time and CPU of the work alone (the run, or the spawn), without node's start and the imports. */
const work = {
  at: 0,
  cpu: undefined,
  seconds: 0,
  cpuMs: 0,
  start() {
    this.at = performance.now();
    this.cpu = process.cpuUsage();
  },
  stop() {
    const used = process.cpuUsage(this.cpu);
    this.seconds = (performance.now() - this.at) / 1000;
    this.cpuMs = (used.user + used.system) / 1000;
  },
};
/** A fake `claude` (or `codex`) that prints the recorded stream whatever its arguments. */
async function fakeAgent() {
  const bin = join(tmpdir(), `corral-bench-fake-${shape}`);
  await writeFile(bin, `#!/bin/sh\ncat > /dev/null\nexec ${what}\n`);
  await chmod(bin, 0o755);
  if (shape === "codex") return (await import("../../packages/agent-codex/dist/index.js")).codex({ executable: bin, model: "gpt-5-codex" });
  return (await import("../../packages/agent-claude/dist/index.js")).claude({ executable: bin });
}
if (mode === "chunks") {
  // What a sandbox seam that hands over read chunks (not lines) would start from: spawn and read, bytes counted.
  const { spawn } = await import("node:child_process");
  work.start();
  await new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => (seen += chunk.length));
    child.stderr.resume();
    child.on("error", reject);
    child.on("close", resolve);
  });
  work.stop();
} else if (mode === "parse") {
  // An agent's floor: the same stream through spawnStreaming, each line through JSON.parse (what its parser cannot skip).
  const { spawnStreaming } = await import("../../packages/core/dist/plugin-kit.js");
  work.start();
  const onLine = (line) => {
    seen += line.length + 1;
    if (line.startsWith("{")) JSON.parse(line);
  };
  await spawnStreaming(["sh", "-c", what], { env, onLine });
  work.stop();
} else if (mode === "reencode") {
  // What a journal of the parsed stream cannot skip: parse each line, write it again as JSON, append it.
  const { spawnStreaming } = await import("../../packages/core/dist/plugin-kit.js");
  const { closeSync, openSync, rmSync, writeSync } = await import("node:fs");
  const file = join(tmpdir(), `corral-bench-reencode-${process.pid}.jsonl`);
  const fd = openSync(file, "a", 0o600);
  let pending = [];
  let chars = 0;
  const drain = () => {
    writeSync(fd, pending.join(""));
    pending = [];
    chars = 0;
  };
  work.start();
  const onLine = (line) => {
    seen += line.length + 1;
    if (!line.startsWith("{")) return;
    const json = `${JSON.stringify(JSON.parse(line))}\n`;
    pending.push(json);
    if ((chars += json.length) >= 256 * 1024) drain();
  };
  await spawnStreaming(["sh", "-c", what], { env, onLine });
  drain();
  work.stop();
  closeSync(fd);
  rmSync(file);
} else if (mode === "floor" || mode === "blocks") {
  const { spawnStreaming } = await import("../../packages/core/dist/plugin-kit.js");
  const lines = mode === "blocks" ? { onLines: (block) => (seen += block.length) } : {};
  work.start();
  await spawnStreaming(["sh", "-c", what], { env, onLine: (line) => (seen += line.length + 1), ...lines });
  work.stop();
} else {
  const lib = await import(mode === "core" ? "../../packages/core/dist/index.js" : "../../apps/corral/dist/index.js");
  const agent = agentShape ? await fakeAgent() : lib.commandAgent.configure({ argv });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort("bench budget"), Number(budgetArg) * 1000);
  work.start();
  const result = await lib
    .run({
    agent,
    ...(agentShape ? { hostEnv: { ANTHROPIC_API_KEY: "sk-bench-not-a-real-key", OPENAI_API_KEY: "sk-bench-not-a-real-key" } } : {}),
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
      if (e.type !== "agent.output" || e.kind !== "text") return;
      // The text when the event has it (ADR 0740: its lines are made only when read), else the lines.
      const text = lib.joinedOutputOf?.(e);
      if (text !== undefined) seen += text.length + 1;
      else for (const line of e.lines) seen += line.length + 1;
    },
    })
    // An abort at the budget ends the run with E_ABORTED: the sample is then rated over what it processed.
    .catch((error) => {
      if (error?.code !== "E_ABORTED") throw error;
      return { status: "aborted" };
    });
  work.stop();
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
const MB = shape === "one-line" || agentShape || finished ? fileBytes / 2 ** 20 : seen / 2 ** 20;
console.log(JSON.stringify({ seconds, MB, finished, journalMB: journal / 2 ** 20, ...ownUsage(), runSeconds: work.seconds, runCpuMs: work.cpuMs }));
