import { existsSync, readFileSync } from "node:fs";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { AbortError, UsageError } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { assertFolder } from "corral/internal";
import { parseFlags } from "../args.js";
import { INIT_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";

const AGENTS = ["claude", "codex", "copilot", "gemini", "opencode", "pi", "command"] as const;
const SANDBOXES = ["bwrap", "docker", "podman", "host"] as const;
type AgentName = (typeof AGENTS)[number];
type SandboxName = (typeof SANDBOXES)[number];

/**
 * Credentials each agent reads, for .env.example; how its CLI is installed in an image; and the
 * model written when none is given, for an agent that has no default of its own (codex, copilot, opencode and pi require one).
 */
const AGENT_SETUP: Record<AgentName, { env: string[]; install: string; model?: string }> = {
  claude: { env: ["ANTHROPIC_API_KEY"], install: "RUN npm install -g @anthropic-ai/claude-code" },
  codex: { env: ["OPENAI_API_KEY"], install: "RUN npm install -g @openai/codex", model: "gpt-5-codex" },
  copilot: { env: ["COPILOT_PROVIDER_API_KEY", "COPILOT_PROVIDER_BASE_URL"], install: "RUN npm install -g @github/copilot", model: "gpt-5" },
  gemini: { env: ["GEMINI_API_KEY"], install: "RUN npm install -g @google/gemini-cli" },
  opencode: { env: ["OPENAI_API_KEY"], install: "RUN npm install -g opencode-ai", model: "gpt-5" },
  pi: { env: ["OPENAI_API_KEY"], install: "RUN npm install -g @mariozechner/pi-coding-agent", model: "gpt-5" },
  command: { env: [], install: "# Install your agent's CLI here." },
};

const TEMPLATES = new URL("../templates/", import.meta.url);

/** Where the prompts come from: a TTY is asked, anything else must pass flags. */
export interface InitInput {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/**
 * `corral init`: scaffolds corral.config.ts, .corral/prompt.md and, for container sandboxes, a
 * Dockerfile/Containerfile and .env.example; adds .env, .corral/runs/ and .corral/worktrees/ to .gitignore. Never
 * overwrites a file. Asks on a TTY; without one every choice must be a flag (or --yes).
 */
export default async function init(argv: string[], io: CliIO, input: InitInput = { stdin: process.stdin }): Promise<number> {
  const { values } = parseFlags("init", argv, {
    agent: { type: "string" },
    sandbox: { type: "string" },
    model: { type: "string" },
    yes: { type: "boolean", short: "y" },
    cwd: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(INIT_HELP);
    return EXIT.ok;
  }
  const dir = resolve(io.cwd, values.cwd ?? ".");
  assertFolder(dir); // never scaffolds into a mistyped path (it would be created)
  const interactive = input.stdin.isTTY === true && !values.yes;
  const ask = interactive ? asker(input.stdin, io.stderr) : undefined;
  try {
    const agent = await choose("agent", AGENTS, values.agent, values.yes ? "claude" : undefined, ask, io.stderr);
    const sandbox = await choose("sandbox", SANDBOXES, values.sandbox, values.yes ? "bwrap" : undefined, ask, io.stderr);
    const fallbackModel = AGENT_SETUP[agent].model;
    const model = values.model ?? (ask ? (await ask.question(`Model (empty: ${fallbackModel ?? "the agent's default"}): `))?.trim() || fallbackModel : fallbackModel);
    ask?.close();
    const files = await scaffold(dir, { agent, sandbox, ...(model ? { model } : {}) });
    for (const f of files.created) io.stderr.write(`created ${f}\n`);
    for (const f of files.skipped) io.stderr.write(`skipped ${f} (it exists; not overwritten)\n`);
    for (const f of files.updated) io.stderr.write(`updated ${f}\n`);
    io.stderr.write(`\nNext: edit .corral/prompt.md, then${sandbox === "docker" || sandbox === "podman" ? ` corral image build --sandbox ${sandbox}, cp .env.example .env, and` : ""} corral run\n`);
    return EXIT.ok;
  } finally {
    ask?.close();
  }
}

/** Asks questions on a terminal. Lines typed ahead are kept for the next question; undefined once input ends. */
interface Asker {
  question(prompt: string): Promise<string | undefined>;
  close(): void;
}

function asker(stdin: NodeJS.ReadableStream, out: NodeJS.WritableStream): Asker {
  const rl = createInterface({ input: stdin, output: out, terminal: true });
  const typed: string[] = [];
  const waiting: Array<(line: string | undefined) => void> = [];
  let ended: "closed" | "interrupted" | undefined;
  rl.on("line", (line) => (waiting.length ? waiting.shift()!(line) : typed.push(line)));
  const end = (how: "closed" | "interrupted") => {
    ended ??= how;
    for (const resolve of waiting.splice(0)) resolve(undefined);
  };
  rl.on("close", () => end("closed"));
  rl.on("SIGINT", () => {
    end("interrupted");
    rl.close();
  });
  return {
    async question(prompt) {
      rl.setPrompt(prompt);
      rl.prompt();
      const line = typed.length ? typed.shift() : ended ? undefined : await new Promise<string | undefined>((resolve) => waiting.push(resolve));
      if (line === undefined && ended === "interrupted") throw new AbortError("corral init was interrupted; nothing was written");
      return line;
    },
    close: () => rl.close(),
  };
}

/** A flag's value, checked; else the default (--yes); else asked on a TTY; else a UsageError naming the flag. */
async function choose<T extends string>(flag: string, options: readonly T[], given: string | undefined, fallback: T | undefined, ask: Asker | undefined, out: NodeJS.WritableStream): Promise<T> {
  if (given !== undefined) {
    if (!(options as readonly string[]).includes(given)) throw new UsageError(`--${flag} must be one of ${options.join(", ")}, got "${given}".`, { hint: `e.g. --${flag} ${options[0]}` });
    return given as T;
  }
  if (fallback !== undefined) return fallback;
  if (!ask) throw new UsageError(`corral init needs --${flag} (${options.join(", ")}) when it cannot ask: there is no terminal.`, { hint: `Pass --${flag} ${options[0]}, or --yes for the defaults.` });
  for (;;) {
    const line = await ask.question(`${flag[0]!.toUpperCase()}${flag.slice(1)} (${options.join(", ")}) [${options[0]}]: `);
    if (line === undefined) throw new UsageError(`The input ended before --${flag} was chosen.`, { hint: `Answer the question, or pass --${flag} ${options[0]}.` });
    const answer = line.trim();
    if (answer === "") return options[0]!;
    if ((options as readonly string[]).includes(answer)) return answer as T;
    out.write(`  please answer one of: ${options.join(", ")}\n`);
  }
}

/** The image `corral init` writes into a project's config: named for its folder, so projects do not overwrite each other's. */
export function projectImageTag(repoDir: string): string {
  const base = repoDir.split("/").filter(Boolean).pop() ?? "repo";
  const clean = base.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^[-_.]+|[-_.]+$/g, "") || "repo";
  return `corral-${clean}:latest`;
}

interface Choices {
  agent: AgentName;
  sandbox: SandboxName;
  model?: string;
}

/** Writes the files that do not exist yet; returns what was created, skipped and updated. */
export async function scaffold(dir: string, choices: Choices): Promise<{ created: string[]; skipped: string[]; updated: string[] }> {
  const container = choices.sandbox === "docker" || choices.sandbox === "podman";
  const top = await git(["rev-parse", "--show-toplevel"], { cwd: dir, allowFailure: true }).catch(() => undefined);
  const image = projectImageTag(top?.exitCode === 0 ? top.stdout : dir); // written into the config, so `image build` and `run` both use it
  const setup = AGENT_SETUP[choices.agent];
  const agentRef = choices.agent === "command" ? `{ name: "command", options: { argv: ["my-agent", "--print", "{prompt}"] } }` : JSON.stringify(choices.agent);
  const config = template("corral.config.ts.tmpl", {
    AGENT: agentRef,
    MODEL: choices.model ? `  model: ${JSON.stringify(choices.model)},\n` : "",
    SANDBOX: container ? `{ name: "${choices.sandbox}", options: { image: "${image}" } }` : JSON.stringify(choices.sandbox),
    ENV: container ? `  // Passed into the sandbox, values redacted from every log.\n  envFile: ".env",\n` : "",
  });
  const files: Array<[string, string]> = [
    ["corral.config.ts", config],
    [".corral/prompt.md", template("prompt.md", {}, false)],
  ];
  if (container) {
    files.push([choices.sandbox === "podman" ? "Containerfile" : "Dockerfile", template("Dockerfile", { ENGINE: choices.sandbox, INSTALL: setup.install })]);
    files.push([".env.example", template("env.example", { VARS: setup.env.length ? setup.env.map((name) => `${name}=`).join("\n") : "# MY_AGENT_API_KEY=" })]);
  }
  const result = { created: [] as string[], skipped: [] as string[], updated: [] as string[] };
  for (const [name, content] of files) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    try {
      await writeFile(path, content, { flag: "wx" }); // wx: fails if it exists, so nothing is ever overwritten
      result.created.push(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      result.skipped.push(name);
    }
  }
  const ignore = join(dir, ".gitignore");
  const existed = existsSync(ignore);
  // corral's own output only: .corral/prompt.md (and whatever else you keep there) stays committable.
  if (await addIgnores(ignore, [".env", ".corral/runs/", ".corral/worktrees/"])) (existed ? result.updated : result.created).push(".gitignore");
  return result;
}

/** Appends the patterns .gitignore lacks (creating it if needed); true when it changed. */
async function addIgnores(file: string, patterns: string[]): Promise<boolean> {
  const current = await readFile(file, "utf8").catch(() => "");
  const lines = new Set(current.split("\n").map((l) => l.trim().replace(/^\//, "")));
  const missing = patterns.filter((p) => !lines.has(p) && !lines.has(p.replace(/\/$/, "")));
  if (!missing.length) return false;
  await appendFile(file, `${current && !current.endsWith("\n") ? "\n" : ""}${current ? "\n" : ""}# corral\n${missing.join("\n")}\n`);
  return true;
}

/** A template with `{{KEY}}` filled. Only the named keys are replaced: prompt.md keeps its own placeholders. */
function template(name: string, values: Record<string, string>, fill = true): string {
  let text = readFileSync(new URL(name, TEMPLATES), "utf8");
  if (fill) for (const [key, value] of Object.entries(values)) text = text.split(`{{${key}}}`).join(value);
  return text;
}
