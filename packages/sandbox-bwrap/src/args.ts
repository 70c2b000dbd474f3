import { existsSync, readlinkSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { SandboxError, type Mount, type SandboxNetworkMode, type SandboxSpec } from "@corral/core";
import { networkMode, orderGitMounts } from "@corral/core/plugin-kit";
import { egressArgs } from "./egress.js";
import { etcArgs, SECRET_PATHS } from "./etc.js";
import { kindOf, mask } from "./mask.js";
import type { BwrapOptions } from "./options.js";
import { procArgs } from "./proc.js";

/** System folders the `minimal` read policy shows (read-only), next to part of /etc. Missing ones are skipped. */
export const SYSTEM_PATHS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/nix/store"];

/** What `host-readonly` hides on top of the secrets: homes, runtime sockets, other users' temp files. */
export function hostReadonlyDenyList(): string[] {
  return ["/root", "/home", homedir(), "/run", "/var/run", "/tmp", "/var/tmp", "/media", "/mnt", "/srv", "/var/lib/docker", "/var/lib/containers", ...SECRET_PATHS];
}

/** `~`, `~/x` and relative paths, resolved on the host. */
export function resolveHostPath(path: string, cwd = process.cwd()): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? resolve(path) : resolve(cwd, path);
}

/** Resolves and checks mounts: a missing host path is an error now, not a surprise later. */
export function resolveMounts(mounts: readonly Mount[]): Array<Required<Mount>> {
  return mounts.map((mount) => {
    const host = resolveHostPath(mount.host);
    if (!existsSync(host)) {
      throw new SandboxError(`The mount ${mount.host} does not exist on the host (resolved to ${host}).`, {
        code: "E_MOUNT_MISSING",
        hint: "Create it first, or remove it from `mounts`.",
      });
    }
    return { host, sandbox: mount.sandbox ?? host, readonly: mount.readonly ?? true };
  });
}

/** The namespace and process flags, shared by the sandbox and the availability probe. */
export function isolationArgs(options: BwrapOptions, network: SandboxNetworkMode = "host"): string[] {
  const ns = options.namespaces;
  return [
    ...(ns.user ? ["--unshare-user"] : []),
    ...(ns.pid ? ["--unshare-pid"] : []),
    ...(ns.ipc ? ["--unshare-ipc"] : []),
    ...(ns.uts ? ["--unshare-uts", "--hostname", "corral"] : []),
    ...(ns.cgroup ? ["--unshare-cgroup-try"] : []),
    ...(network === "host" ? [] : ["--unshare-net"]),
    ...(options.dieWithParent ? ["--die-with-parent"] : []),
    ...(options.newSession ? ["--new-session"] : []),
    ...(options.dropCapabilities ? ["--cap-drop", "ALL"] : []),
    // The filter comes on fd 3 (see seccomp.ts); bwrap loads it after its own setup.
    ...(options.seccomp ? ["--seccomp", String(SECCOMP_FD)] : []),
  ];
}

/** The file descriptor bwrap reads the seccomp program from. */
export const SECCOMP_FD = 3;

/** Read-only over a read-write bind. A missing folder becomes an empty read-only one, so it cannot be created inside. */
function protect(path: string, ifMissing: "skip" | "empty-folder" = "skip"): string[] {
  if (kindOf(path) !== "missing") return ["--ro-bind", path, path];
  return ifMissing === "skip" ? [] : ["--tmpfs", path, "--remount-ro", path];
}

/**
 * The bwrap arguments for a sandbox (everything but the per-exec `--chdir` and command).
 * Order matters: bwrap applies mounts in order, so the read-write binds come after the masks
 * (a workspace under a hidden folder stays visible) and the isolation's git mounts come last.
 */
export function sandboxArgs(spec: SandboxSpec, options: BwrapOptions, tmpDir: string): string[] {
  const args: string[] = [...isolationArgs(options, networkMode(spec.network))];
  const deny = options.denyRead.map((path) => resolveHostPath(path));

  if (options.readPolicy === "host-readonly") {
    args.push("--ro-bind", "/", "/");
    deny.push(...hostReadonlyDenyList());
  } else {
    for (const path of SYSTEM_PATHS) {
      const kind = kindOf(path);
      if (kind === "symlink") args.push("--symlink", readlinkSync(path), path);
      else if (kind === "dir") args.push("--ro-bind", path, path);
    }
    args.push(...etcArgs());
  }
  // A symlink (e.g. /var/run -> /run) cannot be mounted over: hide its target instead.
  const hidden = deny.map((path) => (kindOf(path) === "symlink" && existsSync(path) ? realpathSync(path) : path));
  for (const path of new Set(hidden)) args.push(...mask(path));
  args.push(...procArgs(options.readPolicy === "host-readonly"), "--dev", "/dev");
  // One /tmp per sandbox, shared by its execs and removed with it.
  args.push("--bind", tmpDir, "/tmp");

  // A copied workspace is in the sandbox's own /tmp (above): nothing of the host's is mounted for it.
  if (!spec.workspace.copy) args.push("--bind", spec.workspace.path, spec.workspace.path);
  args.push("--bind", spec.home, spec.home);
  // The egress proxy's socket, the only way out of a `proxy` network (after /tmp, under which it lives on the host).
  if (typeof spec.network === "object" && spec.network.mode === "proxy") args.push(...egressArgs(spec.network));
  for (const mount of resolveMounts([...options.mounts, ...spec.mounts])) {
    args.push(mount.readonly ? "--ro-bind" : "--bind", mount.host, mount.sandbox);
  }
  // The isolation's git mounts last, so no bind above can uncover a read-only part of them; in
  // their own order (parents first), so the deeper entry wins both ways.
  for (const mount of orderGitMounts(spec.gitMounts)) {
    if (!existsSync(mount.host)) {
      throw new SandboxError(`The git mount ${mount.host} does not exist on the host.`, { code: "E_SANDBOX_MOUNT", hint: "This is a bug in the isolation: every git mount must exist when the sandbox is created." });
    }
    args.push(mount.readonly ? "--ro-bind" : "--bind", mount.host, mount.sandbox);
  }
  // Without an isolation's git mounts (a plain checkout handed over as is), its own .git config and
  // hooks at least stay read-only.
  const dotGit = join(spec.workspace.path, ".git");
  if (options.protectGitConfig && !spec.workspace.copy && spec.gitMounts.length === 0 && kindOf(dotGit) === "dir") {
    args.push(...protect(join(dotGit, "config")), ...protect(join(dotGit, "hooks"), "empty-folder"));
  }
  args.push(...options.extraArgs);
  // Under `minimal` the root is bwrap's own tmpfs: read-only once every mount point is made.
  if (options.readPolicy === "minimal") args.push("--remount-ro", "/");
  return args;
}
