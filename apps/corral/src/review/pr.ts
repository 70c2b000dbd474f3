import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, isAbsolute, join, sep } from "node:path";
import { CorralError, totalTokens, UsageError } from "@corral/core";
import { git, scrubbedGitEnv, spawnStreaming } from "@corral/core/plugin-kit";
import { assertRunOver, type RunChange } from "./change.js";
import { logRun, type RunCommit } from "./diff.js";

/** What `pullRequest` did, or (without gh, unless `push`) what the user runs. */
export interface PullRequestResult {
  /** The remote the branch goes to. */
  remote: string;
  /** The run's branch. */
  branch: string;
  /** The branch the pull request asks to merge into. */
  base: string;
  /** Whether the branch was pushed. */
  pushed: boolean;
  /** The push, as a command the user can run (argv). */
  pushCommand: string[];
  /** The pull request's page, as gh printed it. */
  url?: string;
  /** Where to open one by hand (GitHub, GitLab-style hosts), when the remote's URL says it. */
  compareUrl?: string;
  /** The title and body made from the run (prompt summary, commits, usage). */
  title: string;
  /** Markdown. */
  body: string;
  /** Whether gh was found on PATH. */
  gh: boolean;
}

/** How `pullRequest` pushes and what it asks gh for. */
export interface PullRequestOptions {
  /** The remote to push to. Default: the base branch's remote, else `origin`, else the only remote. */
  remote?: string;
  /** The branch to ask to merge into. Default: the run's base branch. */
  base?: string;
  /** The title; default: the first line of the run's prompt. */
  title?: string;
  /** Push even when gh is not installed. Default false: without gh, nothing is done and `pushCommand` says what to run. */
  push?: boolean;
  /** Open the pull request as a draft. */
  draft?: boolean;
  /** The env gh runs with and PATH is searched in (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Pushes a finished run's branch and opens a pull request for it with the `gh` CLI when it is on
 * PATH; without gh it pushes nothing (unless `push`) and returns the push command and the compare
 * URL. The push is host-side git in the user's repository with their own transport (ssh, credential
 * helper) and no hooks. Title and body come from the run: its prompt, commits and usage; commit
 * subjects are the agent's, so the body quotes them in a code block, where Markdown does nothing.
 */
export async function pullRequest(change: RunChange, options: PullRequestOptions = {}): Promise<PullRequestResult> {
  assertRunOver(change.run);
  const { repoRoot, run } = change;
  if (!change.branch) throw new CorralError("E_RUN_NO_BRANCH", `Run ${run.id} has no branch to push (it worked in place, on your checkout).`);
  const branch = change.branch;
  const base = options.base ?? change.baseBranch;
  if (!base) throw new UsageError(`Run ${run.id} did not start from a branch: name the branch the pull request merges into.`, { hint: "e.g. corral pr <run> --base main" });
  const remote = await pickRemote(repoRoot, base, options.remote);
  const commits = await logRun(change);
  const title = (options.title ?? promptSummary(run.options) ?? `corral: ${run.name ?? run.id}`).slice(0, 200);
  const body = prBody(change, commits);
  const pushCommand = ["git", "push", remote, `refs/heads/${branch}:refs/heads/${branch}`];
  const env = options.env ?? process.env;
  const gh = await findOnPath("gh", env.PATH ?? "", repoRoot);
  const compareUrl = compareUrlOf((await git(["remote", "get-url", "--", remote], { cwd: repoRoot, allowFailure: true })).stdout.trim(), base, branch);
  const result: PullRequestResult = { remote, branch, base, pushed: false, pushCommand, ...(compareUrl ? { compareUrl } : {}), title, body, gh: gh !== undefined };
  if (!gh && !options.push) return result;

  const push = await git(["push", "--porcelain", "--", remote, `refs/heads/${branch}:refs/heads/${branch}`], { cwd: repoRoot, allowFailure: true, userTransport: true });
  if (push.exitCode !== 0) {
    throw new CorralError("E_PUSH_FAILED", `git push of ${branch} to ${remote} failed: ${(push.stderr || push.stdout).trim().split("\n").slice(0, 4).join("; ")}`, {
      hint: `Check the remote (git remote -v) and your access, then run: ${pushCommand.join(" ")}`,
    });
  }
  result.pushed = true;
  if (!gh) return result;

  // gh reads the repository from the checkout's remotes; the body goes on stdin, never through a shell.
  const lines: string[] = [];
  const argv = [gh, "pr", "create", "--head", branch, "--base", base, "--title", title, "--body-file", "-", ...(options.draft ? ["--draft"] : [])];
  const ghEnv: Record<string, string> = { ...scrubbedGitEnv(env), GH_PROMPT_DISABLED: "1", NO_COLOR: "1" };
  delete ghEnv.LC_ALL;
  const r = await spawnStreaming(argv, { cwd: repoRoot, env: ghEnv, stdin: body, timeoutMs: 120_000, onLine: (line) => lines.push(line) });
  if (r.exitCode !== 0) {
    throw new CorralError("E_PR_FAILED", `gh pr create failed${r.exitCode === null ? "" : ` (exit ${r.exitCode})`}: ${lines.slice(-4).join("; ") || "no output"}. ${branch} is pushed to ${remote}.`, {
      hint: compareUrl ? `Open it by hand: ${compareUrl}` : "Run `gh auth status`, then `gh pr create` yourself.",
    });
  }
  const url = lines.map((l) => l.trim()).reverse().find((l) => /^https?:\/\//.test(l));
  return { ...result, ...(url ? { url } : {}) };
}

/** The first line of the run's prompt, when it had one (not a prompt file). */
function promptSummary(options: Record<string, unknown>): string | undefined {
  const prompt = typeof options.prompt === "string" ? options.prompt.trim() : "";
  const first = prompt.split("\n")[0]!.trim();
  if (!first) return undefined;
  return first.length > 72 ? `${first.slice(0, 71)}…` : first;
}

/** The pull request's body: the prompt, the commits (in a fence longer than any backtick run in them), usage and the run. */
export function prBody(change: RunChange, commits: readonly RunCommit[]): string {
  const { run } = change;
  const prompt = typeof run.options.prompt === "string" ? run.options.prompt.trim() : undefined;
  const listing = commits.map((c) => `${c.sha.slice(0, 12)} ${c.subject}`).join("\n");
  const fence = "`".repeat(Math.max(3, ...[...`${listing}\n${prompt ?? ""}`.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  const u = run.usage;
  return [
    ...(prompt ? ["## Prompt", "", fence, prompt, fence, ""] : []),
    `## Commits (${commits.length})`,
    "",
    fence,
    listing || "(none)",
    fence,
    "",
    "## Run",
    "",
    `- run: \`${run.id}\`${run.name ? ` (${run.name})` : ""}, ${run.state}, ${run.iterations ?? 0} iteration(s)`,
    `- agent: ${run.agent ?? "?"}, sandbox: ${run.sandbox?.name ?? "?"}`,
    ...(u ? [`- tokens: ${totalTokens(u)} (input ${u.inputTokens}, output ${u.outputTokens})${u.costUsd !== undefined ? `, cost $${u.costUsd.toFixed(4)}` : ""}`] : []),
    "",
    "Opened with `corral pr`.",
    "",
  ].join("\n");
}

/** `--remote`, else the base branch's remote, else `origin`, else the only remote. */
async function pickRemote(repoRoot: string, base: string, asked: string | undefined): Promise<string> {
  const remotes = (await git(["remote"], { cwd: repoRoot })).stdout.split("\n").filter(Boolean);
  if (asked !== undefined) {
    if (!remotes.includes(asked)) throw new UsageError(`There is no remote "${asked}".`, { code: "E_NO_REMOTE", hint: remotes.length ? `The remotes: ${remotes.join(", ")}.` : "Add one: git remote add origin <url>." });
    return asked;
  }
  const configured = (await git(["config", "--get", `branch.${base}.remote`], { cwd: repoRoot, allowFailure: true })).stdout.trim();
  if (configured && remotes.includes(configured)) return configured;
  if (remotes.includes("origin")) return "origin";
  if (remotes.length === 1) return remotes[0]!;
  throw new UsageError(remotes.length ? `Which remote? This repository has ${remotes.length}: ${remotes.join(", ")}.` : "This repository has no remote to push to.", {
    code: "E_NO_REMOTE",
    hint: remotes.length ? "Name one: --remote <name>." : "Add one: git remote add origin <url>.",
  });
}

/** `https://host/owner/repo/compare/base...branch?expand=1` for an https or ssh remote URL; undefined for anything else (a path, a file:// URL). */
export function compareUrlOf(url: string, base: string, branch: string): string | undefined {
  const m = /^(?:https?:\/\/(?:[^@/]+@)?([^/]+)\/|ssh:\/\/(?:[^@/]+@)?([^/:]+)(?::\d+)?\/|(?:[^@/]+@)?([^/:]+):(?!\/))(.+?)(?:\.git)?\/?$/.exec(url);
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? m[3];
  const path = m[4]!;
  if (!host || !/^[\w.-]+$/.test(host) || !/^[\w.\-/~]+$/.test(path)) return undefined;
  const enc = (s: string) => s.split("/").map(encodeURIComponent).join("/");
  return `https://${host}/${path}/compare/${enc(base)}...${enc(branch)}?expand=1`;
}

/** `program` in PATH's absolute folders outside the repository (a run could have planted one in the checkout, node_modules/.bin included). */
async function findOnPath(program: string, path: string, repoRoot: string): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (!isAbsolute(dir) || dir === repoRoot || dir.startsWith(`${repoRoot}${sep}`)) continue;
    const candidate = join(dir, program);
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}
