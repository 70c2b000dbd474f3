import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, readlink, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CorralError } from "./errors.js";

/**
 * A small tar (ustar + pax) writer and a reader for hostile archives: what a copied workspace
 * ships into a sandbox and brings back out of it. The reader trusts nothing in the archive: a
 * link, a device, an absolute path or a `..` is never extracted (it is reported), a header whose
 * checksum is wrong or a size past the caps stops it (`E_ARCHIVE_UNSAFE`), and it writes only
 * where its caller's `place` says, creating each file exclusively, never through a symlink.
 */

const BLOCK = 512;

/** One entry to write. A file's body is a buffer or a stream of exactly `size` bytes. */
export interface TarEntryIn {
  path: string;
  type: "file" | "dir" | "symlink";
  mode?: number;
  size?: number;
  body?: Uint8Array | (() => AsyncIterable<Uint8Array>);
  linkname?: string;
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, "0") + "\0";
}

function header(name: string, options: { type: string; size: number; mode: number; linkname?: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, "utf8");
  block.write(octal(options.mode & 0o7777, 8), 100, "ascii");
  block.write(octal(0, 8), 108, "ascii");
  block.write(octal(0, 8), 116, "ascii");
  block.write(octal(options.size, 12), 124, "ascii");
  block.write(octal(0, 12), 136, "ascii");
  block.write("        ", 148, "ascii");
  block.write(options.type, 156, "ascii");
  if (options.linkname) block.write(options.linkname, 157, 100, "utf8");
  block.write("ustar\u000000", 257, "binary");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + " ", 148, "ascii");
  return block;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** Writes entries as a tar stream (pax headers for long names). */
export async function* packTar(entries: AsyncIterable<TarEntryIn> | Iterable<TarEntryIn>): AsyncGenerator<Uint8Array> {
  for await (const entry of entries) {
    const name = entry.type === "dir" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
    const size = entry.type === "file" ? (entry.size ?? (entry.body instanceof Uint8Array ? entry.body.length : 0)) : 0;
    const long = Buffer.byteLength(name) > 100 || Buffer.byteLength(entry.linkname ?? "") > 100;
    if (long) {
      const pax = Buffer.from(paxRecord("path", name) + (entry.linkname ? paxRecord("linkpath", entry.linkname) : ""));
      yield header("PaxHeader", { type: "x", size: pax.length, mode: 0o644 });
      yield pax;
      yield padding(pax.length);
    }
    const type = entry.type === "file" ? "0" : entry.type === "dir" ? "5" : "2";
    yield header(long ? name.slice(0, 99) : name, { type, size, mode: entry.mode ?? (entry.type === "dir" ? 0o755 : 0o644), ...(entry.linkname ? { linkname: entry.linkname } : {}) });
    if (entry.type !== "file") continue;
    let written = 0;
    if (entry.body instanceof Uint8Array) {
      yield entry.body;
      written = entry.body.length;
    } else if (entry.body) {
      for await (const chunk of entry.body()) {
        written += chunk.length;
        if (written > size) throw new CorralError("E_WORKSPACE_COPY", `${entry.path} grew while it was archived.`);
        yield chunk;
      }
    }
    if (written !== size) throw new CorralError("E_WORKSPACE_COPY", `${entry.path} changed size while it was archived.`);
    yield padding(size);
  }
  yield Buffer.alloc(BLOCK * 2);
}

/**
 * A folder on the host as tar entries named `<prefix>/…`, walked without following any symlink (a
 * symlink becomes a symlink entry, which a reader refuses). Only files, folders and symlinks.
 */
export async function* walkForTar(root: string, prefix: string): AsyncGenerator<TarEntryIn> {
  const info = await lstat(root);
  if (info.isSymbolicLink()) {
    yield { path: prefix, type: "symlink", linkname: await readlink(root) };
    return;
  }
  if (info.isFile()) {
    yield fileEntry(root, prefix, info.size, info.mode);
    return;
  }
  if (!info.isDirectory()) return;
  yield { path: prefix, type: "dir", mode: info.mode };
  for (const name of (await readdir(root)).sort()) yield* walkForTar(join(root, name), `${prefix}/${name}`);
}

