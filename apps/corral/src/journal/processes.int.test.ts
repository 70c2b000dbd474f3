import { spawn } from "node:child_process";
import { waitFor } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { killRunProcesses, runProcesses, RUN_ID_ENV } from "./processes.js";

/** A detached process of run `runId`, as a dead run's agent would be left (its env carries the run id). */
function strayOf(runId: string, script: string) {
  const child = spawn("sh", ["-c", script], { detached: true, stdio: "ignore", env: { PATH: process.env.PATH, [RUN_ID_ENV]: runId } });
  child.unref();
  return child;
}

describe("killRunProcesses", () => {
  it("also stops what a process that ignores SIGTERM starts during the grace period", async () => {
    const runId = `stray-loop-${process.pid}-${Date.now()}`;
    strayOf(runId, 'trap "" INT TERM; while :; do sleep 0.3; done');
    await waitFor(() => runProcesses(runId).length >= 2, 10_000, "the loop and its first sleep");
    const found = await killRunProcesses(runId, { graceMs: 700 });
    expect(found.length).toBeGreaterThanOrEqual(2);
    // Nothing of the run is left the moment clean says it is done, not a sleep that outlives it.
    expect(runProcesses(runId)).toEqual([]);
  });

  it("(twin) a process that honours SIGTERM is stopped within the grace period, and another run's is left alone", async () => {
    const runId = `stray-polite-${process.pid}-${Date.now()}`;
    const other = `stray-other-${process.pid}-${Date.now()}`;
    strayOf(runId, "exec sleep 60");
    const bystander = strayOf(other, "exec sleep 60");
    await waitFor(() => runProcesses(runId).length === 1 && runProcesses(other).length === 1, 10_000, "both sleeps");
    const started = Date.now();
    await killRunProcesses(runId, { graceMs: 5000 });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(runProcesses(runId)).toEqual([]);
    expect(runProcesses(other)).toEqual([bystander.pid]);
    process.kill(bystander.pid!, "SIGKILL");
  });
});
