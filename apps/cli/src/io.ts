/**
 * Documented exit codes (docs/cli.md). `incomplete`: the run (or a fleet task) used up its
 * iterations without the completion signal; its work is there, the task may not be done.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, incomplete: 3, interrupted: 130 } as const;

/** Where a command writes: machine output to stdout, human output to stderr. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const defaultIO = (): CliIO => ({ stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
