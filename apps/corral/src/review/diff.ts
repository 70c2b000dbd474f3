import { git } from "@corral/core/plugin-kit";
import type { RunChange } from "./change.js";

/** One file a run changed. */
export interface DiffFile {
  /** Its path now (relative to the repository root), as git stored it: the agent chose it. */
  path: string;
  /** Its path before, when it was renamed or copied. */
  oldPath?: string;
  /** A added, M modified, D deleted, R renamed, C copied, T type changed. */
  status: string;
  /** Lines added; null for a binary file. */
  additions: number | null;
  /** Lines deleted; null for a binary file. */
  deletions: number | null;
}

/** What a run changed since its base. */
export interface RunDiff {
  /** The commit the run started from. */
  base: string;
  /** The commit its work ends at. */
  tip: string;
  /** Every file it changed. */
  files: DiffFile[];
  /** The patch (unified diff), unless only the stat was asked for. Agent-written: render it inert. */
  patch?: string;
}

/** Never a diff program, text conversion or color code: the patch is data, shown by the caller. */
const DIFF_FLAGS = ["--no-ext-diff", "--no-textconv", "--no-color", "--find-renames"];

/**
 * The diff of a run's work against the commit it started from (`git diff base tip`), computed in the
 * main checkout: `stat` leaves the patch out. File names and lines are the agent's; they are returned
 * as data, never printed here.
 */
export async function diffRun(change: RunChange, options: { stat?: boolean } = {}): Promise<RunDiff> {
  const range = [change.base, change.tip];
  const [numstat, status] = await Promise.all([
    git(["diff", ...DIFF_FLAGS, "--numstat", "-z", ...range, "--"], { cwd: change.repoRoot }),
    git(["diff", ...DIFF_FLAGS, "--name-status", "-z", ...range, "--"], { cwd: change.repoRoot }),
  ]);
  const files = parseNameStatus(status.stdout);
  const counts = parseNumstat(numstat.stdout);
  for (const file of files) {
    const count = counts.get(file.path);
    file.additions = count?.[0] ?? null;
    file.deletions = count?.[1] ?? null;
  }
  const diff: RunDiff = { base: change.base, tip: change.tip, files };
  if (!options.stat) {
    const patch = (await git(["diff", ...DIFF_FLAGS, ...range, "--"], { cwd: change.repoRoot })).stdout;
    diff.patch = patch && `${patch}\n`; // git() drops the last newline
  }
  return diff;
}

/** `--name-status -z`: `S\0path\0`, or `R100\0old\0new\0` for renames and copies. */
function parseNameStatus(out: string): DiffFile[] {
  const fields = out.split("\0");
  const files: DiffFile[] = [];
  for (let i = 0; i + 1 < fields.length; ) {
    const code = fields[i++]!;
    if (!code) break;
    const letter = code[0]!;
    if (letter === "R" || letter === "C") {
      const oldPath = fields[i++]!;
      files.push({ path: fields[i++]!, oldPath, status: letter, additions: null, deletions: null });
    } else {
      files.push({ path: fields[i++]!, status: letter, additions: null, deletions: null });
    }
  }
  return files;
}

/** `--numstat -z`: `a\td\tpath\0`, or `a\td\t\0old\0new\0` for renames; `-` counts for binary files. */
function parseNumstat(out: string): Map<string, [number | null, number | null]> {
  const fields = out.split("\0");
  const counts = new Map<string, [number | null, number | null]>();
  for (let i = 0; i < fields.length; ) {
    const entry = fields[i++]!;
    if (!entry) continue;
    const [a = "-", d = "-", path = ""] = entry.split("\t");
    const num = (s: string) => (s === "-" ? null : Number(s));
    if (path) counts.set(path, [num(a), num(d)]);
    else {
      i++; // the old path
      counts.set(fields[i++] ?? "", [num(a), num(d)]);
    }
  }
  return counts;
}

/** One commit of a run. */
export interface RunCommit {
  /** Full object id. */
  sha: string;
  /** Its parents' ids (more than one: a merge). */
  parents: string[];
  /** `Name <email>` of its author, as the agent set it. */
  author: string;
  /** Author date, ISO 8601. */
  time: string;
  /** The first line of its message. */
  subject: string;
  /** The rest of its message (without the subject line). */
  body: string;
}

/** The commits of a run's work (`git log base..tip`), oldest first. Messages are the agent's: data to render inert. */
export async function logRun(change: RunChange): Promise<RunCommit[]> {
  // NUL between fields and records: a commit message cannot hold one, so it cannot forge a field.
  const out = (await git(["log", "-z", "--reverse", "--no-color", "--no-show-signature", "--format=%H%x00%P%x00%aI%x00%an <%ae>%x00%B", `${change.base}..${change.tip}`, "--"], { cwd: change.repoRoot })).stdout;
  const fields = out.split("\0");
  const commits: RunCommit[] = [];
  for (let i = 0; i + 4 < fields.length; i += 5) {
    const message = fields[i + 4]!.replace(/\n+$/, "");
    const newline = message.indexOf("\n");
    commits.push({
      sha: fields[i]!,
      parents: fields[i + 1]!.split(" ").filter(Boolean),
      time: fields[i + 2]!,
      author: fields[i + 3]!,
      subject: newline === -1 ? message : message.slice(0, newline),
      body: newline === -1 ? "" : message.slice(newline + 1).replace(/^\n+/, ""),
    });
  }
  return commits;
}
