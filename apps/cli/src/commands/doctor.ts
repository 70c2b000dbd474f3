import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  git,
  spawnStreaming,
  toCorralError,
  type Agent,
  type Availability,
  type Plugin,
  type Sandbox,
} from "@corral/core";
import { loadConfig, type CorralConfig } from "corral";
import { PluginLoader, resolveRun } from "corral/internal";
import { parseFlags } from "../args.js";
import { EXIT, type CliIO } from "../io.js";

const DOCTOR_HELP = `Usage: corral doctor [options]

Checks that the configured run could start here: Node, git, the config, every installed
plugin (sandbox probes, engines, images), the agent CLIs and whether their credentials are
set (names only, never values). Prints the fix for each problem.

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
    const plugins = await checkPlugins(checks, cwd, config);
    for (const plugin of plugins.filter((p) => p.kind === "agent" && p.meta.name !== "command")) {
      checks.push(await checkAgentPlugin(plugin as Plugin<"agent">, io.env, scratch, config?.model));
    }
    if (config) {
      checks.push(
        ...(await checkConfiguredRun(cwd, io.env, scratch, {
          ...(values.agent !== undefined ? { agent: values.agent } : {}),
          ...(values.sandbox !== undefined ? { sandbox: values.sandbox } : {}),
          ...(values.isolation !== undefined ? { isolation: values.isolation } : {}),
          ...(values.config !== undefined ? { config: resolve(io.cwd, values.config) } : {}),
        })),
      );
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const ok = !checks.some((check) => check.status === "fail");
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ ok, checks }, null, 2)}\n`);
  } else {
    io.stderr.write(renderChecks(checks, ok));
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

/** Every installed plugin; each sandbox plugin's check() (bwrap probe, engine running, image present). */
async function checkPlugins(checks: DoctorCheck[], cwd: string, config: CorralConfig | undefined): Promise<Plugin[]> {
  let plugins: Plugin[];
  try {
    plugins = await new PluginLoader({ cwd, ...(config?.plugins ? { plugins: config.plugins } : {}) }).all();
  } catch (error) {
    checks.push(failure("plugins", error));
    return [];
  }
  for (const plugin of plugins) {
    const name = `${plugin.kind} ${plugin.meta.name}`;
    const origin = `${plugin.meta.version}${plugin.meta.packageName ? ` (${plugin.meta.packageName})` : ""}`;
    if (plugin.kind === "agent" && plugin.meta.name !== "command") continue; // its CLI gets a check of its own
    if (plugin.kind !== "sandbox") {
      checks.push({ name, status: "ok", detail: origin });
      continue;
    }
    const availability = await sandboxAvailability(() => plugin.create(plugin.configure({}).options) as Sandbox);
    checks.push(
      availability.available
        ? { name, status: "ok", detail: `${origin}: available${availability.detail ? ` — ${availability.detail}` : ""}` }
        : { name, status: "warn", detail: `${origin}: unavailable — ${availability.reason}`, ...(availability.hint ? { fix: availability.hint } : {}) },
    );
  }
  return plugins;
}

async function sandboxAvailability(make: () => Sandbox): Promise<Availability> {
  try {
    return await make().check();
  } catch (error) {
    const e = toCorralError(error);
    return { available: false, reason: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  }
}

/** An agent plugin's CLI on the host PATH (and its version), and which of its credentials are set. */
async function checkAgentPlugin(plugin: Plugin<"agent">, env: NodeJS.ProcessEnv, scratch: string, model?: string): Promise<DoctorCheck> {
  const name = `agent ${plugin.meta.name}`;
  let agent: Agent;
  try {
    // `model` is the one option corral hands every agent; some agents require it. It does not
    // change which program the agent runs, so a placeholder is fine when none is configured.
    agent = plugin.create(plugin.configure({}).options);
  } catch {
    try {
      agent = plugin.create(plugin.configure({ model: model ?? "default" }).options);
    } catch (error) {
      return failure(name, error, "warn");
    }
  }
  const executable = agentExecutable(agent, scratch);
  const version = await hostVersion(executable, env, scratch);
  const credentials = await credentialStatus(agent, env, scratch);
  const parts = [`${plugin.meta.version}${plugin.meta.packageName ? ` (${plugin.meta.packageName})` : ""}`, version.found ? `CLI ${executable}: ${version.text}` : `CLI ${executable} is not on PATH`, credentials.detail];
  const fix = [version.found ? undefined : `Install the ${plugin.meta.name} CLI so \`${executable}\` is on PATH (or set the agent's executable option).`, credentials.fix].filter(Boolean).join(" ");
  return { name, status: version.found && credentials.ok ? "ok" : "warn", detail: parts.join("; "), ...(fix ? { fix } : {}) };
}

/** The program an agent runs: argv[0] of the command it would build. */
function agentExecutable(agent: Agent, home: string): string {
  return agent.command({ prompt: "corral doctor", iteration: 1, home, cwd: home }).argv[0] ?? "";
}

async function hostVersion(executable: string, env: NodeJS.ProcessEnv, home: string): Promise<{ found: boolean; text: string }> {
  const lines: string[] = [];
  const result = await spawnStreaming([executable, "--version"], {
    env: { PATH: env.PATH ?? "/usr/local/bin:/usr/bin:/bin", HOME: home, LANG: "C.UTF-8", NO_COLOR: "1" },
    cwd: home,
    timeoutMs: 20_000,
    onLine: (line, stream) => stream === "stdout" && lines.push(line),
  });
  if (result.exitCode === 127) return { found: false, text: "" };
  return { found: true, text: lines.find((line) => line.trim())?.trim() ?? `(exit ${result.exitCode ?? result.signal})` };
}

/**
 * Which of the agent's credential env vars are set (names only), and whether the agent's own
 * setup accepts them: it runs against a scratch HOME, exactly as a run would.
 */
async function credentialStatus(agent: Agent, env: NodeJS.ProcessEnv, scratch: string, extra: Record<string, string> = {}): Promise<{ ok: boolean; detail: string; fix?: string }> {
  const names = agent.env?.credentials ?? [];
  const handed: Record<string, string> = {};
  for (const name of [...names, ...(agent.env?.passthrough ?? [])]) {
    const value = env[name];
    if (value) handed[name] = value;
  }
  Object.assign(handed, extra);
  const set = names.filter((name) => handed[name]);
  const detail = names.length === 0 ? "no credentials needed" : set.length ? `credentials: ${set.join(", ")} set` : `credentials: none of ${names.join(", ")} is set`;
  const home = await mkdtemp(join(scratch, "home-"));
  try {
    await agent.setup?.({ env: handed, home });
    return { ok: true, detail };
  } catch (error) {
    const e = toCorralError(error);
    return { ok: false, detail, fix: e.hint ?? e.message };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * The run `corral run` would start with this config and these flags: plugins resolve, options
 * validate, the sandbox is available, the agent's credentials pass its setup, and a sandbox
 * actually starts and finds the agent's program inside.
 */
async function checkConfiguredRun(
  cwd: string,
  env: NodeJS.ProcessEnv,
  scratch: string,
  flags: { agent?: string; sandbox?: string; isolation?: string; config?: string },
): Promise<DoctorCheck[]> {
  let resolved: Awaited<ReturnType<typeof resolveRun>>;
  try {
    resolved = await resolveRun({ cwd, ...flags });
  } catch (error) {
    return [failure("run", error)];
  }
  const { agent, sandbox, isolation } = resolved.options as unknown as { agent: Agent; sandbox: Sandbox; isolation: { name: string } };
  const checks: DoctorCheck[] = [{ name: "run", status: "ok", detail: `agent ${agent.name}, sandbox ${sandbox.name}, isolation ${isolation.name}` }];

  const credentials = await credentialStatus(agent, env, scratch, resolved.options.env ?? {});
  checks.push({ name: "run credentials", status: credentials.ok ? "ok" : "fail", detail: credentials.detail, ...(credentials.fix ? { fix: credentials.fix } : {}) });

  const availability = await sandboxAvailability(() => sandbox);
  if (!availability.available) {
    checks.push({ name: "run sandbox", status: "fail", detail: `${sandbox.name} is unavailable — ${availability.reason}`, ...(availability.hint ? { fix: availability.hint } : {}) });
    return checks;
  }
  checks.push(await probeInSandbox(sandbox, agentExecutable(agent, scratch), env, scratch));
  return checks;
}

/** Starts the configured sandbox on a scratch workspace and looks for the agent's program inside it. */
async function probeInSandbox(sandbox: Sandbox, executable: string, env: NodeJS.ProcessEnv, scratch: string): Promise<DoctorCheck> {
  const name = "run sandbox";
  const workspace = await mkdtemp(join(scratch, "workspace-"));
  const home = await mkdtemp(join(scratch, "home-"));
  try {
    await using handle = await sandbox.create({
      runId: `doctor-${process.pid}`,
      name: "doctor",
      workspace: { path: workspace, cwd: workspace },
      gitMounts: [],
      home,
      mounts: [],
      env: { PATH: env.PATH ?? "/usr/local/bin:/usr/bin:/bin", HOME: home, LANG: "C.UTF-8" },
      network: "host",
      limits: {},
    });
    const found: string[] = [];
    const result = await handle.exec(["sh", "-c", 'command -v "$1"', "sh", executable], { timeoutMs: 60_000, onLine: (line, stream) => stream === "stdout" && found.push(line) });
    if (result.exitCode !== 0) {
      return {
        name,
        status: "fail",
        detail: `the ${sandbox.name} sandbox starts, but \`${executable}\` is not found inside it`,
        fix: `Make \`${executable}\` available inside the ${sandbox.name} sandbox (install it on the host for host-like sandboxes, or in the image for container sandboxes).`,
      };
    }
    return { name, status: "ok", detail: `the ${sandbox.name} sandbox starts and finds ${found[0] ?? executable}` };
  } catch (error) {
    return failure(name, error);
  } finally {
    await rm(workspace, { recursive: true, force: true }).catch(() => {});
    await rm(home, { recursive: true, force: true }).catch(() => {});
  }
}

function failure(name: string, error: unknown, status: "warn" | "fail" = "fail"): DoctorCheck {
  const e = toCorralError(error);
  return { name, status, detail: e.message, ...(e.hint ? { fix: e.hint } : {}) };
}
