import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, link, lstat, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { git, gitMessage, type GitResult } from "./git.js";
import { readPlainFile } from "./plain-file.js";

/**
 * Bringing a run's work back. The run's git dir was the agent's: its objects may be forged (git does
 * not re-hash what it reads), its refs may be symlinks or symbolic refs, its config may run commands.
 * So nothing of it is ever handed to git as a repository. corral copies the object files (regular
 * files only, never through a symlink) into a quarantine it wrote itself — its own config, no hooks,
 * attributes that switch every filter and diff/merge driver off — reads the run's ref as data and
 * checks it is an object id, and then fetches that one commit into the user's repository with
 * `transfer.fsckObjects`, so every object that crosses is re-hashed and checked, and the fetch fails
 * unless the whole history of that commit is really there. Only corral moves the user's ref, by
 * compare-and-swap.
 *
 * Lookup order inside the quarantine: what corral itself wrote, then the user's objects, then the
 * agent's copies last — so an object the agent forged under the name of one the user has is never
 * read; only objects the user lacks come from the agent, and those are what the fetch verifies.
 */
export class Quarantine {
  /** The quarantine's own git dir. */
  readonly path: string;
  readonly #commonDir: string;
  /** Undefined for a quarantine that only reads a work tree (nothing of a run's git dir to import). */
  readonly #runGitDir: string | undefined;
  readonly #objectFormat: "sha1" | "sha256";

  private constructor(path: string, commonDir: string, runGitDir: string | undefined, objectFormat: "sha1" | "sha256") {
    this.path = path;
    this.#commonDir = commonDir;
    this.#runGitDir = runGitDir;
    this.#objectFormat = objectFormat;
  }

  /**
   * Makes a quarantine next to the user's objects (so object files can be hard-linked, not copied)
   * holding what the run's git dir added on top of the borrowed objects. Call it only once the
   * sandbox is closed: from then on nothing can change the run's git dir under our feet.
   */
  static async open(options: { commonDir: string; runGitDir?: string; objectFormat: "sha1" | "sha256"; name: string }): Promise<Quarantine> {
    const root = join(options.commonDir, "corral", "quarantine");
    await mkdir(root, { recursive: true });
    const path = join(root, `${options.name.replace(/[^A-Za-z0-9_.-]/g, "_")}-${randomBytes(4).toString("hex")}`);
    await mkdir(path);
    const q = new Quarantine(path, options.commonDir, options.runGitDir, options.objectFormat);
    try {
      await mkdir(join(path, "objects", "info"), { recursive: true });
      await mkdir(join(path, "objects", "pack"));
      await mkdir(join(path, "refs", "heads"), { recursive: true });
      await mkdir(join(path, "info"));
      const format = options.objectFormat === "sha1" ? ["\trepositoryformatversion = 0"] : ["\trepositoryformatversion = 1", "[extensions]", "\tobjectformat = sha256"];
      await writeFile(join(path, "config"), ["[core]", ...format, "[gc]", "\tauto = 0", ""].join("\n"));
      await writeFile(join(path, "HEAD"), "ref: refs/heads/incoming\n");
      const agentObjects = join(path, "agent-objects");
      await mkdir(join(agentObjects, "pack"), { recursive: true });
      await writeFile(join(path, "objects", "info", "alternates"), `${join(options.commonDir, "objects")}\n${agentObjects}\n`);
      // Highest precedence over any .gitattributes in a work tree: no filter, diff or merge driver runs.
      await writeFile(join(path, "info", "attributes"), "* -filter -diff -merge\n");
      if (options.runGitDir) await importObjects(join(options.runGitDir, "objects"), agentObjects, options.objectFormat);
    } catch (error) {
      await q.dispose();
      throw error;
    }
    return q;
  }

