import { execa } from "execa";
import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach } from "vitest";
import { gitEnv, gitIn, hasCommand, removeDir, requireTool, tempRepo } from "@corral/test-support";
import type { AcquireRequest, Isolation, Workspace } from "@corral/core";
import { agentGitEnv } from "@corral/core/testing";
import { worktree } from "../src/index.js";
import type { WorktreeOptionsInput } from "../src/options.js";

export const hasGit = requireTool(await hasCommand("git"), "git is not installed");

let counter = 0;
/** A configured worktree isolation instance. */
export function isolation(options: WorktreeOptionsInput = {}): Isolation {
  const configured = worktree(options);
  return configured.plugin.create(configured.options);
}

export function request(cwd: string, extra: Partial<AcquireRequest> = {}): AcquireRequest {
  return { cwd, runId: `run-${process.pid}-${++counter}`, ...extra };
}

/** Writes a file and commits it in `dir` (test setup, not the code under test). */
export async function commitFile(dir: string, path: string, content: string, message = `change ${path}`): Promise<string> {
  await writeFile(join(dir, path), content);
  await gitIn(dir, "add", "--", path);
  await gitIn(dir, "commit", "-q", "-m", message);
  return gitIn(dir, "rev-parse", "HEAD");
}

export async function branches(dir: string): Promise<string[]> {
  return (await gitIn(dir, "branch", "--format=%(refname:short)")).split("\n").filter(Boolean);
}

export async function worktreePaths(dir: string): Promise<string[]> {
  const out = await gitIn(dir, "worktree", "list", "--porcelain");
  return out.split("\n").filter((l) => l.startsWith("worktree ")).map((l) => l.slice(9)).slice(1);
}

/** Everything under `dir` (names only, recursive), to prove nothing was created. */
export async function tree(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

export async function git(dir: string, ...args: string[]) {
  return execa("git", args, { cwd: dir, env: gitEnv, reject: false });
}

/** Runs git as the agent would inside its sandbox: on the run's own git dir, the user's objects borrowed. */
export async function agentGit(ws: Workspace, ...args: string[]): Promise<string> {
  const r = await execa("git", args, { cwd: ws.cwd, env: { ...gitEnv, ...(await agentGitEnv(ws)) } });
  return r.stdout;
}

/** Writes a file in the workspace and commits it there, as the agent would. */
export async function agentCommit(ws: Workspace, path: string, content: string, message = `change ${path}`): Promise<string> {
  await writeFile(join(ws.path, path), content);
  await agentGit(ws, "add", "--", path);
  await agentGit(ws, "commit", "-q", "-m", message);
  return agentGit(ws, "rev-parse", "HEAD");
}

/** A maker of temporary repositories, each removed after the test that made it (call once per file, at the top). */
export function tempRepos(): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    for (const dir of made.splice(0)) await removeDir(dir);
  });
  return async () => {
    const dir = await tempRepo();
    made.push(dir);
    return dir;
  };
}
