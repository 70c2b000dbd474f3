import { describe, expect, it } from "vitest";
import { AgentProcesses, sweepArgv, type SweepSignal } from "./processes.js";

/** A container whose sweeps are recorded (and take `sweepMs`), with `left` processes after each exec. */
function container(options: { graceMs?: number; keepBackground?: boolean; left?: boolean | undefined; sweepMs?: number } = {}) {
  const sweeps: Array<{ signal: SweepSignal; at: number }> = [];
  const t0 = performance.now();
  const processes = new AgentProcesses({
    graceMs: options.graceMs ?? 200,
    keepBackground: options.keepBackground ?? false,
    sweep: async (signal) => {
      sweeps.push({ signal, at: performance.now() - t0 });
      await new Promise((resolve) => setTimeout(resolve, options.sweepMs ?? 5));
    },
    ...("left" in options ? { leftovers: async () => options.left } : {}),
  });
  return { processes, sweeps, signals: () => sweeps.map((s) => s.signal) };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("AgentProcesses", () => {
  it("sweeps every process of the agent's user with kill -1, which spares only PID 1 and the sender", () => {
    expect(sweepArgv("TERM")).toEqual(["/bin/sh", "-c", "kill -TERM -1 2>/dev/null; exit 0"]);
    expect(sweepArgv("KILL")[2]).toContain("kill -KILL -1");
  });

  it("an abort sends SIGTERM at once and SIGKILL after the grace period while the exec still runs", async () => {
    const { processes, sweeps, signals } = container({ graceMs: 150, left: false });
    const abort = new AbortController();
    const watch = await processes.begin({ signal: abort.signal });
    abort.abort();
    expect(watch).toMatchObject({ aborted: true, stopped: true, timedOut: false });
    await wait(300);
    expect(signals()).toEqual(["TERM", "KILL"]);
    expect(sweeps[1]!.at - sweeps[0]!.at).toBeGreaterThanOrEqual(140);
    await watch.end();
    expect(signals()).toEqual(["TERM", "KILL"]); // the stop swept, and the host sees nothing left
  });

  it("(twin) an exec that ends on SIGTERM gets its SIGKILL sweep at once, not after the grace", async () => {
    const { processes, signals } = container({ graceMs: 10_000 });
    const watch = await processes.begin({ timeoutMs: 20 });
    await wait(60);
    expect(watch.timedOut).toBe(true);
    const ended = performance.now();
    await watch.end();
    expect(performance.now() - ended).toBeLessThan(1000);
    expect(signals()).toEqual(["TERM", "KILL"]);
  });

  it("after the last exec, what it left is swept unless nothing is left or the user keeps background processes", async () => {
    const left = container({ left: true });
    await (await left.processes.begin()).end();
    expect(left.signals()).toEqual(["KILL"]);
    const unknown = container(); // no host view: always sweep
    await (await unknown.processes.begin()).end();
    expect(unknown.signals()).toEqual(["KILL"]);
    const nothing = container({ left: false });
    await (await nothing.processes.begin()).end();
    expect(nothing.signals()).toEqual([]);
    const kept = container({ left: true, keepBackground: true });
    await (await kept.processes.begin()).end();
    expect(kept.signals()).toEqual([]);
  });

  it("concurrent execs: nothing is swept while another still runs; the last one sweeps", async () => {
    const { processes, signals } = container({ left: true });
    const [a, b] = await Promise.all([processes.begin(), processes.begin()]);
    await a.end();
    expect(signals()).toEqual([]);
    await b.end();
    expect(signals()).toEqual(["KILL"]);
    expect([a.stopped, b.stopped]).toEqual([false, false]);
  });

  it("a stop covers every running exec (they share the agent's user), and a new exec waits until it is over", async () => {
    const { processes, sweeps } = container({ graceMs: 100, sweepMs: 30 });
    const abort = new AbortController();
    const stopped = await processes.begin({ signal: abort.signal });
    const bystander = await processes.begin();
    abort.abort();
    expect(bystander.stopped).toBe(true);
    const next = processes.begin();
    let begun = false;
    void next.then(() => (begun = true));
    await wait(50);
    expect(begun).toBe(false);
    await Promise.all([stopped.end(), bystander.end()]);
    const watch = await next;
    expect(sweeps.map((s) => s.signal)).toEqual(["TERM", "KILL"]);
    expect(watch.stopped).toBe(false);
    await watch.end();
  });

  it("an exec whose signal aborted while it waited is never started, and stops nothing", async () => {
    const { processes, signals } = container({ left: false, sweepMs: 50 });
    await (await processes.begin()).end();
    const watch = await processes.begin({ signal: AbortSignal.abort() });
    expect(watch).toMatchObject({ aborted: true, stopped: true });
    await watch.end();
    expect(signals()).toEqual([]);
  });

  it("cuts a stopped exec loose when it outlives the SIGKILL sweep", async () => {
    const { processes } = container({ graceMs: 10 });
    let cut = false;
    const abort = new AbortController();
    const watch = await processes.begin({ signal: abort.signal, cut: () => (cut = true) });
    abort.abort();
    await wait(5600);
    expect(cut).toBe(true);
    await watch.end();
  }, 10_000);
});
