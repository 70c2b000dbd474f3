import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { SandboxError, type Mount, type SandboxSpec } from "@corral/core";
import { orderGitMounts, resolveHostPath } from "@corral/core/plugin-kit";

/** A bind mount as both engines take it: host source, container target, read-only or not. */
export interface BindMount {
  /** The path on the host (it must exist). */
  source: string;
  /** The path inside the container. */
  target: string;
  /** Mounted read-only. */
  readonly: boolean;
}

/**
 * Every bind mount a run needs: the workspace and the per-run HOME at the same path inside as
 * outside (so paths in logs and git match), the run's and the plugin's extra mounts, then the
 * isolation's git mounts exactly as given (their sandbox path may differ from the host path).
 * Sorted parents first, as both engines apply them, so a read-only file inside a read-write
 * folder stays read-only. A missing host path is an error: engines would create it as root, or
 * fail obscurely.
 */
export function planMounts(spec: SandboxSpec, extra: readonly Mount[] = []): BindMount[] {
  const byTarget = new Map<string, BindMount>();
  const add = (source: string, target: string, readonly: boolean, git = false) => {
    if (!existsSync(source)) {
      throw new SandboxError(`Cannot mount ${source}: it does not exist on the host.`, {
        code: "E_MOUNT_MISSING",
        hint: "Create the path first, or remove the mount from your config.",
      });
    }
    if (!isAbsolute(target)) {
      throw new SandboxError(`The mount target ${target} must be an absolute path inside the container.`, {
        code: "E_SANDBOX_SPEC",
        hint: "Write the sandbox path of the mount as an absolute path, e.g. /data.",
      });
    }
    const previous = byTarget.get(target);
    // A git mount is the isolation's boundary: it replaces whatever else asked for that target.
    // Otherwise the same target twice keeps the read-only wish, never the looser one.
    byTarget.set(target, git ? { source, target, readonly } : { source, target, readonly: readonly || (previous?.source === source && previous.readonly) });
  };

  // A copied workspace is the container's own (under its /tmp): nothing of the host is mounted for it.
  if (!spec.workspace.copy) add(spec.workspace.path, spec.workspace.path, false);
  add(spec.home, spec.home, false);
  for (const mount of [...spec.mounts, ...extra]) {
    const source = resolveHostPath(mount.host, spec.workspace.path);
    add(source, mount.sandbox ? resolveHostPath(mount.sandbox, spec.workspace.path) : source, mount.readonly ?? true);
  }
  for (const mount of orderGitMounts(spec.gitMounts)) add(mount.host, mount.sandbox, mount.readonly, true);

  return [...byTarget.values()].sort((a, b) => depth(a.target) - depth(b.target) || a.target.localeCompare(b.target));
}

function depth(path: string): number {
  return path.split("/").filter(Boolean).length;
}
