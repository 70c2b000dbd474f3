import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  buildEnv,
  DEFAULT_PATH,
  hostSandbox,
  inPlaceIsolation,
  instantiate,
  toCorralError,
  unavailableBecause,
  type Agent,
  type AgentProgram,
  type Plugin,
  type RunOptions,
  type Sandbox,
} from "@corral/core";
import { createRedactor, git, inert, inertJson, spawnStreaming } from "@corral/core/plugin-kit";
import { loadConfig, type CorralConfig } from "corral";
import { PluginLoader, resolveRun, type ResolvedRun } from "corral/internal";
import { parseFlags } from "../args.js";
import { EXIT, type CliIO } from "../io.js";

const DOCTOR_HELP = `Usage: corral doctor [options]

Checks that the configured run could start here, resolved by the same code as \`corral run\`:
Node, git, the config, the installed plugins, the agent's program (where the sandbox will find
it, with the config's mounts), its credentials (names only, never values) and the configured
sandbox (its engine and image). Prints the fix for each problem; --json adds the error code
\`corral run\` would fail with.

Options:
  --agent <name>      The agent to check (default: the config's)
  --sandbox <name>    The sandbox to check (default: the config's, else host)
  --isolation <name>  The isolation to check (default: as \`corral run\` picks it)
  --cwd <dir>         The project folder (default: .)
  --config <file>     The config file (default: corral.config.* found from --cwd)
  --json              The checks as JSON on stdout
  -h, --help          Show this help

Exit codes: 0 the configured run can start, 1 it cannot (see the failed checks), 2 usage error.
`;

/** Node versions corral supports (engines in package.json). */
const NODE_MIN: readonly [number, number] = [20, 19];

/** One thing doctor looked at. `fail` means the configured run cannot start; `warn` does not block it. */
export interface DoctorCheck {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  fix?: string;
  /** The error code `corral run` fails with for the same problem. */
  code?: string;
}

