import { readFile } from "node:fs/promises";

/**
 * A container's processes as the host kernel lists them: its cgroup. The agent cannot leave the
 * cgroup (it is read-only to it) nor take the keeper's uid, so this tells, without an exec,
 * whether an exec left anything behind; corral then sweeps only when it did (processes.ts).
 *
 * Found from the host pid of the container's PID 1, and only trusted when the cgroup's path names
 * the container's id: an engine on another machine, or in another pid namespace, reports pids
 * that mean nothing here, and then there is no such view (corral sweeps after every exec).
 */
export class ContainerCgroup {
  readonly #procs: string;
  readonly #init: number;
  readonly #keeperUid: string;

  private constructor(procs: string, init: number, keeperUid: string) {
    this.#procs = procs;
    this.#init = init;
    this.#keeperUid = keeperUid;
  }

  /** The cgroup of the container whose PID 1 has host pid `initPid`, or undefined when it cannot be read from here. */
  static async find(initPid: number, containerId: string): Promise<ContainerCgroup | undefined> {
    if (!Number.isInteger(initPid) || initPid <= 0 || !containerId) return undefined;
    try {
      const keeperUid = uidsOf(await readFile(`/proc/${initPid}/status`, "utf8"))[0];
      if (keeperUid === undefined) return undefined;
      for (const line of (await readFile(`/proc/${initPid}/cgroup`, "utf8")).split("\n")) {
        const [, controllers, path] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
        if (path === undefined || !path.includes(containerId)) continue;
        // v2 (or the hybrid's unified tree), or a v1 controller's own mount.
        const roots = controllers ? [`/sys/fs/cgroup/${controllers.replace(/^name=/, "")}`] : ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];
        for (const root of roots) {
          const procs = `${root}${path}/cgroup.procs`;
          const listed = await readFile(procs, "utf8").catch(() => undefined);
          if (listed?.split("\n").includes(String(initPid))) return new ContainerCgroup(procs, initPid, keeperUid);
        }
      }
    } catch {
      // Not on this host, or not ours to read.
    }
    return undefined;
  }

  /** Host pids of the container's processes that are not PID 1 nor of the keeper's user: the agent's. */
  async agentPids(): Promise<number[]> {
    const pids = (await readFile(this.#procs, "utf8")).split("\n").filter(Boolean).map(Number);
    const agent: number[] = [];
    for (const pid of pids) {
      if (pid === this.#init) continue;
      const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
      if (status === undefined) continue; // gone meanwhile
      if (uidsOf(status).some((uid) => uid !== this.#keeperUid)) agent.push(pid);
    }
    return agent;
  }
}

/** Real, effective, saved and filesystem uid from /proc/<pid>/status. */
function uidsOf(status: string): string[] {
  return status.match(/^Uid:\s+(.*)$/m)?.[1]?.trim().split(/\s+/) ?? [];
}
