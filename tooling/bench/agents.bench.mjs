// Agents: the wall time of a one-turn run of each agent's real CLI against the mock model API
// (one text answer with the completion signal), through corral's run() (host sandbox, in-place
// isolation, a fresh per-run HOME), next to the bare CLI with the same argv, stdin and env the
// plugin builds, in a fresh HOME of its own per sample. Measured in rotation. An agent whose CLI
// is not installed (packages/agent-<name>/node_modules/.bin) or whose package is not built is skipped.
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../packages/core/dist/index.js";
import { spawnStreaming } from "../../packages/core/dist/plugin-kit.js";
import { baseEnv, makeRepo, removeDir } from "./fixtures.mjs";
import { measureEach, note, report, skip } from "./measure.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
// The mock is TypeScript source (a private workspace package); corral's own jiti loads it.
const { createJiti } = createRequire(join(ROOT, "apps/corral/package.json"))("jiti");
const { startMockModelApi } = await createJiti(import.meta.url).import(join(ROOT, "tooling/mock-model-api/src/index.ts"));

const KEY = "sk-bench-agents-0123456789";
const DONE = "Done. <promise>COMPLETE</promise>";
/** Per agent: its plugin's factory and options against the mock, the key variable and the env that points it there. */
const AGENTS = [
  { name: "claude", cli: "claude", options: () => ({}), key: "ANTHROPIC_API_KEY", env: (url) => ({ ANTHROPIC_BASE_URL: url, CLAUDE_CODE_MAX_RETRIES: "0" }) },
  { name: "codex", cli: "codex", options: (url) => ({ model: "bench-codex", baseUrl: `${url}/v1`, maxRetries: 0 }), key: "OPENAI_API_KEY", env: () => ({}) },
  { name: "gemini", cli: "gemini", options: () => ({ model: "gemini-2.5-pro" }), key: "GEMINI_API_KEY", env: (url) => ({ GOOGLE_GEMINI_BASE_URL: url }) },
  { name: "opencode", cli: "opencode", options: (url) => ({ model: "bench-opencode", baseUrl: `${url}/v1` }), key: "OPENAI_API_KEY", env: () => ({}) },
  { name: "pi", cli: "pi", options: (url) => ({ model: "bench-pi", baseUrl: `${url}/v1` }), key: "OPENAI_API_KEY", env: () => ({}) },
  { name: "copilot", cli: "copilot", options: (url) => ({ model: "bench-copilot", baseUrl: `${url}/v1` }), key: "COPILOT_PROVIDER_API_KEY", env: () => ({}) },
];
const only = process.env.BENCH_AGENTS?.split(",");

const api = await startMockModelApi({ script: () => ({ text: DONE }) });
const repo = await makeRepo();
const homes = [];
const freshHome = async () => {
  const home = await mkdtemp(join(tmpdir(), "corral-bench-agent-home-"));
  homes.push(home);
  return home;
};
const cases = [];
const notes = [];
try {
  for (const spec of AGENTS) {
    if (only && !only.includes(spec.name)) continue;
    const pkg = join(ROOT, "packages", `agent-${spec.name}`);
    const binDir = join(pkg, "node_modules/.bin");
    if (!existsSync(join(binDir, spec.cli)) || !existsSync(join(pkg, "dist/index.js"))) {
      notes.push(`${spec.name} skipped: its CLI is not installed in ${binDir} or the package is not built`);
      continue;
    }
    const mod = await import(join(pkg, "dist/index.js"));
    const plugin = mod.default;
    const configured = plugin.configure(spec.options(api.url));
    const hostEnv = { ...baseEnv, PATH: `${binDir}:${baseEnv.PATH}`, [spec.key]: KEY, ...spec.env(api.url) };

    const viaCorral = async () => {
      const result = await run({ agent: configured, cwd: repo, prompt: "Say done.", maxIterations: 1, idleTimeout: 120, handleProcessSignals: false, hostEnv, env: spec.env(api.url) });
      if (result.completionSignal !== "<promise>COMPLETE</promise>") throw new Error(`${spec.name}: no completion through corral`);
    };
    // The bare CLI: the argv, stdin and env the plugin builds (its setup in a fresh HOME), spawned directly.
    const bare = async () => {
      const agent = plugin.create(configured.options);
      const home = await freshHome();
      const env = { ...hostEnv, HOME: home };
      Object.assign(env, (await agent.setup?.({ env, home })) ?? {});
      const input = { prompt: "Say done.", iteration: 1, home, cwd: repo };
      const command = agent.command(input);
      // Its own parser reads the answer (a streamed text may arrive in pieces).
      const parser = agent.parser(input);
      let text = "";
      const onLine = (line, stream) => {
        for (const event of parser.parse(line, stream)) if (event.type === "text") text += event.text;
      };
      const result = await spawnStreaming(command.argv, { cwd: repo, env, ...(command.stdin !== undefined ? { stdin: command.stdin } : {}), onLine });
      if (!text.includes("<promise>COMPLETE</promise>")) throw new Error(`${spec.name}: the bare CLI did not answer (exit ${result.exitCode})`);
    };
    note(`${spec.name}: one-turn runs, through corral and bare`);
    let corral, raw;
    try {
      [corral, raw] = await measureEach([viaCorral, bare], { warmup: 1, samples: 7 });
    } catch (error) {
      // One agent's CLI failing here is reported, not a crash of the whole suite.
      notes.push(`${spec.name} failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      continue;
    }
    const bareName = `${spec.name}: bare CLI, one turn (same argv and env)`;
    cases.push({ name: `${spec.name}: one-turn run through corral (host, in-place)`, unit: "ms", samples: corral, floor: bareName });
    cases.push({ name: bareName, unit: "ms", samples: raw });
  }
} finally {
  await api.close();
  await removeDir(repo);
  for (const home of homes) await removeDir(home);
}
if (cases.length === 0) skip("agents", notes.join("; ") || "no agent selected");
else report("agents", cases, { notes });
