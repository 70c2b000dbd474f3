import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/** The absolute path of an executable (a name looked up on PATH, or a path), or undefined. */
export function which(name: string, pathEnv = process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"): string | undefined {
  const candidates = isAbsolute(name) || name.includes("/") ? [name] : pathEnv.split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
