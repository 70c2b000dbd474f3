import { type ExecResult } from "@corral/core";
import { spawnStreaming } from "@corral/core/plugin-kit";
import { engineUnavailable } from "@corral/container";

/** The podman client's own env: the engine client needs the host's (XDG_RUNTIME_DIR, HOME, CONTAINERS_CONF…); the container never sees it. */
export function clientEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return env;
}

export interface CliResult extends ExecResult {
  stdout: string[];
  stderr: string[];
}

/** Runs one podman command (argv, never a shell) and collects its output lines. */
export async function podmanCall(podman: string, args: readonly string[], options: { timeoutMs: number; onLine?: (line: string, stream: "stdout" | "stderr") => void; signal?: AbortSignal; cwd?: string }): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const result = await spawnStreaming([podman, ...args], {
    env: clientEnv(),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    onLine: (line, stream) => {
      (stream === "stdout" ? stdout : stderr).push(line);
      options.onLine?.(line, stream);
    },
  });
  return { ...result, stdout, stderr };
}

/** The last `Error: …` podman printed, or the last stderr line. */
export function podmanError(result: CliResult): string {
  const errors = result.stderr.filter((line) => /^Error: /.test(line));
  if (result.timedOut) return "podman did not answer in time";
  return (errors.at(-1) ?? result.stderr.at(-1) ?? `exit code ${result.exitCode}`).replace(/^Error: /, "");
}

/** What the sandbox needs to know about the engine, probed once (`podman info`). */
export interface PodmanFacts {
  rootless: boolean;
  /** e.g. `4.3.1 (runc, rootful)`. */
  version: string;
  /** The OCI runtime and its `--version` text (`runc version 1.1.5 …`): it decides whether mounts can be idmapped. */
  runtime: { name: string; version: string };
  /** podman's default seccomp profile, which corral tightens (core's seccomp.ts); undefined when podman runs without seccomp. */
  seccompProfile: string | undefined;
}

/** Whether podman works here, and the facts the uid mapping depends on. */
export async function probePodman(podman: string, timeoutMs: number): Promise<({ available: true } & PodmanFacts) | { available: false; reason: string; hint: string }> {
  const result = await podmanCall(podman, ["info", "--format", "json"], { timeoutMs });
  if (result.exitCode === 127 && result.stderr.some((line) => line.startsWith("corral: cannot run"))) {
    // A configured path that is not there is named, so the user fixes the option rather than reinstalling.
    const configured = podman === "podman" ? undefined : `the sandbox's podman option is ${podman}, which cannot be run`;
    return { available: false, ...engineUnavailable("podman", "not-installed", configured) };
  }
  if (result.exitCode !== 0) return { available: false, ...engineUnavailable("podman", "not-running", podmanError(result)) };
  let info: { host?: { security?: { rootless?: boolean; seccompEnabled?: boolean; seccompProfilePath?: string }; ociRuntime?: { name?: string; version?: string } }; version?: { Version?: string } };
  try {
    info = JSON.parse(result.stdout.join("\n"));
  } catch {
    return { available: false, ...engineUnavailable("podman", "not-running", "`podman info --format json` printed no JSON") };
  }
  const rootless = info.host?.security?.rootless === true;
  const runtime = { name: info.host?.ociRuntime?.name ?? "?", version: info.host?.ociRuntime?.version ?? "" };
  const security = info.host?.security;
  const seccompProfile = security?.seccompEnabled ? security.seccompProfilePath || undefined : undefined;
  return { available: true, rootless, runtime, seccompProfile, version: `${info.version?.Version ?? "?"} (${runtime.name}, ${rootless ? "rootless" : "rootful"})` };
}
