import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CorralError, diskFull } from "./errors.js";

/**
 * Every temporary folder a run makes on the host (its HOME, a sandbox's /tmp, an engine's env
 * files) is `corral-<kind>-<run id>-<random>` in the OS temp dir, mode 0700: private to the user,
 * and findable by run id, so `corral clean` removes exactly what a killed run left and nothing else.
 */
export async function runTempDir(kind: string, runId: string): Promise<string> {
  const base = tmpdir();
  let dir: string;
  try {
    dir = await mkdtemp(join(base, `${runTempPrefix(kind, runId)}`));
  } catch (error) {
    throw tempDirError(base, error);
  }
  await chmod(dir, 0o700);
  return dir;
}

/** Why the temp folder cannot take a run's folder, as a typed error (a full disk, or one corral may not write). */
function tempDirError(base: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") return diskFull(error, base);
  if (code === "EACCES" || code === "EPERM" || code === "EROFS" || code === "ENOENT" || code === "ENOTDIR") {
    return new CorralError("E_TEMP_DIR_UNWRITABLE", `corral cannot make its temporary folders in ${base} (${code}).`, {
      cause: error,
      hint: "Point TMPDIR at a folder you can write (e.g. `export TMPDIR=$HOME/.cache/tmp && mkdir -p $TMPDIR`), or fix the permissions of this one.",
    });
  }
  return error;
}

/** The name prefix of a run's temp folders of one kind (`corral-home-<run id>-`). */
export function runTempPrefix(kind: string, runId: string): string {
  return `corral-${kind}-${runId.replace(/[^A-Za-z0-9_.-]/g, "_")}-`;
}

/** Every temp folder the run `runId` made (any kind), found by name: `corral-<kind>-<run id>-<6 random>`. */
export async function listRunTempDirs(runId: string, base = tmpdir()): Promise<string[]> {
  const safe = runId.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/[.]/g, "\\.");
  const pattern = new RegExp(`^corral-[a-z0-9]+(?:-[a-z0-9]+)*-${safe}-[A-Za-z0-9]{6}$`);
  return (await readdir(base).catch(() => [] as string[])).filter((name) => pattern.test(name)).map((name) => join(base, name));
}

/** Removes every temp folder the run `runId` made (any kind); the paths removed. */
export async function removeRunTempDirs(runId: string, base = tmpdir()): Promise<string[]> {
  const found = await listRunTempDirs(runId, base);
  for (const dir of found) await rm(dir, { recursive: true, force: true });
  return found;
}