function fileEntry(path: string, name: string, size: number, mode: number): TarEntryIn {
  return {
    path: name,
    type: "file",
    size,
    mode,
    body: async function* () {
      // O_NOFOLLOW: a file swapped for a symlink since it was listed is refused, never followed.
      const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        if (!(await handle.stat()).isFile()) throw new CorralError("E_ARCHIVE_UNSAFE", `${name} is not a regular file.`);
        // Read straight from the handle (no stream): one read for a small file. Asking for a byte
        // more than is left tells packTar when the file grew.
        for (let read = 0; ; ) {
          const want = Math.min(Math.max(size - read, 0) + 1, 1024 * 1024);
          const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(want), 0, want, null);
          if (bytesRead === 0) break;
          read += bytesRead;
          yield buffer.subarray(0, bytesRead);
          if (bytesRead < want && read >= size) break;
        }
      } finally {
        await handle.close();
      }
    },
  };
}

/** An entry as the reader met it (a file's body is not here: `place` decides where it goes). */
export interface TarEntryOut {
  /** Normalised: relative, `/`-separated, no `.` or `..` part, no trailing `/`. */
  path: string;
  type: "file" | "dir";
  size: number;
  mode: number;
}

/** What `extractTar` takes. */
export interface ExtractOptions {
  /** The absolute host path to write a file entry to, or undefined to skip it. Folders are made as needed. */
  place: (entry: TarEntryOut) => string | undefined;
  /** Most bytes of file content the archive may hold (default 4 GiB). */
  maxBytes?: number;
  /** Most entries (default 1,000,000). */
  maxEntries?: number;
  /**
   * `create`: symlink entries become symlinks (only for an archive corral wrote itself, shipped
   * into a sandbox); an entry under a link made here is still refused. Default `refuse`.
   */
  symlinks?: "refuse" | "create";
  /** Replace a file that exists at the destination (unlinked first, never written through). Default false: it is an error. */
  replace?: boolean;
}

/** What `extractTar` did. */
export interface ExtractResult {
  files: number;
  bytes: number;
  /** Entries refused (a link, a device, a path that leaves the archive), as `path (why)`. */
  refused: string[];
}

const unsafe = (message: string) => new CorralError("E_ARCHIVE_UNSAFE", message, { hint: "The archive came from the sandbox, so the agent may have shaped it: nothing past this point was used." });

/** A path from an archive, normalised, or undefined when it is not one corral extracts (absolute, `..`, NUL, empty). */
export function safeArchivePath(raw: string): string | undefined {
  if (raw.includes("\0") || raw.startsWith("/") || raw.includes("\\")) return undefined;
  const parts = raw.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.length === 0 || parts.some((part) => part === "..")) return undefined;
  return parts.join("/");
}

function parseNumber(field: Buffer): number {
  if (field[0]! & 0x80) {
    // base-256: a size past 8 GiB, or a negative one.
    if (field[0] === 0xff) return -1;
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const text = field.toString("ascii").replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) return -1;
  return parseInt(text, 8);
}

function cstring(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString("utf8");
}

function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space === -1) throw unsafe("A pax header record is malformed.");
    const length = Number(body.subarray(at, space).toString("ascii"));
    if (!Number.isInteger(length) || length <= 0 || at + length > body.length) throw unsafe("A pax header record is malformed.");
    const record = body.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return out;
}

