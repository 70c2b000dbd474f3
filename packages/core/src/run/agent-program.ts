import { accessSync, closeSync, constants, lstatSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Agent, AgentCommand } from "../agent.js";
import { AgentNotFoundError } from "../errors.js";
import { resolveHostPath, type Mount, type Sandbox } from "../sandbox.js";
import { DEFAULT_PATH } from "./env.js";

/**
 * The agent's program, found on the host before the run starts: where it is, what argv[0] the run
 * uses for it, and (for a sandbox that runs host programs) the read-only mounts that make it and the
 * runtime it needs (the `node` of its `#!` line, the package a node_modules/.bin entry points into)
 * visible inside.
 */
export interface AgentProgram {
  /** The name the agent asked for (argv[0] of its commands). */
  name: string;
  /** Where it was found on the host. */
  path: string;
  /** What the run puts in argv[0]: the name when the sandbox's PATH finds it, else an absolute path. */
  argv0: string;
  /** Host paths shown read-only at the same place inside the sandbox (empty where the sandbox shows the host). */
  mounts: Array<Required<Mount>>;
  /**
   * Found in the project's node_modules rather than on PATH: a place an in-place run's agent can write,
   * so host-side code (doctor's version check) never runs it.
   */
  inProject: boolean;
}

/** What `resolveAgentProgram` needs to find the agent's program before a run. */
export interface AgentProgramInput {
  /** The agent whose `executable` is looked for. */
  agent: Agent;
  /** The sandbox it will run in (whether host programs are shared inside). */
  sandbox: Sandbox;
  /** Where the run starts: its node_modules/.bin (and its parents') are searched after PATH. */
  cwd: string;
  /** The run's explicit env (its PATH wins). */
  env?: Record<string, string>;
  /** The env the run inherits PATH from. Default process.env. */
  hostEnv?: Record<string, string | undefined>;
  /** The run's mounts: where a program the sandbox shows through one of them is found inside. */
  mounts?: readonly Mount[];
}

/**
 * Finds the agent's program the way the sandbox will, before anything is created, and fails with
 * E_AGENT_NOT_FOUND (naming every path it looked at) when it cannot be there. Undefined when there
 * is nothing to check: the agent names no program, the name is relative (found in the workspace),
 * or the sandbox has a filesystem of its own (a container image: only the image knows).
 */
