import { constants } from "node:fs";
import { lstat, mkdir, open, readdir } from "node:fs/promises";
import { isAbsolute, join, normalize, sep } from "node:path";

/** What a kept session may take: the CLI's transcripts are small; a HOME filled by the agent is not kept whole. */
const MAX_SESSION_BYTES = 64 * 1024 * 1024;
const MAX_SESSION_ENTRIES = 10_000;

/**
 * A session id the agent reported is agent-written data: it goes back into the agent's argv only
 * when it is a plain id (letters, digits, `.`, `_`, `:`, `-`, not starting with `-`), never an option.
 */
export function plainSessionId(id: string | undefined): string | undefined {
  return id !== undefined && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(id) ? id : undefined;
}

/** What `copySessionTree` copied, and what it left out (and why). */
export interface SessionCopy {
  files: number;
  bytes: number;
  /** Set when something was left out: a symlink or special file, or the size cap. */
  skipped?: string;
}

/**
 * Copies the folders `paths` (relative to `from`) to the same places under `to`, as data: folders
 * and regular files only, never a symlink followed (a file is opened with O_NOFOLLOW), never a file
 * written through one (each is created exclusively in a folder made here), at most 64 MiB and 10,000
 * entries. A path that is missing is no error; one that leaves `from` is skipped.
 */
export async function copySessionTree(from: string, to: string, paths: readonly string[]): Promise<SessionCopy> {
  const copy: SessionCopy = { files: 0, bytes: 0 };
  let entries = 0;
  const skip = (why: string) => {
    copy.skipped ??= why;
  };
  const walk = async (rel: string): Promise<void> => {
    if (++entries > MAX_SESSION_ENTRIES) return skip(`more than ${MAX_SESSION_ENTRIES} entries`);
    const source = join(from, rel);
    const info = await lstat(source).catch(() => undefined);
    if (!info) return;
    const target = join(to, rel);
    if (info.isDirectory()) {
      await mkdir(target, { recursive: true, mode: 0o700 });
      for (const name of (await readdir(source)).sort()) await walk(join(rel, name));
      return;
    }
    if (!info.isFile()) return skip(`${rel} is not a regular file`);
    if (copy.bytes + info.size > MAX_SESSION_BYTES) return skip(`the session is larger than ${MAX_SESSION_BYTES / (1024 * 1024)} MiB`);
    const input = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
    if (!input) return skip(`${rel} could not be opened`);
    try {
      const data = await input.readFile();
      if (copy.bytes + data.length > MAX_SESSION_BYTES) return skip(`the session is larger than ${MAX_SESSION_BYTES / (1024 * 1024)} MiB`);
      const output = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        await output.writeFile(data);
      } finally {
        await output.close();
      }
      copy.files++;
      copy.bytes += data.length;
    } finally {
      await input.close();
    }
  };
  // `from` itself must be a folder, not a symlink to one (a planted link would lead the copy anywhere).
  if (!(await lstat(from).catch(() => undefined))?.isDirectory()) {
    skip(`${from} is not a folder`);
    return copy;
  }
  for (const path of paths) {
    const rel = normalize(path);
    if (isAbsolute(rel) || rel === ".." || rel.startsWith(`..${sep}`) || rel === ".") {
      skip(`${path} is not a path inside HOME`);
      continue;
    }
    // A folder on the way that is a symlink would lead the copy out of `from`.
    const parts = rel.split(sep);
    let through = "";
    for (const part of parts.slice(0, -1)) {
      through = join(through, part);
      const info = await lstat(join(from, through)).catch(() => undefined);
      if (!info?.isDirectory()) {
        if (info) skip(`${through} is not a folder`);
        through = "";
        break;
      }
    }
    if (parts.length > 1 && !through) continue;
    if (parts.length > 1) await mkdir(join(to, through), { recursive: true, mode: 0o700 });
    await walk(rel);
  }
  return copy;
}
