import { type ExecResult } from "@corral/core";
import { spawnStreaming } from "@corral/core/plugin-kit";
import { engineUnavailable, sshTrustFailure } from "@corral/container";
import type { PodmanEngine } from "./endpoint.js";


export interface CliResult extends ExecResult {
  stdout: string[];
  stderr: string[];
}

/** Runs one podman command (argv, never a shell) and collects its output lines. */
export async function podmanCall(engine: PodmanEngine, args: readonly string[], options: { timeoutMs: number; onLine?: (line: string, stream: "stdout" | "stderr") => void; signal?: AbortSignal; cwd?: string }): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let argv: string[];
  try {
    argv = await engine.argv(args);
  } catch (error) {
    // The forwarded socket could not be opened: said as podman would, for the callers' diagnosis.
    return { exitCode: 125, signal: null, timedOut: false, aborted: false, durationMs: 0, stdout, stderr: [`Error: ${(error as Error).message}`] };
  }
  const result = await spawnStreaming(argv, {
    env: engine.env(),
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
  /** A remote engine's: whether its host gives podman subordinate ids (`containers` in /etc/subuid and /etc/subgid); undefined for this machine's. */
  subids?: boolean | undefined;
}

/** Whether podman works here, and the facts the uid mapping depends on. */
export async function probePodman(engine: PodmanEngine, timeoutMs: number): Promise<({ available: true } & PodmanFacts) | { available: false; reason: string; hint: string; code?: "E_SANDBOX_ENGINE_TRUST" }> {
  const podman = engine.podman;
  if (engine.endpoint.ssh) {
    // corral's own ssh first: a host key not in known_hosts, or a refused key, is said as such.
    try {
      await engine.endpoint.ssh.connection.client();
    } catch (error) {
      const trust = sshTrustFailure(engine.endpoint.display, error);
      if (trust) return { available: false, code: "E_SANDBOX_ENGINE_TRUST" as const, ...trust };
      return { available: false, reason: `the podman engine at ${engine.endpoint.display} (from ${engine.endpoint.source}) cannot be reached: ${(error as Error).message}`, hint: "Is the host up and its sshd reachable from here?" };
    }
  }
  const result = await podmanCall(engine, ["info", "--format", "json"], { timeoutMs });
  if (result.exitCode === 127 && result.stderr.some((line) => line.startsWith("corral: cannot run"))) {
    // A configured path that is not there is named, so the user fixes the option rather than reinstalling.
    const configured = podman === "podman" ? undefined : `the sandbox's podman option is ${podman}, which cannot be run`;
    return { available: false, ...engineUnavailable("podman", "not-installed", configured) };
  }
  if (result.exitCode !== 0 && engine.remote) return { available: false, reason: `the podman engine at ${engine.endpoint.display} (from ${engine.endpoint.source}) does not answer: ${podmanError(result)}`, hint: "Is its podman service running there (systemctl enable --now podman.socket), at the socket the address names?" };
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
  const subids = engine.endpoint.ssh ? (await engine.endpoint.ssh.connection.run("grep -q '^containers:' /etc/subuid && grep -q '^containers:' /etc/subgid").catch(() => ({ code: 1 }))).code === 0 : undefined;
  return { available: true, rootless, runtime, seccompProfile, version: `${info.version?.Version ?? "?"} (${runtime.name}, ${rootless ? "rootless" : "rootful"})`, ...(subids === undefined ? {} : { subids }) };
}
