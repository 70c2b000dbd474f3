import { lstat, mkdtemp, readFile, readdir, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { extractTar, packTar, safeArchivePath, walkForTar, type TarEntryIn } from "./tar.js";

const dirs: string[] = [];
async function temp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "corral-tar-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function bytes(entries: TarEntryIn[]): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of packTar(entries)) parts.push(chunk);
  return Buffer.concat(parts);
}
async function* once(buffer: Buffer): AsyncGenerator<Uint8Array> {
  // Odd chunk sizes, so headers and bodies straddle chunks.
  for (let at = 0; at < buffer.length; at += 333) yield buffer.subarray(at, at + 333);
}
const into = (root: string) => (entry: { path: string }) => join(root, entry.path);

describe("tar", () => {
  it("round-trips files, folders and a long name, and reads the tar(1) format", async () => {
    const long = `${"d".repeat(80)}/${"f".repeat(90)}.txt`;
    const archive = await bytes([
      { path: "a", type: "dir" },
      { path: "a/one.txt", type: "file", body: Buffer.from("one\n") },
      { path: long, type: "file", body: Buffer.from("long\n"), mode: 0o755 },
      { path: "big", type: "file", body: Buffer.alloc(70_000, 7) },
    ]);
    const out = await temp();
    const result = await extractTar(once(archive), { place: into(out) });
    expect(result).toMatchObject({ files: 3, refused: [] });
    expect(await readFile(join(out, "a/one.txt"), "utf8")).toBe("one\n");
    expect(await readFile(join(out, long), "utf8")).toBe("long\n");
    expect((await lstat(join(out, long))).mode & 0o100).toBeTruthy();
    expect((await readFile(join(out, "big"))).length).toBe(70_000);
  });

  it("never extracts a symlink, a hard link or a path that leaves the archive (twin: the regular file beside them is)", async () => {
    const archive = await bytes([
      { path: "link", type: "symlink", linkname: "/etc/passwd" },
      { path: "../escape", type: "file", body: Buffer.from("x") },
      { path: "/abs", type: "file", body: Buffer.from("x") },
      { path: "ok/../../up", type: "file", body: Buffer.from("x") },
      { path: "fine", type: "file", body: Buffer.from("fine") },
    ]);
    // A hard link entry (type 1), written by hand.
    const hard = Buffer.from(archive);
    const out = await temp();
    const result = await extractTar(once(hard), { place: into(out) });
    expect(result.files).toBe(1);
    expect(result.refused.join(" ")).toMatch(/link \(a symlink\)/);
    expect(result.refused.join(" ")).toMatch(/\.\.\/escape \(a path that leaves/);
    expect(result.refused).toHaveLength(4);
    expect(await readdir(out)).toEqual(["fine"]);
  });

  it("refuses a hard link entry", async () => {
    const archive = await bytes([{ path: "h", type: "file", body: Buffer.alloc(0) }]);
    archive[156] = "1".charCodeAt(0);
    // fix the checksum
    archive.write("        ", 148, "ascii");
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += archive[i]!;
    archive.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
    const out = await temp();
    const result = await extractTar(once(archive), { place: into(out) });
    expect(result.refused).toEqual(["h (a hard link)"]);
  });

  it("does not write through a symlink already at the destination", async () => {
    const out = await temp();
    const target = join(await temp(), "target");
    await writeFile(target, "host file\n");
    await symlink(target, join(out, "f"));
    const archive = await bytes([{ path: "f", type: "file", body: Buffer.from("agent") }]);
    await expect(extractTar(once(archive), { place: into(out) })).rejects.toThrow();
    expect(await readFile(target, "utf8")).toBe("host file\n");
    // With replace, the link is unlinked and a file of corral's made in its place.
    await extractTar(once(archive), { place: into(out), replace: true });
    expect(await readFile(target, "utf8")).toBe("host file\n");
    expect((await lstat(join(out, "f"))).isFile()).toBe(true);
  });

  it("stops at the caps and at a bad checksum (E_ARCHIVE_UNSAFE)", async () => {
    const archive = await bytes([{ path: "a", type: "file", body: Buffer.alloc(2000) }, { path: "b", type: "file", body: Buffer.alloc(2000) }]);
    const out = await temp();
    await expect(extractTar(once(archive), { place: into(out), maxBytes: 3000 })).rejects.toMatchObject({ code: "E_ARCHIVE_UNSAFE" });
    await expect(extractTar(once(archive), { place: into(await temp()), maxEntries: 1 })).rejects.toMatchObject({ code: "E_ARCHIVE_UNSAFE" });
    const bad = Buffer.from(archive);
    bad[0] = "z".charCodeAt(0);
    await expect(extractTar(once(bad), { place: into(await temp()) })).rejects.toMatchObject({ code: "E_ARCHIVE_UNSAFE" });
    await expect(extractTar(once(archive.subarray(0, 700)), { place: into(await temp()) })).rejects.toMatchObject({ code: "E_ARCHIVE_UNSAFE" });
  });

  it("walks a folder without following symlinks", async () => {
    const root = await temp();
    await mkdir(join(root, "sub"));
    await writeFile(join(root, "sub", "f"), "f");
    await symlink("/etc", join(root, "etc"));
    const entries: string[] = [];
    for await (const entry of walkForTar(root, "w")) entries.push(`${entry.type}:${entry.path}`);
    expect(entries).toEqual(["dir:w", "symlink:w/etc", "dir:w/sub", "file:w/sub/f"]);
  });

  it("makes symlinks only when asked (an archive of corral's own), and never writes under one", async () => {
    const archive = await bytes([
      { path: "bin", type: "symlink", linkname: "../lib/x" },
      { path: "bin/evil", type: "file", body: Buffer.from("x") },
      { path: "ok", type: "file", body: Buffer.from("ok") },
    ]);
    const out = await temp();
    const result = await extractTar(once(archive), { place: into(out), symlinks: "create" });
    expect(result.refused).toEqual(["bin/evil (under a symlink)"]);
    expect((await lstat(join(out, "bin"))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(out, "ok"), "utf8")).toBe("ok");
  });

  it("normalises paths", () => {
    expect(safeArchivePath("./a//b/")).toBe("a/b");
    expect(safeArchivePath("a/../b")).toBeUndefined();
    expect(safeArchivePath("/a")).toBeUndefined();
    expect(safeArchivePath("")).toBeUndefined();
  });
});
