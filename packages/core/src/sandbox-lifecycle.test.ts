import { describe, expect, it } from "vitest";
import { isCorralError } from "./errors.js";
import type { ExecResult } from "./sandbox.js";
import { HandleLifecycle } from "./sandbox-lifecycle.js";

const done: ExecResult = { exitCode: 0, signal: null, timedOut: false, aborted: false };

/** A stand-in for a spawned command: runs until its signal aborts (then reports `aborted`, as spawnStreaming does), or until `finish()`. */
function command() {
  let started = false;
  let signal: AbortSignal | undefined;
  let finish!: (result: ExecResult) => void;
  const ended = new Promise<ExecResult>((resolve) => (finish = resolve));
  let over = false;
  return {
    get started() {
      return started;
    },
    get signal() {
      return signal;
    },
    get over() {
      return over;
    },
    finish: (result: ExecResult = done) => finish(result),
    start: (given: AbortSignal): Promise<ExecResult> => {
      started = true;
      signal = given;
      const stop = () => setTimeout(() => finish({ exitCode: null, signal: "SIGTERM", timedOut: false, aborted: true }), 20);
      if (given.aborted) stop();
      else given.addEventListener("abort", stop, { once: true });
      return ended.then((result) => {
        over = true;
        return result;
      });
    },
  };
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe("HandleLifecycle", () => {
  it("runs an exec and hands back its result", async () => {
    const lifecycle = new HandleLifecycle({ sandbox: "test" });
    const cmd = command();
    const running = lifecycle.run(["true"], {}, cmd.start);
    expect(cmd.started).toBe(true); // started synchronously
    cmd.finish();
    await expect(running).resolves.toEqual(done);
  });

  it("close() is idempotent: the same promise every time, the teardown run once, closed from the first call", async () => {
    let teardowns = 0;
    const lifecycle = new HandleLifecycle({ sandbox: "test", teardown: async () => void teardowns++ });
    expect(lifecycle.closed).toBe(false);
    const first = lifecycle.close();
    expect(lifecycle.closed).toBe(true);
    expect(lifecycle.close()).toBe(first);
    await first;
    expect(lifecycle.close()).toBe(first);
    expect(teardowns).toBe(1);
  });

  it("close() rejects, every time, with the teardown's error", async () => {
    const lifecycle = new HandleLifecycle({ sandbox: "test", teardown: async () => Promise.reject(new Error("could not remove")) });
    await expect(lifecycle.close()).rejects.toThrow("could not remove");
    await expect(lifecycle.close()).rejects.toThrow("could not remove");
  });

  it("refuses an exec after close with E_SANDBOX_CLOSED, and an empty argv with a TypeError, before anything starts", async () => {
    const lifecycle = new HandleLifecycle({ sandbox: "test" });
    const empty = command();
    await expect(lifecycle.run([], {}, empty.start)).rejects.toBeInstanceOf(TypeError);
    expect(empty.started).toBe(false);
    void lifecycle.close();
    const cmd = command();
    const error = await rejection(lifecycle.run(["true"], {}, cmd.start));
    expect(isCorralError(error)).toBe(true);
    expect(error).toMatchObject({ code: "E_SANDBOX_CLOSED", message: "This test sandbox is closed.", hint: "Create a new sandbox." });
    expect(cmd.started).toBe(false);
    expect(() => lifecycle.check(["true"])).toThrow(expect.objectContaining({ code: "E_SANDBOX_CLOSED" }));
  });

  it("close() aborts the running execs and settles only once they are over, then tears down", async () => {
    const order: string[] = [];
    const lifecycle = new HandleLifecycle({ sandbox: "test", teardown: async () => void order.push("teardown") });
    const a = command();
    const b = command();
    const running = [lifecycle.run(["a"], {}, a.start), lifecycle.run(["b"], {}, b.start)];
    await lifecycle.close();
    order.push("closed");
    expect(a.over && b.over).toBe(true);
    expect(a.signal?.aborted && b.signal?.aborted).toBe(true);
    expect(order).toEqual(["teardown", "closed"]);
    for (const result of await Promise.all(running)) expect(result).toMatchObject({ aborted: true, timedOut: false });
  });

  it("close() waits for an exec that failed, too, and does not fail for it", async () => {
    const lifecycle = new HandleLifecycle({ sandbox: "test" });
    const failing = lifecycle.run(["x"], {}, () => Promise.reject(new Error("spawn failed")));
    const thrown = lifecycle.run(["x"], {}, () => {
      throw new Error("thrown synchronously");
    });
    const closing = lifecycle.close();
    await expect(failing).rejects.toThrow("spawn failed");
    await expect(thrown).rejects.toThrow("thrown synchronously");
    await expect(closing).resolves.toBeUndefined();
  });

  it("links the caller's signal: its abort stops the exec, which stays `aborted`", async () => {
    const lifecycle = new HandleLifecycle({ sandbox: "test" });
    const caller = new AbortController();
    const cmd = command();
    const running = lifecycle.run(["x"], { signal: caller.signal }, cmd.start);
    expect(cmd.signal?.aborted).toBe(false);
    caller.abort();
    expect(cmd.signal?.aborted).toBe(true);
    await expect(running).resolves.toMatchObject({ aborted: true, timedOut: false });
    // An already aborted signal reaches the command aborted.
    const late = command();
    void lifecycle.run(["x"], { signal: AbortSignal.abort() }, late.start);
    expect(late.signal?.aborted).toBe(true);
    await lifecycle.close();
  });

  it("the wall clock aborts the running execs, reports them as timed out, and refuses every exec after it with E_WALL_CLOCK", async () => {
    let walls = 0;
    const lifecycle = new HandleLifecycle({ sandbox: "test", wallSeconds: 0.1, onWallClock: () => void walls++ });
    const cmd = command();
    const result = await lifecycle.run(["sleep"], {}, cmd.start);
    expect(result).toMatchObject({ exitCode: null, aborted: false, timedOut: true });
    expect(walls).toBe(1);
    expect(lifecycle.wallClockExpired).toBe(true);
    const after = command();
    await expect(lifecycle.run(["true"], {}, after.start)).rejects.toMatchObject({
      code: "E_WALL_CLOCK",
      message: "The sandbox used up its wall-clock limit (limits.wallSeconds = 0.1).",
      hint: "Raise limits.wallSeconds or split the work into shorter runs.",
    });
    expect(after.started).toBe(false);
    await lifecycle.close();
  });

  it("after the wall clock, an exec the caller aborted is still reported `aborted`", async () => {
    const lifecycle = new HandleLifecycle({ sandbox: "test", wallSeconds: 0.1 });
    const caller = new AbortController();
    const cmd = command();
    const running = lifecycle.run(["x"], { signal: caller.signal }, (signal) => {
      // The caller aborts too, just as the wall clock runs out.
      signal.addEventListener("abort", () => caller.abort(), { once: true });
      return cmd.start(signal);
    });
    await expect(running).resolves.toMatchObject({ aborted: true, timedOut: false });
    await lifecycle.close();
  });

  it("close() stops the wall clock", async () => {
    let walls = 0;
    const lifecycle = new HandleLifecycle({ sandbox: "test", wallSeconds: 0.05, onWallClock: () => void walls++ });
    await lifecycle.close();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(walls).toBe(0);
    expect(lifecycle.wallClockExpired).toBe(false);
  });
});
