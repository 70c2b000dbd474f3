import { constants } from "node:fs";
import { open } from "node:fs/promises";

/** What `readPlainFile` found: the text, or that there is none, or why it was not read. */
export interface PlainFileRead {
  text?: string;
  missing?: true;
  problem?: string;
}

/**
 * Reads a small regular file as data without following a symlink at its last component (the folders
 * above were checked by the caller or are corral's own): what an agent may have written (a ref, an exec
 * report, a session file) is read this way, never followed and never more than `maxBytes`.
 */
export async function readPlainFile(path: string, maxBytes: number): Promise<PlainFileRead> {
  let handle;
  try {
    // O_NONBLOCK: a FIFO planted in its place does not hang the read.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { missing: true };
    if (code === "ELOOP") return { problem: "it is a symbolic link" };
    return { problem: `unreadable (${code})` };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { problem: "it is not a regular file" };
    if (info.size > maxBytes) return { problem: `it is too large (${info.size} bytes)` };
    return { text: (await handle.readFile()).toString("utf8") };
  } finally {
    await handle.close();
  }
}
