import { type Availability, type SandboxError } from "@corral/core";
import { spawnStreaming } from "@corral/core/plugin-kit";
import { isolationArgs } from "./args.js";
import { chooseLimitStrategy, detectLimitStrategies } from "./limits.js";
import { defaultLimits, type BwrapOptions } from "./options.js";
import { hostSeccompProgram } from "./seccomp.js";
import { which } from "./which.js";

const INSTALL_HINT = "Install bubblewrap: apt-get install bubblewrap (Debian/Ubuntu), dnf install bubblewrap (Fedora), pacman -S bubblewrap (Arch).";
const USERNS_HINT =
  "bwrap needs user namespaces: check `sysctl kernel.unprivileged_userns_clone` (Debian: 1), `sysctl user.max_user_namespaces` (> 0) and, on Ubuntu 23.10+, `sysctl kernel.apparmor_restrict_unprivileged_userns` (0, or an AppArmor profile for bwrap). In a container, the runtime's seccomp profile may block unshare().";
const SECCOMP_HINT =
  "The kernel refused the sandbox's seccomp filter (it needs CONFIG_SECCOMP_FILTER, Linux 4.14+). Run on such a kernel, or set the bwrap option seccomp: false to run without the filter.";

const cache = new Map<string, Promise<Availability & { bwrap?: string }>>();

/**
 * Is bwrap usable here? It must exist AND a probe sandbox with the configured namespaces must
 * actually start (user namespaces can be switched off). Cached per bwrap path, flags and limit options.
 */
export function probeBwrap(options: BwrapOptions): Promise<Availability & { bwrap?: string }> {
  // Everything the answer depends on: the probe's flags, and the limits named in the detail.
  const key = JSON.stringify([options.bwrapPath, isolationArgs(options), options.limitStrategy, options.memoryMb, options.pids]);
  let result = cache.get(key);
  if (!result) {
    result = probe(options);
    cache.set(key, result);
  }
  return result;
}

async function probe(options: BwrapOptions): Promise<Availability & { bwrap?: string }> {
  const bwrap = which(options.bwrapPath);
  if (!bwrap) return { available: false, reason: `${options.bwrapPath} was not found on PATH.`, hint: INSTALL_HINT };
  let seccomp: ReturnType<typeof hostSeccompProgram> | undefined;
  try {
    seccomp = options.seccomp ? hostSeccompProgram() : undefined;
  } catch (error) {
    return { available: false, reason: (error as SandboxError).message, ...((error as SandboxError).hint ? { hint: (error as SandboxError).hint! } : {}) };
  }
  const errors: string[] = [];
  const env = { PATH: "/usr/bin:/bin" };
  // The probe loads the same filter, so a kernel that refuses it is found here, not in the run.
  const probeRun = await spawnStreaming([bwrap, ...isolationArgs(options, "none"), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "true"], {
    env,
    cwd: "/",
    timeoutMs: 15_000,
    extraFds: seccomp ? [seccomp.program] : [],
    onLine: (line) => errors.push(line),
  });
  if (probeRun.exitCode !== 0) {
    const output = errors.join(" ").trim();
    return {
      available: false,
      reason: `a probe sandbox did not start (exit ${probeRun.exitCode ?? probeRun.signal}): ${output || "no output"}`,
      hint: options.seccomp && /seccomp/i.test(output) ? SECCOMP_HINT : USERNS_HINT,
    };
  }
  const version: string[] = [];
  await spawnStreaming([bwrap, "--version"], { env, cwd: "/", timeoutMs: 5000, onLine: (line) => version.push(line) });
  const limits = (await detectLimitStrategies()).find(
    (report) => report.available && report.enforces.length > 0 && (options.limitStrategy === "auto" || report.name === options.limitStrategy),
  );
  const limitText = limits ? `limits via ${limits.name} (${limits.enforces.join(", ")})` : "no limit mechanism (only wallSeconds)";
  const seccompText = seccomp ? `seccomp filter on (${seccomp.arch})` : "seccomp filter off";
  return { available: true, bwrap, detail: `${version[0] ?? "bwrap"} at ${bwrap}; ${limitText}; ${await defaultsText(options)}; ${seccompText}` };
}

/** What the default limits are and whether they are in force here, in words. */
async function defaultsText(options: BwrapOptions): Promise<string> {
  const defaults = defaultLimits(options);
  const named = Object.entries(defaults).map(([name, value]) => `${name} ${value}`);
  if (named.length === 0) return "no default limits";
  const plan = await chooseLimitStrategy({}, { strategy: options.limitStrategy, bestEffort: true, defaults });
  const inForce = Object.keys(plan?.limits ?? {});
  if (inForce.length === named.length) return `default limits ${named.join(", ")} via ${plan!.strategy.name}`;
  const missing = plan?.notEnforced.join(", ");
  const reason = "only a cgroup (systemd, cgroup v2 or v1) enforces a default; prlimit enforces only limits a run sets";
  return inForce.length === 0 ? `default limits ${named.join(", ")} NOT enforced here (${reason})` : `default limits ${named.join(", ")}: ${missing} NOT enforced here (${reason}), the rest via ${plan!.strategy.name}`;
}