export function resolveAgentProgram(input: AgentProgramInput): AgentProgram | undefined {
  const declared = input.agent.executable;
  const mode = input.sandbox.capabilities?.filesystem === "host" ? "host" : input.sandbox.capabilities?.hostPrograms ? "mount" : undefined;
  if (!declared || !mode || (!isAbsolute(declared.name) && declared.name.includes("/"))) return undefined;
  const cwd = resolve(input.cwd);
  const userMounts = mode === "mount" ? (input.mounts ?? []).map((m) => ({ host: resolveHostPath(m.host, cwd), sandbox: m.sandbox ?? resolveHostPath(m.host, cwd) })) : [];
  const pathDirs = [...new Set((input.env?.PATH ?? input.hostEnv?.PATH ?? process.env.PATH ?? DEFAULT_PATH).split(delimiter).filter((dir) => isAbsolute(dir)))];
  // A path inside the sandbox, as the host file it shows: through a user mount, else the same path.
  const onHost = (path: string) => {
    const mount = userMounts.find((m) => isInside(path, m.sandbox));
    return mount ? join(mount.host, relative(mount.sandbox, path)) : path;
  };
  const fail = (what: string, searched: string[], needs?: string) => {
    throw new AgentNotFoundError(input.agent.name, what, searched, { option: declared.option, ...(needs ? { needs } : {}), sandbox: input.sandbox.name });
  };

  const searched: string[] = [];
  const lookup = (name: string, extraDirs: string[]): { path: string; viaPath: boolean } | undefined => {
    if (isAbsolute(name)) {
      searched.push(name);
      return executable(onHost(name)) ? { path: name, viaPath: true } : undefined;
    }
    for (const dir of pathDirs) {
      const candidate = join(dir, name);
      searched.push(candidate);
      if (executable(onHost(candidate))) return { path: candidate, viaPath: true };
    }
    for (const dir of extraDirs) {
      const candidate = join(dir, name);
      searched.push(candidate);
      if (executable(candidate)) return { path: candidate, viaPath: false };
    }
    return undefined;
  };

  const found = lookup(declared.name, binDirs(cwd));
  if (!found) return fail(declared.name, searched);
  const argv0 = found.viaPath ? declared.name : found.path;
  if (mode === "host") {
    // The host sandbox runs it as it is; only its interpreter must be on PATH too.
    for (const runtime of runtimes(found.path)) {
      searched.length = 0;
      if (!lookup(runtime, [])) fail(runtime, searched, declared.name);
    }
    return { name: declared.name, path: found.path, argv0, mounts: [], inProject: !found.viaPath };
  }

  const shared = input.sandbox.capabilities?.hostPrograms?.shared ?? [];
  const visible = (path: string) => shared.some((dir) => isInside(path, dir)) || userMounts.some((m) => isInside(path, m.sandbox));
  // A program found in the project's node_modules may have been planted there by an agent (an in-place
  // run writes the checkout): what its links, shims and `#!` path lead to is shown only when it lies in
  // a node_modules folder of the run's folder or its parents (where binDirs looked; a pnpm workspace
  // package links into the root's), never behind a node_modules that is itself a link. PATH is the user's.
  const projectTrees = found.viaPath ? [] : binDirs(cwd).flatMap((bin) => realFolder(dirname(bin)) ?? []);
  const mounts = new Map<string, Required<Mount>>();
  const show = (host: string, at: string, confined: boolean) => {
    if (visible(at)) return;
    // A bind mount follows links: judge, and mount, what the path really is.
    const real = realpathSync(host);
    if (isHomeOrAbove(real) || (confined && !projectTrees.some((tree) => isInside(real, tree)))) return;
    mounts.set(at, { host: real, sandbox: at, readonly: true });
  };
  // Each file the program runs: its node_modules tree whole (the package and its dependencies, and
  // the relative links between them), else the file itself. Symlinks are resolved here, on the host.
  const expose = (path: string, depth: number, confined: boolean): string => {
    const host = onHost(path);
    const real = realpathSync(host);
    const tree = nodeModulesRoot(path);
    const realTree = nodeModulesRoot(real);
    if (tree) show(tree, tree, confined);
    if (realTree) show(realTree, realTree, confined);
    let runAs = path;
    if (tree && !realTree && real !== host) show(real, real, confined);
    if (!tree) {
      if (real === host) show(real, path, confined);
      else if (realTree || hasShebang(real)) {
        // A link to a script: it runs from where it really is, so its relative imports resolve.
        runAs = real;
        if (!realTree) show(real, real, confined);
      }
      // A link to a binary: shown at the link's place (keeping its name), or where the link leads
      // when the link itself is visible already (/usr/local/bin/node -> ~/.nvm/…).
      else show(real, visible(path) ? real : path, confined);
    }
    if (depth < 2) {
      for (const target of shimTargets(real)) expose(target, depth + 1, confined);
      for (const runtime of runtimes(real)) {
        searched.length = 0;
        const at = lookup(runtime, []);
        if (!at) fail(runtime, searched, declared.name);
        // A runtime found by name on PATH is the user's; an absolute `#!` path is what the script says.
        else expose(at.path, depth + 1, confined && isAbsolute(runtime));
      }
    }
    return runAs;
  };
  const runAs = expose(found.path, 0, !found.viaPath);
  // Nested node_modules trees are inside their outermost one: one mount each.
  const all = [...mounts.values()];
  const kept = all.filter((m) => !all.some((other) => other !== m && other.sandbox !== m.sandbox && isInside(m.sandbox, other.sandbox) && isInside(m.host, other.host)));
  return { name: declared.name, path: found.path, argv0: runAs !== found.path ? runAs : argv0, mounts: kept, inProject: !found.viaPath };
}

