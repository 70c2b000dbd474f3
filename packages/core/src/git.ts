import { capture } from "./process.js";
import { GitError } from "./errors.js";

/**
 * Config that stops git from running code on the host: hooks, fsmonitor, pagers, external
 * diff tools, signature programs, credential helpers and transports that spawn commands. Filters
 * and diff/merge drivers are chosen by attributes; corral never lets git read a config the agent
 * wrote (see quarantine.ts), so only the user's own drivers exist where it runs.
 */
export const SAFE_GIT_CONFIG: readonly string[] = [
  "core.hooksPath=/dev/null",
  "core.fsmonitor=false",
  "core.pager=cat",
  "core.sshCommand=false",
  "core.askPass=",
  "core.alternateRefsCommand=true",
  "credential.helper=",
  "diff.external=",
  "protocol.ext.allow=never",
  "gc.auto=0",
  "maintenance.auto=false",
  "commit.gpgSign=false",
  "tag.gpgSign=false",
  "log.showSignature=false",
  "merge.verifySignatures=false",
  "gpg.program=false",
  "gpg.ssh.program=false",
  "gpg.x509.program=false",
  "gpg.ssh.defaultKeyCommand=false",
  // A bare repository planted in a work tree is never discovered by a git run inside it.
  "safe.bareRepository=explicit",
  "advice.detachedHead=false",
  // Never recurse into submodules: a nested repository's own config (filters, fsmonitor) would run here.
  "submodule.recurse=false",
  "diff.ignoreSubmodules=all",
  "status.submoduleSummary=false",
  "fetch.recurseSubmodules=false",
];

/** The entries of `SAFE_GIT_CONFIG` that stop git from reaching a remote the way the user set it up. */
const TRANSPORT_CONFIG = new Set(["core.sshCommand=false", "core.askPass=", "credential.helper="]);

/** The host env with every GIT_* variable removed (GIT_DIR & co. would redirect git), LC_ALL=C. */
export function scrubbedGitEnv(base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value === undefined || key.startsWith("GIT_")) continue;
    env[key] = value;
  }
  env.LC_ALL = "C";
  env.GIT_TERMINAL_PROMPT = "0";
  env.GIT_CONFIG_NOSYSTEM = "1";
  return env;
}

/** What a host-side `git` call printed, and how it ended. */
export interface GitResult {
  /** What git printed on stdout. */
  stdout: string;
  /** What git printed on stderr. */
  stderr: string;
  /** git's exit code. */
  exitCode: number;
}

/**
 * What a failed git call said, for a message: its stderr (or stdout), without git's `fatal:` and
 * `error:` prefixes, in up to three lines joined by "; ". Accepts git's text or its whole result.
 */
export function gitMessage(failed: string | GitResult): string {
  const text = typeof failed === "string" ? failed.trim() : failed.stderr.trim() || failed.stdout.trim() || `git exited with ${failed.exitCode}`;
  return text.replace(/^(fatal|error): /gm, "").split("\n").slice(0, 3).join("; ");
}

/**
 * Runs host-side git safely: argv only, scrubbed env, code-running config disabled. Rejects on a
 * non-zero exit unless `allowFailure` is set. Every host-side git call in corral goes through here.
 */
export async function git(
  args: readonly string[],
  options: {
    cwd: string;
    allowFailure?: boolean;
    input?: string;
    env?: Record<string, string>;
    /**
     * Let git reach a remote with the user's own ssh command and credential helper (`corral pr`'s
     * push). Only for a call in the user's repository, whose config is theirs: hooks and every
     * other entry of `SAFE_GIT_CONFIG` stay off.
     */
    userTransport?: boolean;
  },
): Promise<GitResult> {
  const config = options.userTransport ? SAFE_GIT_CONFIG.filter((c) => !TRANSPORT_CONFIG.has(c)) : SAFE_GIT_CONFIG;
  const argv = [...config.flatMap((c) => ["-c", c]), ...args];
  const result = await capture(["git", ...argv], {
    cwd: options.cwd,
    env: { ...scrubbedGitEnv(), ...options.env },
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  const out: GitResult = {
    stdout: stripFinalNewline(result.stdout),
    stderr: stripFinalNewline(result.error ? result.error.message : result.stderr),
    exitCode: result.exitCode ?? -1,
  };
  if (out.exitCode !== 0 && !options.allowFailure) throw new GitError(args, out);
  return out;
}

/** Output without its one final newline (`\n` or `\r\n`), as git callers compare it. */
function stripFinalNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}
