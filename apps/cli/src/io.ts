/**
 * Documented exit codes (docs/cli.md). `incomplete`: the run (or a fleet task) used up its
 * iterations without the completion signal; its work is there, the task may not be done.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, incomplete: 3, interrupted: 130 } as const;

/** Where a command writes: machine output to stdout, human output to stderr. */
export interface CliIO {
  /** Machine output (`--json`, lists): what a script reads. */
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** Human output: progress, the live status line and board (when `isTTY`, `columns` wide), warnings, errors. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** The host environment a command reads in place of process.env (e.g. `doctor`'s credential check). */
  env: NodeJS.ProcessEnv;
  /** The folder relative paths and `--cwd` are resolved against. */
  cwd: string;
}

export const defaultIO = (): CliIO => ({ stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