/** The program's mounts a sandbox still needs: none under the workspace or HOME, which it shows already. */
export function programMounts(program: AgentProgram | undefined, shown: readonly string[]): Mount[] {
  return (program?.mounts ?? []).filter((mount) => !shown.some((dir) => isInside(mount.sandbox, dir)));
}

/** What the run shows of the program, in words (a log line). */
export function describeProgram(agent: Agent, program: AgentProgram): string {
  return `The ${agent.name} agent runs ${program.argv0 === program.name ? program.path : program.argv0}; shown read-only inside: ${program.mounts.map((m) => m.sandbox).join(", ")}.`;
}

/** The agent, with argv[0] of every command it builds replaced by the program the run found. */
export function withProgram(agent: Agent, program: AgentProgram | undefined): Agent {
  if (!program || program.argv0 === program.name) return agent;
  return {
    ...agent,
    command: (input): AgentCommand => {
      const command = agent.command(input);
      return command.argv[0] === program.name ? { ...command, argv: [program.argv0, ...command.argv.slice(1)] } : command;
    },
  };
}

/** `node_modules/.bin` of cwd and each parent, nearest first (where `npm exec` looks). */
function binDirs(cwd: string): string[] {
  const dirs: string[] = [];
  for (let dir = cwd; ; dir = dirname(dir)) {
    dirs.push(join(dir, "node_modules", ".bin"));
    if (dirname(dir) === dir) return dirs;
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The outermost `node_modules` folder a path lies in: the package, its dependencies and pnpm's store. */
function nodeModulesRoot(path: string): string | undefined {
  const parts = path.split(sep);
  const index = parts.indexOf("node_modules");
  return index > 0 ? parts.slice(0, index + 1).join(sep) : undefined;
}

/** The real path of a folder that is not itself a link; undefined otherwise. */
function realFolder(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return lstatSync(path).isDirectory() ? realpathSync(path) : undefined;
  } catch {
    return undefined;
  }
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Never a home folder whole (or `/`, or anything holding a home). */
function isHomeOrAbove(path: string): boolean {
  return [homedir(), "/home", "/root"].some((home) => isInside(home, path));
}

function head(path: string, bytes = 1024): string {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0)).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

function hasShebang(path: string): boolean {
  return head(path, 2) === "#!";
}

/**
 * The programs a script's `#!` line needs: `#!/usr/bin/env node` needs `node` (from PATH),
 * `#!/usr/bin/python3` needs that file. Nothing for a binary.
 */
function runtimes(path: string): string[] {
  const first = head(path).split("\n", 1)[0]!;
  if (!first.startsWith("#!")) return [];
  const [interpreter, ...args] = first.slice(2).trim().split(/\s+/);
  if (!interpreter) return [];
  if (basename(interpreter) !== "env") return [interpreter];
  // env's own options (-S splits the rest; -u NAME; -i) and NAME=value assignments come first.
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-u" || arg === "--unset") i++;
    else if (!arg.startsWith("-") && !arg.includes("=")) return [interpreter, arg];
  }
  return [interpreter];
}

/** What a package manager's shell shim in node_modules/.bin runs: the `"$basedir/…"` paths it names. */
function shimTargets(path: string): string[] {
  if (basename(dirname(path)) !== ".bin") return [];
  const text = head(path, 4096);
  if (!text.startsWith("#!/bin/sh")) return [];
  const targets = new Set<string>();
  for (const match of text.matchAll(/"\$basedir\/([^"$]+)"/g)) {
    const target = resolve(dirname(path), match[1]!);
    if (executable(target) || existsFile(target)) targets.add(target);
  }
  return [...targets];
}

function existsFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
