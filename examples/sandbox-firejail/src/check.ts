import { type Availability } from "@corral/core";
import { spawnStreaming } from "@corral/core/plugin-kit";
import type { FirejailOptions } from "./options.js";
import { which } from "./which.js";

const INSTALL_HINT = "Install firejail: apt-get install firejail (Debian/Ubuntu), dnf install firejail (Fedora), pacman -S firejail (Arch).";

/** Availability, plus the firejail binary that worked. */
export type Probe = Availability & { firejail?: string };

const cache = new Map<string, Promise<Probe>>();

/**
 * Is firejail usable here? It must exist AND a probe sandbox with the flags corral uses must
 * start (firejail refuses to nest, and some kernels or containers forbid its namespaces).
 */
export function probeFirejail(options: Pick<FirejailOptions, "firejailPath" | "seccomp">): Promise<Probe> {
  const key = JSON.stringify([options.firejailPath, options.seccomp]);
  let probe = cache.get(key);
  if (!probe) {
    probe = run(options);
    cache.set(key, probe);
  }
  return probe;
}

async function run(options: Pick<FirejailOptions, "firejailPath" | "seccomp">): Promise<Probe> {
  const firejail = which(options.firejailPath);
  if (!firejail) return { available: false, reason: `${options.firejailPath} was not found on PATH.`, hint: INSTALL_HINT };
  const env = { PATH: "/usr/bin:/bin" };
  const output: string[] = [];
  const flags = ["--quiet", "--noprofile", "--deterministic-shutdown", "--caps.drop=all", "--nonewprivs", "--private-dev", "--net=none", "--read-only=/", ...(options.seccomp ? ["--seccomp"] : [])];
  const probe = await spawnStreaming([firejail, ...flags, "--", "true"], { env, cwd: "/", timeoutMs: 15_000, onLine: (line) => output.push(line) });
  if (probe.exitCode !== 0) {
    return {
      available: false,
      reason: `a probe sandbox did not start (exit ${probe.exitCode ?? probe.signal}): ${output.join(" ").trim() || "no output"}`,
      hint: "firejail must be setuid root (or run as root), not run inside another firejail, and may need user/network namespaces allowed (check /etc/firejail/firejail.config).",
    };
  }
  const version: string[] = [];
  await spawnStreaming([firejail, "--version"], { env, cwd: "/", timeoutMs: 5000, onLine: (line) => version.push(line) });
  return { available: true, firejail, detail: `${version[0] ?? "firejail"} at ${firejail}` };
}
