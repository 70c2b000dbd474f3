import { LineSplitter } from "@corral/core/plugin-kit";
import { KEEPER_READY } from "@corral/container";
import { execa, type ResultPromise } from "execa";
import type { Socket } from "node:net";
import type { CliResult } from "./cli.js";
import type { PodmanEngine } from "./endpoint.js";

/**
 * The `podman run` client stays attached for the whole run: its stdin, a pipe only corral holds,
 * is the keeper's stdin (core's keeper.ts). When corral goes — even by SIGKILL — the pipe closes,
 * the keeper reads EOF and the container ends; killing this client ends it too. It is spawned here
 * rather than through spawnStreaming, which closes stdin once written; still argv, never a shell,
 * and in its own process group, so a Ctrl-C at the terminal reaches corral, not it.
 */
export class KeeperClient {
  readonly #child: ResultPromise;
  readonly #exited: Promise<unknown>;
  #gone = false;

  private constructor(child: ResultPromise, exited: Promise<unknown>) {
    this.#child = child;
    this.#exited = exited.finally(() => (this.#gone = true));
  }

  /** Starts `podman <args>` and waits until the keeper says it runs; the client's output when it does not. */
  static async start(engine: PodmanEngine, args: readonly string[], options: { cwd: string; timeoutMs: number }): Promise<{ client: KeeperClient } | { failed: CliResult }> {
    const started = performance.now();
    const [podman, ...argv] = await engine.argv(args);
    const child = execa(podman!, argv, { env: engine.env(), extendEnv: false, cwd: options.cwd, detached: true, stdin: "pipe", stdout: "pipe", stderr: "pipe", buffer: false, reject: false, encoding: "buffer" });
    const stdout: string[] = [];
    const stderr: string[] = [];
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const out = new LineSplitter((line) => (line === KEEPER_READY ? ready() : stdout.push(line)));
    const err = new LineSplitter((line) => stderr.push(line));
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    child.stdin?.on("error", () => {}); // the client may be gone before we close our end
    const exited = child.then((result) => result);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      isReady.then(() => "ready" as const),
      exited.then(() => "exited" as const),
      new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), options.timeoutMs))),
    ]);
    clearTimeout(timer);
    if (outcome === "ready") {
      // An open sandbox does not keep the orchestrator's process alive; its exit ends the container.
      child.unref();
      for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket | null)?.unref?.();
      return { client: new KeeperClient(child, exited) };
    }
    if (outcome === "timeout") child.kill("SIGKILL");
    const result = await exited;
    out.end();
    err.end();
    return {
      failed: { exitCode: typeof result.exitCode === "number" ? result.exitCode : null, signal: result.signal ?? null, timedOut: outcome === "timeout", aborted: false, durationMs: performance.now() - started, stdout, stderr },
    };
  }

  /** Whether the client ended: the container is gone (removed, or ended at its wall-clock limit). */
  get gone(): boolean {
    return this.#gone;
  }

  /** Closes corral's end of the keeper's stdin (the container ends) and waits for the client, killing it after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.#child.stdin?.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
