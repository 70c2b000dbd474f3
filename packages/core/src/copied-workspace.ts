import { readFile, rm, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { CorralError } from "./errors.js";
import { git, gitMessage } from "./git.js";
import type { Workspace } from "./isolation.js";
import type { RunEventBody } from "./events.js";
import { readGitRef } from "./quarantine.js";
import type { WorkspaceMode } from "./run/options.js";
import { isolatesFilesystem, type CopiedWorkspaceCapability, type Sandbox, type SandboxHandle } from "./sandbox.js";
import { extractTar, packTar, walkForTar, type TarEntryIn } from "./tar.js";
import { runTempDir } from "./temp.js";

/**
 * A copied workspace (docs/copied-workspaces.md, ADR 0010): nothing of the user's repository is
 * mounted. The sandbox gets, in a folder of its own, the run's base commit as a one-commit shallow
 * pack (the base commit, its tree, nothing of its history) with a git dir corral wrote, plus the
 * run's `copy` files; its own git checks the tree out. Afterwards the sandbox's git dir comes back
 * as a hostile tar: only object files and the run's branch, HEAD and their reflogs are taken, into
 * the run's own git dir on the host, which the isolation's release then takes through its
 * verifying quarantine exactly as for a mounted run. Uncommitted work comes back as a patch file,
 * never applied.
 */

/** Where things are inside the sandbox, under the capability's root. */
export function copiedPaths(capability: CopiedWorkspaceCapability, workspace: Pick<Workspace, "path" | "cwd">): { root: string; workspace: string; cwd: string; base: string; out: string } {
  const root = capability.root.replace(/\/+$/, "");
  const inside = `${root}/workspace`;
  const rel = relative(workspace.path, workspace.cwd).split(sep).filter(Boolean).join("/");
  return { root, workspace: inside, cwd: rel ? `${inside}/${rel}` : inside, base: `${root}/base`, out: `${root}/out` };
}

/** What shipping in took. */
export interface ShipInReport {
  /** Bytes of the base pack. */
  packBytes: number;
  /** Files of `copy` shipped beside it. */
  copied: number;
  durationMs: number;
}

/**
 * Whether the run copies its workspace, and how the sandbox takes it: `copy` needs the capability
 * (or fails closed), `auto` copies when the engine is remote (and says so), `mount` never does.
 */
export function copiedWorkspaceFor(mode: WorkspaceMode | undefined, sandbox: Sandbox, emit: (body: RunEventBody) => void): CopiedWorkspaceCapability | undefined {
  const remote = sandbox.capabilities?.workspaceLocality === "remote";
  const wanted = mode === "copy" || (mode === "auto" && remote);
  if (!wanted) return undefined;
  const capability = sandbox.capabilities?.copiedWorkspace;
  if (!isolatesFilesystem(sandbox) || !capability) {
    throw new CorralError("E_WORKSPACE_COPY_UNSUPPORTED", `The ${sandbox.name} sandbox cannot take a copied workspace${isolatesFilesystem(sandbox) ? " (it declares no copiedWorkspace capability)" : " (it runs on the host: there is nowhere of its own to copy to)"}.`, {
      hint: mode === "auto" ? "Its engine is remote, so the workspace cannot be mounted either: use a sandbox that can copy." : "Use --workspace mount, or a sandbox that can copy (bwrap, docker, podman).",
    });
  }
  if (mode === "auto") emit({ type: "log", level: "info", message: `The ${sandbox.name} sandbox's engine is not on this machine, so the workspace is copied into it (not mounted) and the work comes back through the quarantine.` });
  return capability;
}

/** A copied workspace needs a branch and a git dir of the run's own (fails closed). */
export function requireCopyWorkspace(workspace: Workspace): void {
  if (!workspace.runGitDir || !workspace.baseCommit || !workspace.branch || !workspace.repoRoot) {
    throw new CorralError("E_WORKSPACE_COPY_UNSUPPORTED", "A copied workspace needs an isolation that gives the run a branch and a git dir of its own (worktree).", { hint: "Use --isolation worktree, or --workspace mount." });
  }
}

/** Checks a copied workspace can be had with this sandbox handle and workspace (fails closed). */
export function requireCopy(handle: SandboxHandle, workspace: Workspace): asserts handle is SandboxHandle & Required<Pick<SandboxHandle, "putArchive" | "getArchive">> {
  if (!handle.putArchive || !handle.getArchive) {
    throw new CorralError("E_WORKSPACE_COPY_UNSUPPORTED", "The sandbox's handle has no putArchive/getArchive, so it cannot take a copied workspace.", { hint: "Use --workspace mount, or a sandbox that declares copiedWorkspace." });
  }
  requireCopyWorkspace(workspace);
}

/** Ships the base commit and the copied files into the sandbox, and checks the tree out there. */
export async function shipIn(
  handle: SandboxHandle,
  capability: CopiedWorkspaceCapability,
  workspace: Workspace,
  options: { copied: readonly string[]; runId: string; env?: Record<string, string>; signal?: AbortSignal },
): Promise<ShipInReport> {
  const started = performance.now();
  requireCopy(handle, workspace);
  const paths = copiedPaths(capability, workspace);
  const branch = workspace.branch!;
  const base = workspace.baseCommit!;
  const staging = await runTempDir("copy-in", options.runId);
  try {
    // The base commit and its tree only: `rev-list --no-walk` lists no parent.
    const objects = await git(["rev-list", "--objects", "--no-walk", base], { cwd: workspace.repoRoot! });
    const packed = await git(["pack-objects", "-q", join(staging, "pack")], { cwd: workspace.repoRoot!, input: `${objects.stdout}\n` });
    const hash = packed.stdout.trim();
    if (!/^[0-9a-f]{40,64}$/.test(hash)) throw new CorralError("E_WORKSPACE_COPY", `git pack-objects gave no pack name (${gitMessage(packed)}).`);
    const pack = join(staging, `pack-${hash}.pack`);
    const index = join(staging, `pack-${hash}.idx`);
    const packBytes = (await stat(pack)).size;
    const config = await readFile(join(workspace.runGitDir!, "config"), "utf8");
    const exclude = await readFile(join(workspace.runGitDir!, "info", "exclude")).catch(() => undefined);
    const text = (path: string, body: string): TarEntryIn => ({ path, type: "file", body: Buffer.from(body) });
    async function* entries(): AsyncGenerator<TarEntryIn> {
      yield text("workspace/.git/HEAD", `ref: refs/heads/${branch}\n`);
      yield text("workspace/.git/config", config);
      yield text("workspace/.git/shallow", `${base}\n`);
      yield text(`workspace/.git/refs/heads/${branch}`, `${base}\n`);
      yield { path: "workspace/.git/refs/tags", type: "dir" };
      yield text("workspace/.git/objects/info/alternates", `${paths.base}/objects\n`);
      if (exclude) yield { path: "workspace/.git/info/exclude", type: "file", body: exclude };
      yield* walkForTar(pack, `base/objects/pack/pack-${hash}.pack`);
      yield* walkForTar(index, `base/objects/pack/pack-${hash}.idx`);
      for (const copied of options.copied) yield* walkForTar(join(workspace.path, copied), `workspace/${copied}`);
    }
    await handle.putArchive!(packTar(entries()), paths.root);
    // The sandbox's own git checks the base out (and builds its index); the copied files are untracked.
    const lines: string[] = [];
    const checkout = await handle.exec(["git", "-C", paths.workspace, "reset", "-q", "--hard", base], {
      cwd: paths.root,
      ...(options.env ? { env: options.env } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onLine: (line) => void (lines.length < 20 && lines.push(line)),
    });
    if (checkout.exitCode !== 0) throw new CorralError("E_WORKSPACE_COPY", `The base commit could not be checked out inside the sandbox (git exited ${checkout.exitCode ?? checkout.signal}): ${lines.join("; ")}`, { hint: "The sandbox needs git on its PATH for a copied workspace." });
    return { packBytes, copied: options.copied.length, durationMs: performance.now() - started };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** What bringing back found. */
export interface BringBackReport {
  /** Object files taken into the run's git dir. */
  objects: number;
  /** Entries of the sandbox's git dir refused (links, paths leaving it) or left (config, hooks, other refs), said as problems only when refused. */
  refused: string[];
  /** Where the uncommitted work was written as a patch, when there was any. */
  patch?: { path: string; bytes: number; files: number };
  durationMs: number;
}

/** The files of a sandbox's git dir corral takes back: objects, the run's branch, HEAD and their reflogs. */
function takenGitPath(rel: string, branch: string): boolean {
  if (rel === "HEAD" || rel === "packed-refs" || rel === `refs/heads/${branch}` || rel === "logs/HEAD" || rel === `logs/refs/heads/${branch}`) return true;
  return /^objects\/[0-9a-f]{2}\/[0-9a-f]{38}([0-9a-f]{24})?$/.test(rel) || /^objects\/pack\/pack-[0-9a-f]{40}([0-9a-f]{24})?\.(pack|idx)$/.test(rel);
}

/** The folder of the sandbox's git dir the patch is written to (taken back, never written into the run's git dir). */
const PATCH_DIR = "corral-uncommitted";

// Run inside the sandbox, in the one exec bring-back makes: its git, but not the git dir the agent
// wrote — a fresh one written here (objects borrowed), with no system or global config and
// attributes that switch every filter and driver off, as the quarantine reads a work tree. The
// agent's index is moved aside as the stat cache (mtime kept, so git's racy-entry check still holds
// and only changed files are hashed; if git will not read it, none), which also keeps its
// megabytes out of the archive. The branch's tip is read as plain text, as the host reads it
// afterwards; the patch is named by the tip it was made against, in the git dir, so one archive
// brings it back with the objects. Fixed text: paths, the branch and the base are arguments.
const PATCH_SCRIPT = String.raw`ws=$1; scratch=$2; branch=$3; base=$4; out="$ws/.git/${PATCH_DIR}"
rm -rf "$scratch" "$out" && mkdir -p "$scratch/git/objects/info" "$scratch/git/refs" "$scratch/git/info" "$out" || exit 1
ref="$ws/.git/refs/heads/$branch"; tip=
if [ -f "$ref" ] && [ ! -L "$ref" ]; then read -r tip < "$ref"
elif [ -f "$ws/.git/packed-refs" ]; then while read -r sha name; do if [ "$name" = "refs/heads/$branch" ]; then tip=$sha; break; fi; done < "$ws/.git/packed-refs"; fi
case "$tip" in *[!0-9a-f]*|"") tip=$base ;; esac
[ "${"$"}{#tip}" -eq "${"$"}{#base}" ] || tip=$base
if [ "${"$"}{#base}" -eq 64 ]; then printf '[core]\n\trepositoryformatversion = 1\n\tbare = false\n[extensions]\n\tobjectformat = sha256\n'; else printf '[core]\n\trepositoryformatversion = 0\n\tbare = false\n'; fi > "$scratch/git/config" || exit 1
printf 'ref: refs/heads/corral\n' > "$scratch/git/HEAD" && printf '%s\n' "$ws/.git/objects" > "$scratch/git/objects/info/alternates" && printf '* -filter -diff -merge\n' > "$scratch/git/info/attributes" || exit 1
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_DIR="$scratch/git" GIT_WORK_TREE="$ws" GIT_INDEX_FILE="$scratch/index"
mv "$ws/.git/index" "$scratch/index" 2>/dev/null
git -C "$ws" add -A 2>/dev/null || { rm -f "$scratch/index"; git -C "$ws" add -A; } || exit 1
git -C "$ws" diff --cached --binary --no-ext-diff --no-textconv "$tip" > "$out/$tip.patch" || exit 1
rm -rf "$scratch"`;

/**
 * Brings the run's work out of the sandbox (before it is closed) in one exec and one archive: the
 * exec makes the patch of its uncommitted work; then its git dir, read as a hostile archive, gives
 * the objects, the run's branch, HEAD and their reflogs into the run's own git dir on the host, and
 * the patch beside the repository — kept only when it was made against the tip that came back.
 */
export async function bringBack(
  handle: SandboxHandle,
  capability: CopiedWorkspaceCapability,
  workspace: Workspace,
  options: { patchPath: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<BringBackReport> {
  const started = performance.now();
  requireCopy(handle, workspace);
  const paths = copiedPaths(capability, workspace);
  const branch = workspace.branch!;
  const base = workspace.baseCommit!;
  const runGitDir = workspace.runGitDir!;
  const refused: string[] = [];

  const lines: string[] = [];
  const made = await handle.exec(["sh", "-c", PATCH_SCRIPT, "corral-patch", paths.workspace, paths.out, branch, base], {
    cwd: paths.root,
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.env ? { env: options.env } : {}),
    onLine: (line) => void (lines.length < 20 && lines.push(line)),
  });
  if (made.exitCode !== 0) refused.push(`the uncommitted work could not be read inside the sandbox (exit ${made.exitCode ?? made.signal}: ${lines.join("; ").slice(0, 300)})`);

  // What the run's git dir on the host held for HEAD and the branch is replaced by the sandbox's.
  for (const rel of ["HEAD", "packed-refs", `refs/heads/${branch}`, "logs"]) await rm(join(runGitDir, rel), { recursive: true, force: true });
  await rm(options.patchPath, { force: true });
  let objects = 0;
  let patchTip: string | undefined;
  const patchName = new RegExp(`^${PATCH_DIR}/([0-9a-f]{${base.length}})\\.patch$`);
  const got = await extractTar(await handle.getArchive(`${paths.workspace}/.git`), {
    replace: true,
    place: (entry) => {
      const rel = entry.path.startsWith(".git/") ? entry.path.slice(".git/".length) : undefined;
      if (!rel) return undefined;
      const patch = made.exitCode === 0 && patchTip === undefined ? patchName.exec(rel) : null;
      if (patch) {
        if (entry.size > MAX_PATCH_BYTES) {
          refused.push(`the uncommitted work's patch (${entry.size} bytes is more than ${MAX_PATCH_BYTES})`);
          return undefined;
        }
        patchTip = patch[1]!;
        return options.patchPath;
      }
      if (!takenGitPath(rel, branch)) return undefined;
      if (rel.startsWith("objects/")) objects++;
      return join(runGitDir, ...rel.split("/"));
    },
  });
  refused.push(...got.refused);

  let patch: BringBackReport["patch"];
  if (made.exitCode === 0) {
    const tip = await readGitRef(runGitDir, `refs/heads/${branch}`, base.length === 64 ? "sha256" : "sha1");
    const expected = "sha" in tip ? tip.sha : base;
    const body = patchTip ? await readFile(options.patchPath).catch(() => undefined) : undefined;
    if (!patchTip) refused.push("the uncommitted work's patch did not come back");
    else if (patchTip !== expected) refused.push(`the uncommitted work's patch was made against ${patchTip.slice(0, 12)}, not the branch's tip ${expected.slice(0, 12)} that came back: it is not kept`);
    else if (body?.length) patch = { path: options.patchPath, bytes: body.length, files: body.toString("latin1").match(/^diff --git /gm)?.length ?? 0 };
    if (!patch) await rm(options.patchPath, { force: true });
  }

  return { objects, refused, ...(patch ? { patch } : {}), durationMs: performance.now() - started };
}

/** The largest patch of uncommitted work taken back. */
const MAX_PATCH_BYTES = 1024 ** 3;
