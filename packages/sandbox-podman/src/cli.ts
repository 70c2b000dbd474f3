import { spawnStreaming, type ExecResult } from "@corral/core";
import { engineUnavailable } from "@corral/core/container";

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

/** Whether podman works here, and if it runs rootless (which decides the uid mapping). */
export async function probePodman(podman: string, timeoutMs: number): Promise<{ available: true; rootless: boolean; version: string } | { available: false; reason: string; hint: string }> {
  const result = await podmanCall(podman, ["info", "--format", "{{.Host.Security.Rootless}} {{.Version.Version}} {{.Host.OCIRuntime.Name}}"], { timeoutMs });
  if (result.exitCode === 127 && result.stderr.some((line) => line.startsWith("corral: cannot run"))) return { available: false, ...engineUnavailable("podman", "not-installed") };
  if (result.exitCode !== 0) return { available: false, ...engineUnavailable("podman", "not-running", podmanError(result)) };
  const [rootless, version, runtime] = (result.stdout[0] ?? "").split(" ");
  return { available: true, rootless: rootless === "true", version: `${version ?? "?"} (${runtime ?? "?"}, ${rootless === "true" ? "rootless" : "rootful"})` };
}
