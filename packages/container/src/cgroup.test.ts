import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { agentLeftInTop, ContainerCgroup, localCgroupReader, remoteCgroupReader } from "./cgroup.js";

const root = process.getuid?.() === 0;
/** A command run the way the ssh connection runs one on the engine's host: `sh -c`, its exit code and output. */
const shell = async (command: string) => {
  const ran = await promisify(execFile)("sh", ["-c", command]).then(
    (done) => ({ code: 0, stdout: done.stdout }),
    (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, stdout: error.stdout ?? "" }),
  );
  return ran;
};

describe("a container's cgroup, read here or on the engine's host", () => {
  // This test process stands for the keeper (PID 1's user), a child of another uid for the agent's leftover.
  const cgroupPath = readFileSync("/proc/self/cgroup", "utf8").split("\n")[0]!.split(":")[2]!;

  it.skipIf(!root)("finds the agent's leftover process both ways: read from this host and through a command on that host", async () => {
    const agent = spawn("sleep", ["30"], { uid: 65534, gid: 65534, stdio: "ignore" });
    try {
      for (const reader of [undefined, remoteCgroupReader(shell)]) {
        const cgroup = await ContainerCgroup.find(process.pid, cgroupPath, reader);
        expect(cgroup).toBeDefined();
        const pids = await cgroup!.agentPids();
        expect(pids).toContain(agent.pid);
        expect(pids).not.toContain(process.pid); // the keeper's user is not the agent
      }
    } finally {
      agent.kill("SIGKILL");
    }
  });

  it("attack: a path that is not plainly a path never reaches the engine host's shell; twin: a plain one does", async () => {
    const commands: string[] = [];
    const reader = remoteCgroupReader(async (command) => {
      commands.push(command);
      return shell(command);
    });
    await expect(reader.read("/proc/1/status'; touch /tmp/corral-pwned; '")).rejects.toThrow(/not a plain path/);
    await expect(reader.processes("/sys/fs/cgroup/$(reboot)/cgroup.procs")).rejects.toThrow(/not a plain path/);
    expect(commands).toEqual([]);
    expect(await reader.read("/proc/self/status")).toMatch(/^Uid:/m);
    expect(commands).toHaveLength(1);
  });

  it("a process that ended after the listing is left out, even when listed last; twin: a live one is listed, and a listing that cannot be read fails", async () => {
    const dir = await mkdtemp(join(tmpdir(), "corral-cgroup-"));
    try {
      const procs = join(dir, "cgroup.procs");
      const gone = 4194304 + 1; // above the kernel's largest pid: never alive
      await writeFile(procs, `${process.pid}\n${gone}\n`);
      for (const reader of [undefined, remoteCgroupReader(shell)]) {
        const listed = await (reader ?? localCgroupReader).processes(procs);
        expect(listed.map(({ pid }) => pid)).toEqual([process.pid]);
        await expect((reader ?? localCgroupReader).processes(join(dir, "missing"))).rejects.toThrow(); // no listing at all is still a failure
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a container id that is not in the cgroup's path is not trusted (an engine in another pid namespace)", async () => {
    expect(await ContainerCgroup.find(process.pid, "0123456789abcdef-not-this-cgroup", remoteCgroupReader(shell))).toBeUndefined();
  });
});

describe("a container's processes, from the engine's top (tcp+TLS)", () => {
  const titles = ["PID", "RUID", "EUID", "SUID", "FSUID"];
  const init = ["7280", "65534", "65534", "65534", "65534"];

  it("finds the agent's leftover (another uid than PID 1's, in any of the four); twin: PID 1 alone, or more of PID 1's user, is nothing left", () => {
    expect(agentLeftInTop({ Titles: titles, Processes: [init, ["7326", "1000", "1000", "1000", "1000"]] }, 7280)).toBe(true);
    expect(agentLeftInTop({ Titles: titles, Processes: [init, ["7327", "65534", "65534", "65534", "0"]] }, 7280)).toBe(true);
    expect(agentLeftInTop({ Titles: titles, Processes: [init] }, 7280)).toBe(false);
    expect(agentLeftInTop({ Titles: titles, Processes: [init, ["7330", "65534", "65534", "65534", "65534"]] }, 7280)).toBe(false);
  });

  it("attack: an answer of another shape is not believed (corral sweeps); twin: the shape asked for is", () => {
    const leftover = ["7326", "1000", "1000", "1000", "1000"];
    for (const top of [
      undefined,
      { Titles: [...titles, "CMD"], Processes: [[...init, "sleep"], [...leftover, "x"]] },
      { Titles: titles, Processes: [init, ["7326", "1000 ", "1000", "1000", "1000"]] },
      { Titles: titles, Processes: [init, ["7326", "1000", "1000", "1000"]] },
      { Titles: titles, Processes: "7280 0 0 0 0" },
      { Titles: titles, Processes: [leftover] }, // PID 1 not listed: another container's answer
    ]) {
      expect(agentLeftInTop(top, 7280)).toBeUndefined();
    }
    expect(agentLeftInTop({ Titles: titles, Processes: [init, leftover] }, 7280)).toBe(true);
  });
});