/** `corral doctor`: can the configured run start here, and if not, what to do. */
export default async function doctor(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags("doctor", argv, {
    agent: { type: "string" },
    sandbox: { type: "string" },
    isolation: { type: "string" },
    cwd: { type: "string" },
    config: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(DOCTOR_HELP);
    return EXIT.ok;
  }
  const cwd = resolve(io.cwd, values.cwd ?? ".");
  const scratch = await mkdtemp(join(tmpdir(), "corral-doctor-"));
  const checks: DoctorCheck[] = [];
  try {
    checks.push(checkNode(), await checkGit(cwd));
    const config = await checkConfig(checks, cwd, values.config);
    const plugins = await listPlugins(checks, cwd, config);
    if (config) {
      const run: DoctorCheck[] = [];
      const used = await checkConfiguredRun(run, io.env, scratch, {
        cwd,
        ...(values.agent !== undefined ? { agent: values.agent } : {}),
        ...(values.sandbox !== undefined ? { sandbox: values.sandbox } : {}),
        ...(values.isolation !== undefined ? { isolation: values.isolation } : {}),
        ...(values.config !== undefined ? { config: resolve(io.cwd, values.config) } : {}),
      });
      // The plugins this run does not use are only listed: probing them with default options
      // (another image, no mounts) would answer a question nobody asked.
      for (const plugin of plugins) {
        const origin = `${plugin.meta.version}${plugin.meta.packageName ? ` (${plugin.meta.packageName})` : ""}`;
        const inUse = used[plugin.kind as keyof typeof used] === plugin.meta.name;
        // Only a run that resolved knows its sandbox: otherwise no sandbox is called unused.
        const unused = plugin.kind === "sandbox" && used.sandbox !== undefined ? `; not used by this run (check it with --sandbox ${plugin.meta.name})` : "";
        checks.push({ name: `${plugin.kind} ${plugin.meta.name}`, status: "ok", detail: `${origin}${inUse ? "; used by this run" : unused}` });
      }
      checks.push(...run);
    } else {
      for (const plugin of plugins) checks.push({ name: `${plugin.kind} ${plugin.meta.name}`, status: "ok", detail: `${plugin.meta.version}${plugin.meta.packageName ? ` (${plugin.meta.packageName})` : ""}` });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const ok = !checks.some((check) => check.status === "fail");
  if (values.json) {
    io.stdout.write(`${inertJson({ ok, checks }, 2)}\n`);
  } else {
    // Paths and versions can carry what an agent named (files in the project): shown inert.
    io.stderr.write(inert(renderChecks(checks, ok)));
  }
  return ok ? EXIT.ok : EXIT.failed;
}

const MARK = { ok: "ok  ", warn: "warn", fail: "FAIL" } as const;

export function renderChecks(checks: readonly DoctorCheck[], ok: boolean): string {
  const width = Math.max(...checks.map((check) => check.name.length));
  const lines = checks.flatMap((check) => [
    `[${MARK[check.status]}] ${check.name.padEnd(width)}  ${check.detail}`,
    ...(check.fix && check.status !== "ok" ? [`       ${" ".repeat(width)}  fix: ${check.fix}`] : []),
  ]);
  const verdict = ok ? "The configured run can start." : "The configured run cannot start: fix the FAIL lines above.";
  return `${lines.join("\n")}\n\n${verdict}\n`;
}

function checkNode(): DoctorCheck {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const good = major > NODE_MIN[0] || (major === NODE_MIN[0] && minor >= NODE_MIN[1]);
  return good
    ? { name: "node", status: "ok", detail: `v${process.versions.node}` }
    : { name: "node", status: "fail", detail: `v${process.versions.node} is too old`, fix: `Install Node ${NODE_MIN.join(".")} or newer (e.g. with nvm, fnm or your distribution's nodejs package).` };
}

async function checkGit(cwd: string): Promise<DoctorCheck> {
  const version = await git(["--version"], { cwd: "/", allowFailure: true }).catch(() => undefined);
  if (!version || version.exitCode !== 0) {
    return { name: "git", status: "fail", detail: "git was not found on PATH", fix: "Install git: apt-get install git (Debian/Ubuntu), dnf install git (Fedora), brew install git (macOS)." };
  }
  const inside = await git(["rev-parse", "--show-toplevel"], { cwd, allowFailure: true }).catch(() => undefined);
  return { name: "git", status: "ok", detail: `${version.stdout}; ${inside?.exitCode === 0 ? `repository ${inside.stdout}` : `${cwd} is not in a git repository`}` };
}

async function checkConfig(checks: DoctorCheck[], cwd: string, file: string | undefined): Promise<CorralConfig | undefined> {
  try {
    const loaded = await loadConfig({ cwd, ...(file ? { file } : {}) });
    checks.push({ name: "config", status: "ok", detail: loaded.file ?? "no corral.config.* (defaults and flags only)" });
    return loaded.config;
  } catch (error) {
    checks.push(failure("config", error));
    return undefined;
  }
}

/** Every installed plugin (listed once the run is resolved, so each says whether this run uses it). */
async function listPlugins(checks: DoctorCheck[], cwd: string, config: CorralConfig | undefined): Promise<Plugin[]> {
  try {
    return await new PluginLoader({ cwd, ...(config?.plugins ? { plugins: config.plugins } : {}) }).all();
  } catch (error) {
    checks.push(failure("plugins", error));
    return [];
  }
}

/**
 * The run `corral run` would start with this config and these flags, resolved by the same code:
 * `resolveRun` (config, plugins, options, env, the agent's program as the sandbox will find it),
 * then what core does before it creates anything: the agent's setup (credentials) with the run's
 * env, and the configured sandbox's own check (with its options: image, engine, mounts).
 */
async function checkConfiguredRun(
  checks: DoctorCheck[],
  env: NodeJS.ProcessEnv,
  scratch: string,
  flags: { cwd: string; agent?: string; sandbox?: string; isolation?: string; config?: string },
): Promise<{ agent?: string; sandbox?: string; isolation?: string }> {
  let resolved: ResolvedRun<undefined>;
  try {
    resolved = await resolveRun({ ...flags, hostEnv: env });
  } catch (error) {
    checks.push(failure(toCorralError(error).code === "E_AGENT_NOT_FOUND" ? "run agent" : "run", error));
    return {};
  }
  const agent = instantiate("agent", resolved.options.agent);
  const sandbox = instantiate("sandbox", resolved.options.sandbox ?? hostSandbox.configure({}));
  const isolation = instantiate("isolation", resolved.options.isolation ?? inPlaceIsolation.configure({}));
  checks.push({ name: "run", status: "ok", detail: `agent ${agent.name}, sandbox ${sandbox.name}, isolation ${isolation.name}` });
  checks.push(await checkProgram(agent, sandbox, resolved.program, env, scratch));

  const credentials = await credentialStatus(agent, resolved.options, env, scratch);
  checks.push({ name: "run credentials", status: credentials.ok ? "ok" : "fail", detail: credentials.detail, ...(credentials.fix ? { fix: credentials.fix } : {}), ...(credentials.code ? { code: credentials.code } : {}) });

  const availability = await sandbox.check().catch(unavailableBecause);
  checks.push(
    availability.available
      ? { name: "run sandbox", status: "ok", detail: `${sandbox.name} is available${availability.detail ? ` — ${availability.detail}` : ""}` }
      : {
          name: "run sandbox",
          status: "fail",
          detail: `${sandbox.name} is unavailable — ${availability.reason}`,
          code: availability.code ?? "E_SANDBOX_UNAVAILABLE",
          ...(availability.hint ? { fix: availability.hint } : {}),
        },
  );
  return { agent: agent.name, sandbox: sandbox.name, isolation: isolation.name };
}

/** Where the run finds the agent's program and what it shows inside, with the program's version. */
async function checkProgram(agent: Agent, sandbox: Sandbox, program: AgentProgram | undefined, env: NodeJS.ProcessEnv, scratch: string): Promise<DoctorCheck> {
  const name = "run agent";
  if (!program) {
    const what = agent.executable ? `\`${agent.executable.name}\`` : "its program";
    return { name, status: "ok", detail: `${agent.name}: ${what} is looked up inside the ${sandbox.name} sandbox (its image provides it; not checked on the host)` };
  }
  // A program in the project may be an agent's (an in-place run writes the checkout): it never runs here.
  const version = program.inProject ? "not run on the host: it lies in the project" : await hostVersion(program.path, env, scratch);
  const shown = program.mounts.length ? `; shown read-only inside: ${program.mounts.map((m) => m.sandbox).join(", ")}` : "";
  return { name, status: "ok", detail: `${agent.name}: ${program.path}${version ? ` (${version})` : ""}${shown}` };
}

/** The program's `--version`, run on the host with a scratch HOME (names only in its env, no credentials). */
async function hostVersion(path: string, env: NodeJS.ProcessEnv, home: string): Promise<string | undefined> {
  const lines: string[] = [];
  const result = await spawnStreaming([path, "--version"], {
    env: { PATH: env.PATH ?? DEFAULT_PATH, HOME: home, LANG: "C.UTF-8", NO_COLOR: "1" },
    cwd: home,
    timeoutMs: 20_000,
    onLine: (line, stream) => stream === "stdout" && lines.push(line),
  }).catch(() => undefined);
  return result?.exitCode === 0 ? lines.find((line) => line.trim())?.trim() : undefined;
}

/**
 * Which of the agent's credential env vars are set (names only), and whether the agent's own
 * setup accepts the env the run would hand it (core's buildEnv), against a scratch HOME.
 */
async function credentialStatus(agent: Agent, options: RunOptions, hostEnv: NodeJS.ProcessEnv, scratch: string): Promise<{ ok: boolean; detail: string; fix?: string; code?: string }> {
  const env = buildEnv(options, agent, hostEnv, createRedactor());
  const names = agent.env?.credentials ?? [];
  const set = names.filter((name) => env[name]);
  const detail = names.length === 0 ? "no credentials needed" : set.length ? `credentials: ${set.join(", ")} set` : `credentials: none of ${names.join(", ")} is set`;
  const home = await mkdtemp(join(scratch, "home-"));
  try {
    await agent.setup?.({ env, home });
    return { ok: true, detail };
  } catch (error) {
    const e = toCorralError(error);
    return { ok: false, detail, fix: e.hint ?? e.message, code: e.code };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function failure(name: string, error: unknown, status: "warn" | "fail" = "fail"): DoctorCheck {
  const e = toCorralError(error);
  return { name, status, detail: e.message, code: e.code, ...(e.hint ? { fix: e.hint } : {}) };
}
