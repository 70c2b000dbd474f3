import type { SandboxCapabilities } from "@corral/core";

/**
 * Copied workspaces in a container (docs/copied-workspaces.md): the copy lives under the
 * container's own /tmp (a tmpfs: in memory, nothing on the engine host's disk), written and read
 * by the image's own `tar` through an exec as the agent's user, so its files are the agent's and no
 * engine copy API (which cannot write a tmpfs or a read-only root) is needed. The image needs
 * `tar` and `git`.
 */
export const COPY_ROOT = "/tmp/corral";

/** The capability both container plugins declare. */
export const copiedWorkspaceCapability: NonNullable<SandboxCapabilities["copiedWorkspace"]> = { root: COPY_ROOT };

/** The exec that unpacks corral's archive (on stdin) into `path`. */
export function putArchiveArgv(path: string): string[] {
  return ["/bin/sh", "-c", 'mkdir -p "$1" && exec tar -x -f - -C "$1"', "corral-put-archive", path];
}

/** The exec that writes `path` (a file or folder) as a tar on stdout, its entries named from its last component. */
export function getArchiveArgv(path: string): string[] {
  const at = path.lastIndexOf("/");
  const parent = at <= 0 ? "/" : path.slice(0, at);
  return ["/bin/sh", "-c", 'cd "$1" && exec tar -c -f - -- "$2"', "corral-get-archive", parent, path.slice(at + 1)];
}

/** A path an archive exec may name: under the copy root, no `..`. */
export function checkCopyPath(path: string): void {
  if (!(path === COPY_ROOT || path.startsWith(`${COPY_ROOT}/`)) || path.split("/").includes("..")) throw new Error(`${path} is not under the copied-workspace root ${COPY_ROOT}.`);
}
