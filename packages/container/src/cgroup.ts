import { readFile } from "node:fs/promises";

/** A process of a cgroup: its host pid and its uids (real, effective, saved, filesystem). */
export interface CgroupProcess {
  pid: number;
  uids: string[];
}

/**
 * Where a container's cgroup and processes are read: this host's /proc and /sys, or (`remoteCgroupReader`)
 * the engine's host through a command there, one round trip per question.
 */
export interface CgroupReader {
  /** A file's text, or undefined when it cannot be read. */
  read(path: string): Promise<string | undefined>;
  /** The processes a `cgroup.procs` file lists, each with its uids; those gone meanwhile are left out. */
  processes(procs: string): Promise<CgroupProcess[]>;
}

/** This host's. */
export const localCgroupReader: CgroupReader = {
  read: (path) => readFile(path, "utf8").catch(() => undefined),
  async processes(procs) {
    const listed: CgroupProcess[] = [];
    for (const pid of (await readFile(procs, "utf8")).split("\n").filter(Boolean).map(Number)) {
      const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
      if (status !== undefined) listed.push({ pid, uids: uidsOf(status) }); // else gone meanwhile
    }
    return listed;
  },
};

/**
 * The engine's host's, through `run` (corral's ssh connection to it: ADR 0430). The files are the
 * kernel's, never the agent's; a path goes to that host's shell only when it is plainly a path.
 */
export function remoteCgroupReader(run: (command: string) => Promise<{ code: number | null; stdout: string }>): CgroupReader {
  const quoted = (path: string) => {
    if (!/^\/[A-Za-z0-9_.:@/-]+$/.test(path)) throw new Error(`not a plain path: ${JSON.stringify(path.slice(0, 200))}`);
    return `'${path}'`;
  };
  return {
    async read(path) {
      const result = await run(`cat -- ${quoted(path)}`);
      return result.code === 0 ? result.stdout : undefined;
    },
    async processes(procs) {
      // One round trip: each listed pid with the Uid: line of its status. Only the listing can fail it: a
      // process that ended since (the `cat` itself, in a busy cgroup) is skipped by the `if`, listed last or not.
      const result = await run(`l=$(cat -- ${quoted(procs)}) || exit 1; for p in $l; do if u=$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null); then echo "$p $u"; fi; done`);
      if (result.code !== 0) throw new Error(`cannot read ${procs} on the engine's host`);
      return result.stdout
        .split("\n")
        .map((line) => line.trim().split(/\s+/))
        .filter((fields) => /^\d+$/.test(fields[0] ?? "") && fields.length > 1)
        .map(([pid, ...uids]) => ({ pid: Number(pid), uids }));
    },
  };
}

/**
 * A container's processes as the kernel of the engine's host lists them: its cgroup. The agent cannot leave the
 * cgroup (it is read-only to it) nor take the keeper's uid, so this tells, without an exec,
 * whether an exec left anything behind; corral then sweeps only when it did (processes.ts).
 *
 * Found from the host pid of the container's PID 1, and only trusted when the cgroup's path names
 * the container's id: an engine in another pid namespace reports pids that mean nothing here, and
 * then there is no such view (corral sweeps after every exec). An engine on another machine is
 * asked through a `remoteCgroupReader` for the pids it reported.
 */
export class ContainerCgroup {
  readonly #procs: string;
  readonly #init: number;
  readonly #keeperUid: string;
  readonly #reader: CgroupReader;

  private constructor(procs: string, init: number, keeperUid: string, reader: CgroupReader) {
    this.#procs = procs;
    this.#init = init;
    this.#keeperUid = keeperUid;
    this.#reader = reader;
  }

  /** The cgroup of the container whose PID 1 has host pid `initPid`, or undefined when it cannot be read (from here, or through `reader`). */
  static async find(initPid: number, containerId: string, reader: CgroupReader = localCgroupReader): Promise<ContainerCgroup | undefined> {
    if (!Number.isInteger(initPid) || initPid <= 0 || !containerId) return undefined;
    try {
      const keeperUid = uidsOf((await reader.read(`/proc/${initPid}/status`)) ?? "")[0];
      if (keeperUid === undefined) return undefined;
      for (const line of ((await reader.read(`/proc/${initPid}/cgroup`)) ?? "").split("\n")) {
        const [, controllers, path] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
        if (path === undefined || !path.includes(containerId)) continue;
        // v2 (or the hybrid's unified tree), or a v1 controller's own mount.
        const roots = controllers ? [`/sys/fs/cgroup/${controllers.replace(/^name=/, "")}`] : ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];
        for (const root of roots) {
          const procs = `${root}${path}/cgroup.procs`;
          const listed = await reader.read(procs).catch(() => undefined);
          if (listed?.split("\n").includes(String(initPid))) return new ContainerCgroup(procs, initPid, keeperUid, reader);
        }
      }
    } catch {
      // Not on this host, or not ours to read.
    }
    return undefined;
  }

  /** Host pids of the container's processes that are not PID 1 nor of the keeper's user: the agent's. */
  async agentPids(): Promise<number[]> {
    const processes = await this.#reader.processes(this.#procs);
    return processes.filter(({ pid, uids }) => pid !== this.#init && uids.some((uid) => uid !== this.#keeperUid)).map(({ pid }) => pid);
  }
}

/** Real, effective, saved and filesystem uid from /proc/<pid>/status. */
function uidsOf(status: string): string[] {
  return status.match(/^Uid:\s+(.*)$/m)?.[1]?.trim().split(/\s+/) ?? [];
}

/**
 * What to ask an engine's `top` for (`ps_args`): the pid and the four uids of each process, numbers only
 * (no command line: that is the agent's to write).
 */
export const TOP_PS_ARGS = "-o pid,ruid,euid,suid,fsuid";
const TOP_TITLES = ["PID", "RUID", "EUID", "SUID", "FSUID"];

/**
 * Whether the agent has a process left in the container, told from the engine's `top` of it (asked with
 * `TOP_PS_ARGS`): any process that is not PID 1 (host pid `initPid`) and has a uid other than PID 1's,
 * as `ContainerCgroup.agentPids` decides from the cgroup. The engine lists the container's cgroup for
 * it, where there is no other view of that host (tcp+TLS). Undefined when the answer is not exactly
 * that shape or does not list PID 1: then corral sweeps anyway.
 */
export function agentLeftInTop(top: unknown, initPid: number): boolean | undefined {
  const { Titles: titles, Processes: rows } = (top ?? {}) as { Titles?: unknown; Processes?: unknown };
  if (!Array.isArray(titles) || titles.join(" ") !== TOP_TITLES.join(" ") || !Array.isArray(rows)) return undefined;
  const processes: Array<{ pid: number; uids: string[] }> = [];
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== TOP_TITLES.length || !row.every((cell) => typeof cell === "string" && /^\d{1,10}$/.test(cell))) return undefined;
    const [pid, ...uids] = row as string[];
    processes.push({ pid: Number(pid), uids });
  }
  const keeperUid = processes.find(({ pid }) => pid === initPid)?.uids[0];
  if (keeperUid === undefined) return undefined;
  return processes.some(({ pid, uids }) => pid !== initPid && uids.some((uid) => uid !== keeperUid));
}