/** Reads a hostile tar stream, writing the file entries `place` accepts. */
export async function extractTar(source: AsyncIterable<Uint8Array>, options: ExtractOptions): Promise<ExtractResult> {
  const maxBytes = options.maxBytes ?? 4 * 1024 ** 3;
  const maxEntries = options.maxEntries ?? 1_000_000;
  const maxMeta = 1024 * 1024;
  const result: ExtractResult = { files: 0, bytes: 0, refused: [] };
  let buffer = Buffer.alloc(0);
  let entries = 0;
  let ended = false;
  let pax: Record<string, string> = {};
  const links = new Set<string>();
  /** Host folders made (or found) for files: each is made once. */
  const made = new Set<string>();
  const underLink = (path: string) => {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) if (links.has(parts.slice(0, i).join("/"))) return true;
    return false;
  };
  let longName: string | undefined;
  const iterator = source[Symbol.asyncIterator]();
  let done = false;

  /** Ensures `n` bytes are buffered; false at the end of the stream. */
  const fill = async (n: number): Promise<boolean> => {
    while (buffer.length < n && !done) {
      const next = await iterator.next();
      if (next.done) done = true;
      else buffer = buffer.length ? Buffer.concat([buffer, Buffer.from(next.value)]) : Buffer.from(next.value);
    }
    return buffer.length >= n;
  };
  const take = (n: number): Buffer => {
    const out = buffer.subarray(0, n);
    buffer = buffer.subarray(n);
    return out;
  };
  /** Passes `size` bytes (and the block padding) to `sink`, chunk by chunk. */
  const body = async (size: number, sink?: (chunk: Buffer) => Promise<void>) => {
    let left = size + ((BLOCK - (size % BLOCK)) % BLOCK);
    let content = size;
    while (left > 0) {
      if (!buffer.length && !(await fill(1))) throw unsafe("The archive ends inside an entry.");
      const chunk = take(Math.min(left, buffer.length));
      left -= chunk.length;
      const useful = chunk.subarray(0, Math.max(0, Math.min(chunk.length, content)));
      content -= useful.length;
      if (sink && useful.length) await sink(Buffer.from(useful));
    }
  };
  const readMeta = async (size: number): Promise<Buffer> => {
    if (size > maxMeta) throw unsafe("A pax or long-name header is too large.");
    const parts: Buffer[] = [];
    await body(size, async (chunk) => void parts.push(chunk));
    return Buffer.concat(parts);
  };

  try {
    while (!ended) {
      if (!(await fill(BLOCK))) {
        if (buffer.length === 0) break; // a stream that ends without the zero blocks: what arrived is whole
        throw unsafe("The archive ends inside a header.");
      }
      const block = take(BLOCK);
      if (block.every((byte) => byte === 0)) {
        ended = true;
        break;
      }
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
      if (parseNumber(block.subarray(148, 156)) !== sum) throw unsafe("A tar header's checksum is wrong.");
      if (++entries > maxEntries) throw unsafe(`The archive holds more than ${maxEntries} entries.`);
      const type = String.fromCharCode(block[156]!);
      const size = pax.size !== undefined ? Number(pax.size) : parseNumber(block.subarray(124, 136));
      if (!Number.isSafeInteger(size) || size < 0) throw unsafe("A tar header's size is malformed.");
      if (type === "x" || type === "g" || type === "L" || type === "K") {
        const meta = await readMeta(size);
        if (type === "x") pax = parsePax(meta);
        else if (type === "L") longName = meta.toString("utf8").replace(/\0+$/, "");
        continue;
      }
      const magic = block.subarray(257, 262).toString("ascii");
      const prefix = magic === "ustar" ? cstring(block.subarray(345, 500)) : "";
      const raw = pax.path ?? longName ?? (prefix ? `${prefix}/${cstring(block.subarray(0, 100))}` : cstring(block.subarray(0, 100)));
      const mode = parseNumber(block.subarray(100, 108));
      const paxLink = pax.linkpath;
      pax = {};
      longName = undefined;
      const path = safeArchivePath(raw);
      const isFile = type === "0" || type === "\0" || type === "7";
      const isDir = type === "5";
      if (path && type === "2" && options.symlinks === "create" && !underLink(path)) {
        const linkname = paxLink ?? cstring(block.subarray(157, 257));
        await body(0);
        const dest = options.place({ path, type: "file", size: 0, mode: 0o777 });
        if (dest) {
          await mkdir(dirname(dest), { recursive: true });
          await symlink(linkname, dest);
          links.add(path);
        }
        continue;
      }
      if (path && underLink(path)) {
        result.refused.push(`${raw.slice(0, 200)} (under a symlink)`);
        await body(isFile ? size : 0);
        continue;
      }
      if (!path || (!isFile && !isDir)) {
        const why = !path ? "a path that leaves the archive" : type === "1" ? "a hard link" : type === "2" ? "a symlink" : `entry type ${JSON.stringify(type)}`;
        result.refused.push(`${raw.slice(0, 200)} (${why})`);
        await body(isFile ? size : type === "1" || type === "2" || type === "5" ? 0 : size);
        continue;
      }
      if (isDir) {
        await body(0);
        continue;
      }
      if (result.bytes + size > maxBytes) throw unsafe(`The archive holds more than ${maxBytes} bytes.`);
      result.bytes += size;
      const dest = options.place({ path, type: "file", size, mode: mode < 0 ? 0o644 : mode });
      if (!dest) {
        await body(size);
        continue;
      }
      const folder = dirname(dest);
      if (!made.has(folder)) {
        await mkdir(folder, { recursive: true });
        made.add(folder);
      }
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
      const fileMode = mode & 0o100 ? 0o755 : 0o644;
      // Created exclusively; with `replace`, what is there is unlinked first (never written through).
      const handle = await open(dest, flags, fileMode).catch(async (error: unknown) => {
        if (!options.replace || (error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        await rm(dest, { force: true });
        return open(dest, flags, fileMode);
      });
      try {
        await body(size, async (chunk) => void (await handle.write(chunk)));
      } finally {
        await handle.close();
      }
      result.files++;
    }
  } finally {
    await iterator.return?.();
  }
  return result;
}
