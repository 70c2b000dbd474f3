// Case 7, side by side with Sandcastle (@ai-hero/sandcastle, installed from npm into a temp
// folder at bench time, never a repo dependency). Same repository content, same fake `claude`
// (a script that prints a fixed stream-json conversation and makes a real commit), a new branch
// in a new worktree for both, 1 and 5 iterations; Sandcastle's no-sandbox vs corral's host
// sandbox, and both with docker on the same local image. Each sample is a fresh node process
// (wall time includes loading the library); peak RSS is that process's own.
// Target: corral faster than Sandcastle on every pair.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { engineReady, makeRepo, nodeChild, removeDir, runQuiet, tempDir, TEST_IMAGE } from "./fixtures.mjs";
import { note, quick, report, skip } from "./measure.mjs";

const VERSION = process.env.BENCH_SANDCASTLE_VERSION ?? "0.12.0";
const IMAGE = "corral-bench-claude:local";
const child = fileURLToPath(new URL("./side-by-side-child.mjs", import.meta.url));
const notes = [];

// 1. Sandcastle, from npm, cached per version under the temp folder.
const sandcastleDir = join(tmpdir(), `corral-bench-sandcastle-${VERSION}`);
if (!existsSync(join(sandcastleDir, "node_modules/@ai-hero/sandcastle/package.json"))) {
  note(`npm install @ai-hero/sandcastle@${VERSION} into ${sandcastleDir}`);
  await mkdir(sandcastleDir, { recursive: true });
  await writeFile(join(sandcastleDir, "package.json"), '{ "private": true, "type": "module" }\n');
  const installed = await runQuiet(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", `@ai-hero/sandcastle@${VERSION}`], {
    cwd: sandcastleDir,
    env: { ...process.env },
    timeoutMs: 300_000,
  });
  if (installed.exitCode !== 0) {
    skip("sandcastle", `npm install @ai-hero/sandcastle@${VERSION} failed (offline?): ${installed.lines.slice(-2).join(" ")}`);
    process.exit(0);
  }
}

// 2. The fake claude: the recorded conversation of agent-claude's fixtures, without the completion
//    signal (so every iteration runs), after a real commit of a new file.
const fixture = await readFile(new URL("../../packages/agent-claude/src/fixtures/claude-tool-commit.jsonl", import.meta.url), "utf8");
const conversation = fixture.replaceAll(" <promise>COMPLETE</promise>", "").trim();
const fakeClaude = `#!/bin/sh
# A fake Claude Code for benchmarks: reads the prompt, commits a new file, prints a fixed conversation.
cat > /dev/null
f="bench-$(date +%s%N)-$$.txt"
echo "$f" > "$f"
git add "$f" && git -c user.name=Bench -c user.email=bench@example.com commit -q -m "bench: $f" || exit 1
cat <<'CONVERSATION'
${conversation}
CONVERSATION
`;
const work = await tempDir("corral-bench-side-by-side-");
const bin = join(work, "bin");
await mkdir(bin);
await writeFile(join(bin, "claude"), fakeClaude);
await chmod(join(bin, "claude"), 0o755);
await mkdir(join(work, "logs"));
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };

// 3. The docker image: the local test image plus the fake claude (no registry needed).
let docker = await engineReady("docker");
if (!docker) {
  const context = join(work, "image");
  await mkdir(context);
  await writeFile(join(context, "claude"), fakeClaude, { mode: 0o755 });
  await writeFile(join(context, "Dockerfile"), `FROM ${TEST_IMAGE}\nCOPY claude /usr/local/bin/claude\nRUN mkdir -p /home/agent && chmod 777 /home/agent\nWORKDIR /home/agent\n# Sandcastle's template says ENTRYPOINT; corral's docker sandbox sets only Cmd, so CMD (same PID 1).\nCMD ["sleep", "infinity"]\n`);
  const built = await runQuiet(["docker", "build", "-q", "-t", IMAGE, context], { env: { PATH: process.env.PATH, DOCKER_BUILDKIT: "0" }, timeoutMs: 120_000 });
  if (built.exitCode !== 0) docker = `could not build ${IMAGE} from ${TEST_IMAGE}: ${built.lines.slice(-2).join(" ")}`;
}
if (docker) notes.push(`docker pairs skipped: ${docker}`);
notes.push(
  "Sandcastle's own image (sandcastle docker build-image) starts FROM node:22-bookworm, which needs a registry; both tools use the same local image (corral-test:local + the fake claude) instead",
);

