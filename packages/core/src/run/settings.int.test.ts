import { existsSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { commandAgent } from "../builtins/command-agent.js";
import { UsageError } from "../errors.js";
import type { RunEvent } from "../events.js";
import { run, type RunOptions } from "../run.js";
import { validateRunOptions } from "./settings.js";

describe("limits, mounts and network are checked in core, before anything runs", () => {
  it.each([
    ["a negative memory", { limits: { memoryMb: -1 } }, /limits\.memoryMb must be a positive number, got -1/],
    ["a fractional pid count", { limits: { pids: 1.5 } }, /limits\.pids must be a positive whole number/],
    ["a NaN cpu share", { limits: { cpuPercent: Number.NaN } }, /limits\.cpuPercent must be a positive number/],
    ["an unknown limit", { limits: { memory: 100 } }, /Unknown limit "memory"/],
    ["a mount with no host path", { mounts: [{ sandbox: "/x" }] }, /A mount needs a host path/],
    ["a relative sandbox path", { mounts: [{ host: "/tmp", sandbox: "data" }] }, /sandbox path must be absolute/],
    ["a mount field that does not exist", { mounts: [{ host: "/tmp", writable: true }] }, /Unknown mount field "writable"/],
    ["an allowlist that is not a list", { network: { allow: "example.com" } }, /network policy must be/],
  ] as const)("refuses %s", async (_label, opts, message) => {
    const dir = await tempDir();
    const events: RunEvent[] = [];
    const options = { cwd: dir, prompt: "p", agent: commandAgent.configure({ argv: ["touch", "ran"] }), handleProcessSignals: false, onEvent: (e: RunEvent) => events.push(e), ...opts } as unknown as RunOptions;
    const error = await run(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(message);
    expect((error as UsageError).hint).toBeTruthy();
    expect(events).toEqual([]);
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });

  it("takes what is right", () => {
    expect(() =>
      validateRunOptions({
        prompt: "p",
        limits: { memoryMb: 512.5, pids: 64, cpuPercent: 150, wallSeconds: 60 },
        mounts: [{ host: "~/.cache" }, { host: "/data", sandbox: "/mnt/data", readonly: false }],
        network: { allow: ["example.com"] },
      }),
    ).not.toThrow();
  });
});
