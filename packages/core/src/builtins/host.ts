import { z } from "zod";
import { SandboxUnavailableError } from "../errors.js";
import { defineSandbox } from "../plugin.js";
import { spawnAttached, spawnStreaming } from "../process.js";
import { HandleLifecycle } from "../sandbox-lifecycle.js";
import { networkMode, type AttachOptions, type ExecOptions, type ExecResult, type Sandbox, type SandboxHandle, type SandboxSpec } from "../sandbox.js";
import { CORE_VERSION } from "../version.js";

/**
 * The `host` sandbox: no isolation at all. Commands run on the host, argv only, with only the
 * env the run passes, in their own process group so abort kills everything they started.
 * For trusted runs and tests.
 */
export const hostSandbox = defineSandbox({
  name: "host",
  version: CORE_VERSION,
  packageName: "@corral/core",
  description: "No isolation: runs on the host (trusted runs and tests)",
  options: z.object({}).strict(),
  create: (): Sandbox => ({
    name: "host",
    capabilities: { filesystem: "host", network: ["host"], attach: true },
    check: async () => ({ available: true, detail: "no isolation" }),
    create: async (spec) => {
      // Fail closed: the host sandbox cannot enforce a network policy or limits, so it refuses them.
      const limits = Object.entries(spec.limits).filter(([, value]) => value !== undefined).map(([key]) => key);
      if (networkMode(spec.network) !== "host" || limits.length) {
        const asked = [...(networkMode(spec.network) !== "host" ? [`network "${networkMode(spec.network)}"`] : []), ...limits.map((key) => `limits.${key}`)];
        throw new SandboxUnavailableError("host", `it runs without isolation and cannot enforce ${asked.join(", ")}.`, {
          hint: "Choose a sandbox that can (--sandbox bwrap, podman or docker), or drop those settings.",
        });
      }
      return new HostSandboxHandle(spec);
    },
  }),
});

let nextId = 0;

class HostSandboxHandle implements SandboxHandle {
  readonly id = `host-${process.pid}-${++nextId}`;
  readonly #spec: SandboxSpec;
  readonly #lifecycle = new HandleLifecycle({ sandbox: "host" });

  constructor(spec: SandboxSpec) {
    this.#spec = spec;
  }

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.#lifecycle.run(argv, options, (signal) =>
      spawnStreaming(argv, { ...options, cwd: options.cwd ?? this.#spec.workspace.cwd, env: { ...this.#spec.env, ...options.env }, signal }),
    );
  }

  /** The command with the caller's terminal, on the host like `exec` (no pty of its own: the caller's is the host's anyway). */
  attach(argv: readonly string[], options: AttachOptions = {}): Promise<ExecResult> {
    return this.#lifecycle.run(argv, options.signal ? { signal: options.signal } : {}, (signal) =>
      spawnAttached(argv, { cwd: options.cwd ?? this.#spec.workspace.cwd, env: { ...this.#spec.env, ...options.env }, signal }),
    );
  }

  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