// Same content, one repository per tool, so neither sees the other's branches or .sandcastle/.
const repos = { corral: join(work, "corral-repo"), sandcastle: join(work, "sandcastle-repo") };
for (const dir of Object.values(repos)) await makeRepo({ "README.md": "# bench\n", "src/index.js": "export {};\n" }, dir);

let counter = 0;
const sample = (tool, sandbox, iterations) => async () => {
  const branch = `bench/${tool}-${sandbox}-${iterations}-${++counter}`;
  const r = await nodeChild(child, [tool, sandbox, String(iterations), repos[tool], branch, IMAGE, sandcastleDir], { env });
  if (r.iterations !== iterations || r.commits !== iterations) throw new Error(`${tool} (${sandbox}) ran ${r.iterations} iterations with ${r.commits} commits; expected ${iterations} of each`);
  return r;
};

const cases = [];
try {
  const pairs = [
    // [corral's sandbox, Sandcastle's, iterations, samples, warm-up rounds]
    ["host", "no-sandbox", 1, 7, 1],
    ["host", "no-sandbox", 5, 5, 1],
    // Sandcastle's docker runs take over 10 s an iteration here (see docs/performance.md): few samples.
    ...(docker ? [] : [["docker", "docker", 1, 3, 0], ["docker", "docker", 5, 2, 0]]),
  ];
  for (const [ours, theirs, iterations, samples, warmup] of pairs) {
    note(`${iterations}-iteration runs: corral (${ours}) and Sandcastle (${theirs}), alternating`);
    const results = { corral: [], sandcastle: [] };
    // Alternate the two tools, so a load spike on a shared machine hits both alike.
    for (let i = -warmup; i < (quick ? Math.min(samples, 2) : samples); i++) {
      const order = i % 2 ? ["sandcastle", "corral"] : ["corral", "sandcastle"];
      for (const tool of order) {
        const r = await sample(tool, ours, iterations)();
        if (i >= 0) results[tool].push(r);
      }
    }
    const theirName = `Sandcastle ${iterations}-iteration (${theirs})`;
    cases.push(
      { name: `corral ${iterations}-iteration (${ours})`, unit: "ms", samples: results.corral.map((r) => r.wallMs), floor: theirName, target: "< 1x floor" },
      { name: theirName, unit: "ms", samples: results.sandcastle.map((r) => r.wallMs) },
      { name: `corral peak RSS, ${iterations}-iteration (${ours})`, unit: "MB", samples: results.corral.map((r) => r.maxRssMB), floor: `Sandcastle peak RSS, ${iterations}-iteration (${theirs})` },
      { name: `Sandcastle peak RSS, ${iterations}-iteration (${theirs})`, unit: "MB", samples: results.sandcastle.map((r) => r.maxRssMB) },
      { name: `corral CPU, ${iterations}-iteration (${ours})`, unit: "ms", samples: results.corral.map((r) => r.cpuMs), floor: `Sandcastle CPU, ${iterations}-iteration (${theirs})` },
      { name: `Sandcastle CPU, ${iterations}-iteration (${theirs})`, unit: "ms", samples: results.sandcastle.map((r) => r.cpuMs) },
    );
  }
} finally {
  await removeDir(work);
}
report("sandcastle", cases, { notes, sandcastleVersion: VERSION });
