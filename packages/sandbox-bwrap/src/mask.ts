import { lstatSync } from "node:fs";

export type PathKind = "dir" | "file" | "symlink" | "missing";

/** What is at a host path, without following a final symlink. */
export function kindOf(path: string): PathKind {
  try {
    const info = lstatSync(path);
    return info.isSymbolicLink() ? "symlink" : info.isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

/**
 * Hides a path inside the sandbox: an empty read-only folder over a folder, /dev/null (unreadable
 * there: mounts are nodev) over anything else. `kind` is what is at that path on the host.
 */
export function mask(path: string, kind: PathKind = kindOf(path)): string[] {
  if (kind === "missing" || kind === "symlink") return [];
  return kind === "dir" ? ["--tmpfs", path, "--remount-ro", path] : ["--ro-bind", "/dev/null", path];
}
