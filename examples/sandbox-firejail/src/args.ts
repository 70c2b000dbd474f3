import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { SandboxError, type SandboxSpec } from "@corral/core";
import { networkMode, orderGitMounts } from "@corral/core/plugin-kit";
import type { FirejailOptions } from "./options.js";

/**
 * Env vars firejail sets in the sandbox on its own. The kit (and our promise) is "exactly the
 * spec's env", so the command runs under `env -u` for those the spec did not ask for.
 */
export const FIREJAIL_INJECTED_ENV = ["FIREJAIL_QUIET", "SHELL", "PROMPT_COMMAND", "QT_X11_NO_MITSHM", "QML_DISABLE_DISK_CACHE", "KDE_FORK_SLAVES"];

/** `~`, `~/x` and relative paths, resolved on the host. */
export function hostPath(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? resolve(path) : resolve(path);
}

/** Refuses what firejail cannot enforce: corral sandboxes fail closed, they never quietly do less. */
export function assertSupported(spec: SandboxSpec): void {
  const unsupported = (what: string, hint: string) =>
    new SandboxError(`The firejail sandbox cannot enforce ${what}.`, { code: "E_SANDBOX_UNSUPPORTED", hint });
  if (networkMode(spec.network) === "bridge") throw unsupported('network "bridge"', 'Use network "none" or "host", or a container sandbox (podman, docker).');
  if (spec.limits.pids !== undefined) throw unsupported("limits.pids (its rlimit counts every process of the user, not the sandbox's)", "Drop limits.pids, or use the bwrap, podman or docker sandbox.");
  if (spec.limits.cpuPercent !== undefined) throw unsupported("limits.cpuPercent", "Drop limits.cpuPercent, or use the bwrap, podman or docker sandbox.");
  for (const mount of spec.gitMounts) {
    if (mount.host !== mount.sandbox && process.getuid?.() !== 0) {
      throw unsupported(`the run's git mounts (${mount.host} at ${mount.sandbox}) without root`, "firejail can mount a path elsewhere (--bind) only as root; run as root, or use the bwrap sandbox.");
    }
    // firejail resolves a bind's source after the binds before it: a source under an earlier bind's
    // target (an in-place run's objects, under the .git the run's git dir covers) would be the wrong one.
    const hidden = spec.gitMounts.find((other) => other !== mount && other.host !== other.sandbox && depth(other.sandbox) < depth(mount.sandbox) && isUnder(mount.host, other.sandbox));
    if (hidden) {
      throw unsupported(`the run's git mounts of an in-place run (${mount.host} lies under ${hidden.sandbox}, which the run's own git dir covers)`, "Use --isolation worktree, or the bwrap, podman or docker sandbox for in-place runs in a git checkout.");
    }
  }
  for (const mount of spec.mounts) {
    if (mount.sandbox !== undefined && hostPath(mount.sandbox) !== hostPath(mount.host)) {
      throw unsupported(`a mount at another path (${mount.host} → ${mount.sandbox})`, "firejail shows host paths where they are; mount at the same path.");
    }
    if (!existsSync(hostPath(mount.host))) {
      throw new SandboxError(`The mount ${mount.host} does not exist on the host.`, { code: "E_MOUNT_MISSING", hint: "Create it first, or remove it from `mounts`." });
    }
  }
}

const depth = (path: string) => path.split("/").filter(Boolean).length;
const isUnder = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);

/**
 * The firejail arguments for a sandbox: the whole host read-only, secrets hidden, and only the
 * workspace, HOME, git metadata and read-write mounts writable. firejail applies these in order,
 * so the read-only git files listed last stay read-only inside a writable folder.
 */
export function firejailArgs(spec: SandboxSpec, options: FirejailOptions): string[] {
  const args = [
    "--quiet",
    "--noprofile",
    // End the sandbox when the command ends (not when its last background child does), with its exit code.
    "--deterministic-shutdown",
    "--deterministic-exit-code",
    "--caps.drop=all",
    "--nonewprivs",
    "--private-dev",
    ...(options.seccomp ? ["--seccomp"] : []),
    ...(networkMode(spec.network) === "none" ? ["--net=none"] : []),
    ...(spec.limits.memoryMb !== undefined ? [`--rlimit-as=${spec.limits.memoryMb * 1024 * 1024}`] : []),
    // A git mount shown at another path is a bind (root only), which firejail must set up before `--read-only=/`.
    ...orderGitMounts(spec.gitMounts)
      .filter((mount) => mount.host !== mount.sandbox)
      .map((mount) => `--bind=${mount.host},${mount.sandbox}`),
    "--read-only=/",
  ];
  for (const path of options.denyRead.map(hostPath)) if (existsSync(path)) args.push(`--blacklist=${path}`);
  const writable = [spec.workspace.path, spec.home, ...spec.mounts.filter((m) => m.readonly === false).map((m) => hostPath(m.host))];
  for (const path of new Set(writable)) args.push(`--read-write=${path}`);
  // The run's git data last, parents first, so the deeper entry wins.
  for (const mount of orderGitMounts(spec.gitMounts)) args.push(`${mount.readonly ? "--read-only" : "--read-write"}=${mount.sandbox}`);
  if (spec.gitMounts.length === 0) {
    const dotGit = join(spec.workspace.path, ".git");
    for (const path of [join(dotGit, "config"), join(dotGit, "hooks")]) if (existsSync(path)) args.push(`--read-only=${path}`);
  }
  args.push(...options.extraArgs);
  return args;
}

/**
 * The command as run inside: `env -u` drops what firejail injected, and puts back the value of
 * any such name the spec did set (these names are never credentials). Values stay out of argv.
 */
export function commandArgv(argv: readonly string[], env: Record<string, string>): string[] {
  const unset = FIREJAIL_INJECTED_ENV.filter((name) => !(name in env)).flatMap((name) => ["-u", name]);
  const restore = FIREJAIL_INJECTED_ENV.filter((name) => name in env).map((name) => `${name}=${env[name]}`);
  return ["env", ...unset, "--", ...restore, ...argv];
}
