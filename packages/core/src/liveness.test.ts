import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { processLives, processStartTime } from "./liveness.js";

describe("processLives", () => {
  it("this process lives, with or without its start time", () => {
    const pidStart = processStartTime(process.pid);
    expect(pidStart).toMatch(/^\d+$/);
    expect(processLives({ pid: process.pid })).toBe(true);
    expect(processLives({ pid: process.pid, pidStart })).toBe(true);
  });

  it("a pid now held by another process (a different start time) does not", () => {
    expect(processLives({ pid: process.pid, pidStart: "1" })).toBe(false);
  });

  it("an ended process and nonsense pids do not", () => {
    const ended = spawnSync("true").pid!;
    expect(processLives({ pid: ended })).toBe(false);
    for (const pid of [0, -1, 1.5, Number.NaN]) expect(processLives({ pid })).toBe(false);
  });
});
