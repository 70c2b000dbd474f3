import type { ExecOptions, ExecResult, SandboxHandle, SandboxSpec } from "@corral/core";
import { HandleLifecycle, spawnStreaming } from "@corral/core/plugin-kit";
import { commandArgv } from "./args.js";

/**
 * A live firejail sandbox. Each exec is one firejail process with the sandbox's fixed arguments;
 * the execs share the workspace and HOME. firejail's own pid namespace and
 * `--deterministic-shutdown` make sure nothing an exec started outlives it.
 */
export class FirejailSandboxHandle implements SandboxHandle {
  readonly id: string;
  readonly #spec: SandboxSpec;
  readonly #firejail: string;
  readonly #args: readonly string[];
  readonly #lifecycle: HandleLifecycle;

  constructor(init: { id: string; spec: SandboxSpec; firejail: string; args: readonly string[] }) {
    this.id = init.id;
    this.#spec = init.spec;
    this.#firejail = init.firejail;
    this.#args = init.args;
    // Closed, wall clock, running execs: core's shared handle lifecycle.
    this.#lifecycle = new HandleLifecycle({ sandbox: "firejail", wallSeconds: init.spec.limits.wallSeconds });
  }

  /** The full host argv of one exec (for debugging). */
  argvFor(argv: readonly string[], env: Record<string, string> = this.#spec.env): string[] {
    return [this.#firejail, ...this.#args, "--", ...commandArgv(argv, env)];
  }

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.#lifecycle.run(argv, options, (signal) => {
      const env = { ...this.#spec.env, ...options.env };
      // The env reaches the command through firejail's own environment, never argv: credentials stay out of `ps`.
      return spawnStreaming(this.argvFor(argv, env), { ...options, cwd: options.cwd ?? this.#spec.workspace.cwd, env, signal });
    });
  }

  /** Stops every running exec. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