  /**
   * A ref of the run's git dir, read as data: a loose ref file (never through a symlink) or a
   * packed-refs line, whose value must be an object id. A symbolic ref, a link or garbage is a
   * problem, reported rather than followed.
   */
  async readRunRef(name: string): Promise<RefRead> {
    if (!this.#runGitDir) return refNameProblem(name) ?? { missing: true };
    return readGitRef(this.#runGitDir, name, this.#objectFormat);
  }

  /** The run's HEAD, read as data: the branch it names, or a detached commit. */
  async readRunHead(): Promise<{ branch: string } | { detached: string } | { problem: string }> {
    if (!this.#runGitDir) return { problem: "no run git dir" };
    const head = await readPlainFile(join(this.#runGitDir, "HEAD"), 4096);
    if (head.problem || head.missing) return { problem: `HEAD: ${head.problem ?? "missing"}` };
    const text = head.text!.trim();
    const symbolic = /^ref: refs\/heads\/(\S+)$/.exec(text);
    if (symbolic) return { branch: symbolic[1]! };
    const id = this.#asObjectId("HEAD", text);
    if ("sha" in id) return { detached: id.sha };
    return "problem" in id ? id : { problem: "HEAD is missing" };
  }

  /**
   * A reflog of the run's git dir (`HEAD` or a branch), read as data, oldest entry first: each
   * entry's old and new commit ids and its message. A malformed line is skipped; a missing or
   * untrustworthy log reads as empty.
   */
  async readRunReflog(name: "HEAD" | `refs/heads/${string}`): Promise<ReflogEntry[]> {
    if (!this.#runGitDir || (name !== "HEAD" && (!/^refs\/heads\/[A-Za-z0-9._/-]+$/.test(name) || name.split("/").some((part) => part === ".." || part === "")))) return [];
    let dir = join(this.#runGitDir, "logs");
    for (const part of name.split("/").slice(0, -1)) {
      dir = join(dir, part);
      if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) return [];
    }
    if (!(await lstat(join(this.#runGitDir, "logs")).catch(() => undefined))?.isDirectory()) return [];
    const log = await readPlainFile(join(this.#runGitDir, "logs", name), 64 * 1024 * 1024);
    if (!log.text) return [];
    const id = this.#objectFormat === "sha1" ? "[0-9a-f]{40}" : "[0-9a-f]{64}";
    const line = new RegExp(`^(${id}) (${id}) [^\\t]*\\t(.*)$`);
    return log.text.split("\n").flatMap((text) => {
      const m = line.exec(text);
      return m ? [{ old: m[1]!, new: m[2]!, message: m[3]!.slice(0, 200) }] : [];
    });
  }

  /** The commit objects the run's git dir added on top of the borrowed objects (what the agent's git wrote; only object-shaped names were imported). */
  async agentCommits(): Promise<string[]> {
    const agentObjects = join(this.path, "agent-objects");
    const ids: string[] = [];
    for (const entry of await readdir(agentObjects).catch(() => [] as string[])) {
      if (/^[0-9a-f]{2}$/.test(entry)) for (const name of await readdir(join(agentObjects, entry))) ids.push(entry + name);
    }
    for (const name of await readdir(join(agentObjects, "pack")).catch(() => [] as string[])) {
      if (!name.endsWith(".idx")) continue;
      ids.push(...packIndexIds(await readFile(join(agentObjects, "pack", name)), this.#objectFormat === "sha1" ? 20 : 32));
    }
    if (!ids.length) return [];
    const r = await this.git(["cat-file", "--batch-check=%(objectname) %(objecttype)"], { input: ids.map((id) => `${id}\n`).join(""), allowFailure: true });
    return r.stdout.split("\n").flatMap((row) => (row.endsWith(" commit") ? [row.split(" ")[0]!] : []));
  }

  #asObjectId(name: string, value: string): RefRead {
    return asObjectId(name, value, this.#objectFormat);
  }

  /**
   * Host git on the quarantine: corral's own config only (no system or global config), the
   * quarantine's attributes over the work tree's. `workTree` and `index` for reading a work tree.
   */
  git(args: readonly string[], options: { workTree?: string; index?: string; input?: string; allowFailure?: boolean; env?: Record<string, string> } = {}): Promise<GitResult> {
    return git(args, {
      cwd: options.workTree ?? this.path,
      ...(options.allowFailure ? { allowFailure: true } : {}),
      ...(options.input !== undefined ? { input: options.input } : {}),
      env: {
        GIT_DIR: this.path,
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_CONFIG_NOSYSTEM: "1",
        ...(options.workTree ? { GIT_WORK_TREE: options.workTree } : {}),
        ...(options.index ? { GIT_INDEX_FILE: options.index } : {}),
        ...options.env,
      },
    });
  }

  /**
   * What a work tree holds, as a tree object in the quarantine: a copy of `indexFrom` (corral's own
   * index, so unchanged files are not read again) brought up to date with every file that is not
   * ignored. Symlinks are recorded as links, never followed; no filter runs.
   */
  async snapshot(workTree: string, indexFrom: string | undefined): Promise<{ tree: string; index: string; unreadable: string[] }> {
    const index = join(this.path, `index-${randomBytes(4).toString("hex")}`);
    if (indexFrom) {
      await copyFile(indexFrom, index).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    }
    const added = await this.git(["add", "--all", "--ignore-errors", "--", "."], { workTree, index, allowFailure: true });
    // What git could not read into the tree (a nested repository without a commit, an unreadable
    // file) is work the tree does not hold: the caller must keep the work tree for it.
    const unreadable = added.stderr
      .split("\n")
      .filter((line) => /^(error|fatal|warning: could not open)/.test(line))
      .map((line) => /'([^']+)'/.exec(line)?.[1] ?? /"([^"]+)"/.exec(line)?.[1] ?? line);
    const tree = (await this.git(["write-tree"], { workTree, index })).stdout.trim();
    return { tree, index, unreadable };
  }

  /** Paths that differ between two trees (or commits) of the quarantine. */
  async changedPaths(from: string, to: string): Promise<string[]> {
    const r = await this.git(["diff-tree", "-r", "-z", "--no-renames", "--name-only", from, to]);
    return r.stdout.split("\0").filter(Boolean);
  }

  /** The trees of `commits` in the quarantine, in one git call; undefined for one that is not a readable commit. */
  async treesOf(commits: readonly string[]): Promise<Array<string | undefined>> {
    const r = await this.git(["cat-file", "--batch-check=%(objectname) %(objecttype)"], { input: commits.map((c) => `${c}^{tree}\n`).join(""), allowFailure: true });
    const lines = r.stdout.split("\n");
    return commits.map((_, i) => {
      const [name, type] = (lines[i] ?? "").split(" ");
      return type === "tree" ? name : undefined;
    });
  }

  /**
   * Fetches `commit` (and whatever of its history the user's repository lacks) from the quarantine
   * into `repo`, every object re-hashed and checked, under `incomingRef`. Fails with git's reason
   * when anything is forged, missing or malformed, or when `commit` is not a commit.
   */
  async transfer(repo: string, commit: string, incomingRef: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    await writeFile(join(this.path, "refs", "heads", "incoming"), `${commit}\n`);
    const fetch = () =>
      git(
        ["-c", "transfer.fsckObjects=true", "-c", "fetch.fsckObjects=true", "fetch", "--quiet", "--no-write-fetch-head", "--no-tags", "--no-recurse-submodules", "--no-auto-gc", this.path, `+refs/heads/incoming:${incomingRef}`],
        { cwd: repo, allowFailure: true },
      );
    let fetched = await fetch();
    // The user's `git gc --prune=now` (or `git prune`) deletes every temporary file in their object
    // dir, the pack this fetch is writing included, and can leave another run's incoming ref naming
    // objects it took until that run sends them again (git's connectivity check reads every ref):
    // the next try finds the prune over. A forged object fails every try alike.
    const transient = (r: GitResult) => TEMP_FILE_LOST.test(r.stderr) || otherRunInFlux(r.stderr, incomingRef);
    for (let retry = 0; fetched.exitCode !== 0 && retry < 4 && transient(fetched); retry++) {
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** retry));
      fetched = await fetch();
    }
    if (fetched.exitCode !== 0) return { ok: false, reason: gitMessage(fetched) };
    const type = await git(["cat-file", "-t", incomingRef], { cwd: repo, allowFailure: true });
    if (type.stdout.trim() !== "commit") {
      await git(["update-ref", "-d", incomingRef], { cwd: repo, allowFailure: true });
      return { ok: false, reason: `the run's branch points at a ${type.stdout.trim() || "missing object"}, not a commit` };
    }
    return { ok: true };
  }

  /**
   * True when every object of `commit` that `base` lacks is in `repo`. A `git gc --prune=now` in the
   * user's repository while a transfer lands can delete what the fetch wrote before a ref held it
   * (git's own race; git documents `--prune=now` as unsafe beside other git processes): a caller
   * checks here and transfers again rather than leave a branch naming missing objects.
   */
  async landed(repo: string, commit: string, base: string): Promise<boolean> {
    return (await git(["rev-list", "--objects", "--quiet", commit, "--not", base], { cwd: repo, allowFailure: true })).exitCode === 0;
  }

  /** Removes the quarantine's folder; call it once the run's work is brought back (or refused). */
  async dispose(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
  }
}

/** git's empty tree, per object format: what a branch without commits has. */
export const EMPTY_TREE = { sha1: "4b825dc642cb6eb9a060e54bf8d69288fbee4904", sha256: "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321" } as const;

/** A ref read as data from a repository the agent could write: its commit, missing, or why it could not be trusted. */
export type RefRead = { sha: string } | { missing: true } | { problem: string };

/**
 * A ref of a git dir corral does not trust, read as data: a loose ref file (never through a
 * symlink, every folder on the way a plain folder) or a packed-refs line, whose value must be an
 * object id. A symbolic ref, a link or garbage is a problem, reported rather than followed.
 */
export async function readGitRef(gitDir: string, name: string, objectFormat: "sha1" | "sha256"): Promise<RefRead> {
  const bad = refNameProblem(name);
  if (bad) return bad;
  const parts = name.split("/");
  let dir = gitDir;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    const info = await lstat(dir).catch(() => undefined);
    if (!info) return packedRef(gitDir, name, objectFormat);
    if (!info.isDirectory()) return { problem: `${name}: ${dir} is not a plain folder (a link?)` };
  }
  const loose = await readPlainFile(join(gitDir, name), 4096);
  if (loose.missing) return packedRef(gitDir, name, objectFormat);
  if (loose.problem) return { problem: `${name}: ${loose.problem}` };
  return asObjectId(name, loose.text!.trim(), objectFormat);
}

function refNameProblem(name: string): { problem: string } | undefined {
  if (!/^refs\/[A-Za-z0-9._/-]+$/.test(name) || name.split("/").some((part) => part === ".." || part === "")) return { problem: `"${name}" is not a ref name corral reads` };
  return undefined;
}

async function packedRef(gitDir: string, name: string, objectFormat: "sha1" | "sha256"): Promise<RefRead> {
  const packed = await readPlainFile(join(gitDir, "packed-refs"), 256 * 1024 * 1024);
  if (packed.missing) return { missing: true };
  if (packed.problem) return { problem: `packed-refs: ${packed.problem}` };
  for (const line of packed.text!.split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0 && line.slice(space + 1) === name) return asObjectId(name, line.slice(0, space), objectFormat);
  }
  return { missing: true };
}

function asObjectId(name: string, value: string, objectFormat: "sha1" | "sha256"): RefRead {
  const length = objectFormat === "sha1" ? 40 : 64;
  if (new RegExp(`^[0-9a-f]{${length}}$`).test(value)) return { sha: value };
  if (value.startsWith("ref:")) return { problem: `${name} was made a symbolic ref (${value.slice(0, 80)}); corral does not follow it` };
  return { problem: `${name} does not hold an object id` };
}

/** One reflog entry of a run's git dir, read as data. */
export interface ReflogEntry {
  /** The commit the ref left. */
  old: string;
  /** The commit the ref moved to. */
  new: string;
  /** What git wrote about the move (`commit: …`, `reset: moving to …`), cut at 200 characters; agent-written. */
  message: string;
}

/**
 * Moves `ref` in `repo` to `to` only if it is still at `from` (undefined: only if it does not exist),
 * and drops `incomingRef` in the same transaction.
 */
export async function swapRef(repo: string, ref: string, to: string, from: string | undefined, options: { incomingRef?: string; message: string }): Promise<{ ok: true } | { ok: false; reason: string }> {
  const zero = "0".repeat(to.length);
  const script = ["start", `update ${ref} ${to} ${from ?? zero}`, ...(options.incomingRef ? [`delete ${options.incomingRef}`] : []), "commit", ""].join("\n");
  const swap = () => git(["update-ref", "--create-reflog", "-m", options.message, "--stdin"], { cwd: repo, input: script, allowFailure: true });
  let r = await swap();
  // The user's own git (a `gc`, `pack-refs`, a commit) holds a lock for a moment: the compare-and-swap
  // is safe to try again, and still fails if the ref really moved.
  for (let retry = 1; r.exitCode !== 0 && retry <= LOCK_RETRIES && LOCK_HELD.test(r.stderr); retry++) {
    await new Promise((resolve) => setTimeout(resolve, 50 * retry));
    r = await swap();
  }
  return r.exitCode === 0 ? { ok: true } : { ok: false, reason: gitMessage(r) };
}

/** How git says another process holds a lock it needs (a ref's, or packed-refs'), or removed a directory a ref needed meanwhile. */
const LOCK_HELD = /\.lock': File exists|unable to create directory for/;
const LOCK_RETRIES = 5;

/** How git says a temporary file it was writing into the object dir vanished under it. */
const TEMP_FILE_LOST = /unable to (write|rename|create temporary|open).*(No such file|tmp_)|tmp_(pack|idx|obj)_[^\s']*'?[^\n]*No such file/;

/** git failed on another run's incoming ref, which names objects not (or no longer) in the repository. */
function otherRunInFlux(stderr: string, mine: string): boolean {
  const ref = /bad object (refs\/corral\/incoming\/[^\s;:]+)/.exec(stderr)?.[1];
  return ref !== undefined && ref !== mine;
}


/**
 * Copies the object files of `from` into `to`: loose objects and pack/index pairs, regular files
 * only (a symlink or device is skipped, never followed), hard-linked where the filesystem allows.
 * `info/` (alternates pointing anywhere on the host) is never read.
 */
async function importObjects(from: string, to: string, objectFormat: "sha1" | "sha256"): Promise<void> {
  if (!(await lstat(from).catch(() => undefined))?.isDirectory()) return;
  const rest = objectFormat === "sha1" ? 38 : 62;
  const looseName = new RegExp(`^[0-9a-f]{${rest}}$`);
  for (const entry of await readdir(from)) {
    if (/^[0-9a-f]{2}$/.test(entry)) {
      const dir = join(from, entry);
      if (!(await lstat(dir)).isDirectory()) continue;
      const names = (await readdir(dir)).filter((name) => looseName.test(name));
      if (!names.length) continue;
      await mkdir(join(to, entry), { recursive: true });
      for (const name of names) await importFile(join(dir, name), join(to, entry, name));
    } else if (entry === "pack") {
      const dir = join(from, "pack");
      if (!(await lstat(dir)).isDirectory()) continue;
      const names = new Set(await readdir(dir));
      for (const name of names) {
        const pack = /^(pack-[0-9a-f]{40,64})\.pack$/.exec(name);
        if (!pack || !names.has(`${pack[1]}.idx`)) continue;
        await importFile(join(dir, `${pack[1]}.idx`), join(to, "pack", `${pack[1]}.idx`));
        await importFile(join(dir, name), join(to, "pack", name));
      }
    }
  }
}

/** The object ids a version-2 pack index lists (its fan-out's last entry counts them); none for anything else. */
function packIndexIds(idx: Buffer, idLength: number): string[] {
  if (idx.length < 8 + 256 * 4 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) return [];
  const count = idx.readUInt32BE(8 + 255 * 4);
  const start = 8 + 256 * 4;
  if (idx.length < start + count * idLength) return [];
  return Array.from({ length: count }, (_, i) => idx.toString("hex", start + i * idLength, start + (i + 1) * idLength));
}

async function importFile(from: string, to: string): Promise<void> {
  const info = await lstat(from).catch(() => undefined);
  if (!info?.isFile()) return;
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    if (code !== "EXDEV" && code !== "EPERM" && code !== "EMLINK") throw error;
    await copyFile(from, to, constants.COPYFILE_EXCL);
  }
}
