import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { SandboxError, type ResourceLimits } from "@corral/core";
import { LIMIT_STRATEGIES, type LimitStrategyName } from "./options.js";
import { which } from "./which.js";

const run = promisify(execFile);

/** The limits a mechanism can enforce. `wallSeconds` is always enforced by the sandbox's own timer. */
export type LimitName = "memoryMb" | "pids" | "cpuPercent";
const LIMIT_NAMES: readonly LimitName[] = ["memoryMb", "pids", "cpuPercent"];

/** Limits put in force for one sandbox. */
export interface AppliedLimits {
  /** `none`: best effort found no mechanism at all. */
  strategy: LimitStrategyName | "none";
  enforced: LimitName[];
  /** Puts an exec's argv under the limits. */
  wrap(argv: readonly string[]): string[];
  /** Kills every process still in the limit's scope, where the mechanism knows them. */
  killAll(): Promise<void>;
  release(): Promise<void>;
}

/** One way to enforce limits; strategies form a chain, strongest first. */
export interface LimitStrategy {
  readonly name: LimitStrategyName | "none";
  /**
   * Whether it may put in force a default limit (one the run did not ask for). A cgroup bounds the
   * sandbox as a whole and nothing inside notices; an address-space rlimit breaks programs that
   * reserve much virtual memory (V8 reserves far more than 4 GB), so it is used only when asked.
   */
  readonly appliesDefaults: boolean;
  /** What it can enforce here, or why it cannot be used at all. */
  probe(): Promise<{ enforces: LimitName[] } | { unavailable: string }>;
  apply(limits: ResourceLimits, id: string, enforces: LimitName[]): Promise<AppliedLimits>;
}

/** A constant script (no input in it): join the given cgroups, then exec the rest of argv. */
const JOIN_CGROUPS = 'for f in "$@"; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; shift; done; shift; exec "$@"';

const requested = (limits: ResourceLimits): LimitName[] => LIMIT_NAMES.filter((name) => limits[name] !== undefined);

// ---------------------------------------------------------------- cgroups: where are we?

/** A controller's folder for this process, from /proc/self/cgroup and /proc/self/mountinfo (v1). */
export function cgroupV1Dirs(procCgroup: string, mountinfo: string): Partial<Record<"memory" | "pids" | "cpu", string>> {
  const mounts = mountinfo
    .split("\n")
    .map((line) => line.split(" "))
    .filter((fields) => fields[fields.indexOf("-") + 1] === "cgroup")
    .map((fields) => ({ root: fields[3]!, point: fields[4]!, options: (fields[fields.indexOf("-") + 3] ?? "").split(",") }));
  const out: Partial<Record<"memory" | "pids" | "cpu", string>> = {};
  for (const line of procCgroup.split("\n")) {
    const [, controllers = "", path = ""] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
    for (const controller of ["memory", "pids", "cpu"] as const) {
      if (!controllers.split(",").includes(controller)) continue;
      const mount = mounts.find((m) => m.options.includes(controller));
      if (!mount || !(path === mount.root || path.startsWith(mount.root === "/" ? "/" : `${mount.root}/`))) continue;
      out[controller] = under(mount.point, mount.root === "/" ? path : path.slice(mount.root.length));
    }
  }
  return out;
}

/** This process's cgroup v2 folder, if the unified hierarchy is mounted. */
export function cgroupV2Dir(procCgroup: string, mountinfo: string): string | undefined {
  const path = procCgroup.split("\n").find((line) => line.startsWith("0::"))?.slice(3);
  const mount = mountinfo
    .split("\n")
    .map((line) => line.split(" "))
    .find((fields) => fields[fields.indexOf("-") + 1] === "cgroup2");
  if (path === undefined || !mount) return undefined;
  const root = mount[3]!;
  if (!(path === root || path.startsWith(root === "/" ? "/" : `${root}/`))) return undefined;
  return under(mount[4]!, root === "/" ? path : path.slice(root.length));
}

/** `point` + `path`, without the trailing slash `join` leaves for the root cgroup. */
const under = (point: string, path: string) => join(point, path).replace(/(.)\/+$/, "$1");

const procText = (file: string) => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
};

/** Makes and removes a child folder, proving we may create cgroups there. */
async function canCreateChild(dir: string): Promise<string | undefined> {
  const probe = join(dir, `corral-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    await mkdir(probe);
    await rmdir(probe);
    return undefined;
  } catch (error) {
    return `cannot create a cgroup under ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
}

/** Kills every process listed in the cgroups, until they are empty (bounded). */
async function killCgroups(dirs: readonly string[]): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = new Set<number>();
    for (const dir of dirs) {
      for (const pid of (await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => "")).split("\n")) if (pid.trim()) pids.add(Number(pid));
    }
    if (pids.size === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function removeCgroups(dirs: readonly string[]): Promise<void> {
  await killCgroups(dirs);
  for (const dir of dirs) {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await rmdir(dir);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") break;
        await new Promise((resolve) => setTimeout(resolve, 25)); // EBUSY while the last exits settle
      }
    }
  }
}

function cgroupApplied(name: LimitStrategyName, dirs: string[], enforced: LimitName[]): AppliedLimits {
  const procs = dirs.map((dir) => join(dir, "cgroup.procs"));
  return {
    strategy: name,
    enforced,
    wrap: (argv) => ["/bin/sh", "-c", JOIN_CGROUPS, "corral-join-cgroup", ...procs, "--", ...argv],
    killAll: () => killCgroups(dirs),
    release: () => removeCgroups(dirs),
  };
}

// ---------------------------------------------------------------- the strategies

/** A transient systemd scope per exec (`systemd-run --scope`): needs systemd as init. */
export const systemdRunStrategy: LimitStrategy = {
  name: "systemd-run",
  appliesDefaults: true,
  async probe() {
    const user = process.getuid?.() !== 0;
    try {
      await run("systemd-run", [...(user ? ["--user"] : []), "--scope", "--quiet", "--collect", "-p", "TasksMax=100", "--", "true"], { timeout: 10_000 });
      return { enforces: [...LIMIT_NAMES] };
    } catch (error) {
      const text = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split("\n")[0];
      return { unavailable: `systemd-run --scope does not work here (${text})` };
    }
  },
  async apply(limits, id, enforces) {
    const user = process.getuid?.() !== 0;
    const systemdRun = which("systemd-run") ?? "systemd-run";
    let n = 0;
    const props = [
      ...(limits.memoryMb ? ["-p", `MemoryMax=${limits.memoryMb}M`, "-p", "MemorySwapMax=0"] : []),
      ...(limits.pids ? ["-p", `TasksMax=${limits.pids}`] : []),
      ...(limits.cpuPercent ? ["-p", `CPUQuota=${limits.cpuPercent}%`] : []),
    ];
    return {
      strategy: "systemd-run",
      enforced: enforces,
      // A scope per exec: limits apply to each exec (execs run one at a time in a run).
      wrap: (argv) => [systemdRun, ...(user ? ["--user"] : []), "--scope", "--quiet", "--collect", `--unit=corral-${id}-${++n}`, ...props, "--", ...argv],
      killAll: async () => {},
      release: async () => {},
    };
  },
};

const V1_CONTROLLER: Record<LimitName, "memory" | "pids" | "cpu"> = { memoryMb: "memory", pids: "pids", cpuPercent: "cpu" };

/** A child of our own cgroup in each cgroup v1 controller; processes join it before bwrap starts. */
export const cgroupV1Strategy: LimitStrategy = {
  name: "cgroup-v1",
  appliesDefaults: true,
  async probe() {
    const dirs = cgroupV1Dirs(procText("/proc/self/cgroup"), procText("/proc/self/mountinfo"));
    const enforces: LimitName[] = [];
    const reasons: string[] = [];
    for (const name of LIMIT_NAMES) {
      const dir = dirs[V1_CONTROLLER[name]];
      if (!dir) continue;
      const reason = await canCreateChild(dir);
      if (reason) reasons.push(reason);
      else enforces.push(name);
    }
    if (enforces.length === 0) return { unavailable: reasons[0] ?? "no cgroup v1 memory, pids or cpu controller is mounted" };
    return { enforces };
  },
  async apply(limits, id, enforces) {
    const dirs = cgroupV1Dirs(procText("/proc/self/cgroup"), procText("/proc/self/mountinfo"));
    const made: string[] = [];
    try {
      for (const name of requested(limits).filter((n) => enforces.includes(n))) {
        const dir = join(dirs[V1_CONTROLLER[name]]!, `corral-${id}`);
        await mkdir(dir);
        made.push(dir);
        if (name === "memoryMb") {
          const bytes = String(limits.memoryMb! * 1024 * 1024);
          await writeFile(join(dir, "memory.limit_in_bytes"), bytes);
          // Swap counts too, where the kernel accounts it, so the hog cannot page out and go on.
          if (existsSync(join(dir, "memory.memsw.limit_in_bytes"))) await writeFile(join(dir, "memory.memsw.limit_in_bytes"), bytes);
        } else if (name === "pids") {
          await writeFile(join(dir, "pids.max"), String(limits.pids));
        } else {
          await writeFile(join(dir, "cpu.cfs_period_us"), "100000");
          await writeFile(join(dir, "cpu.cfs_quota_us"), String(Math.max(1000, Math.round(limits.cpuPercent! * 1000))));
        }
      }
    } catch (error) {
      await removeCgroups(made);
      throw new SandboxError(`Could not set up the cgroup for the sandbox's limits: ${(error as Error).message}`, { code: "E_SANDBOX_LIMITS", cause: error });
    }
    return cgroupApplied("cgroup-v1", made, enforces);
  },
};

const V2_CONTROLLER: Record<LimitName, string> = { memoryMb: "memory", pids: "pids", cpuPercent: "cpu" };

/** A child of our own cgroup v2, with the controllers our cgroup delegates to its children. */
export const cgroupV2Strategy: LimitStrategy = {
  name: "cgroup-v2",
  appliesDefaults: true,
  async probe() {
    const dir = cgroupV2Dir(procText("/proc/self/cgroup"), procText("/proc/self/mountinfo"));
    if (!dir) return { unavailable: "no cgroup v2 hierarchy is mounted" };
    const delegated = (await readFile(join(dir, "cgroup.subtree_control"), "utf8").catch(() => "")).trim().split(/\s+/);
    const enforces = LIMIT_NAMES.filter((name) => delegated.includes(V2_CONTROLLER[name]));
    if (enforces.length === 0) return { unavailable: `the cgroup ${dir} delegates no memory, pids or cpu controller to its children` };
    const reason = await canCreateChild(dir);
    return reason ? { unavailable: reason } : { enforces };
  },
  async apply(limits, id, enforces) {
    const parent = cgroupV2Dir(procText("/proc/self/cgroup"), procText("/proc/self/mountinfo"))!;
    const dir = join(parent, `corral-${id}`);
    try {
      await mkdir(dir);
      if (limits.memoryMb && enforces.includes("memoryMb")) {
        await writeFile(join(dir, "memory.max"), String(limits.memoryMb * 1024 * 1024));
        if (existsSync(join(dir, "memory.swap.max"))) await writeFile(join(dir, "memory.swap.max"), "0");
      }
      if (limits.pids && enforces.includes("pids")) await writeFile(join(dir, "pids.max"), String(limits.pids));
      if (limits.cpuPercent && enforces.includes("cpuPercent")) await writeFile(join(dir, "cpu.max"), `${Math.max(1000, Math.round(limits.cpuPercent * 1000))} 100000`);
    } catch (error) {
      await removeCgroups([dir]);
      throw new SandboxError(`Could not set up the cgroup for the sandbox's limits: ${(error as Error).message}`, { code: "E_SANDBOX_LIMITS", cause: error });
    }
    return cgroupApplied("cgroup-v2", [dir], enforces);
  },
};

/**
 * `prlimit`: only per-process address space for `memoryMb`. RLIMIT_NPROC counts all of a user's
 * processes (and never applies to root), and no rlimit caps CPU share, so those stay unenforced.
 */
export const prlimitStrategy: LimitStrategy = {
  name: "prlimit",
  appliesDefaults: false,
  async probe() {
    try {
      await run("prlimit", ["--as=unlimited", "--", "true"], { timeout: 10_000 });
      return { enforces: ["memoryMb"] };
    } catch (error) {
      return { unavailable: `prlimit does not work here (${(error as Error).message.split("\n")[0]})` };
    }
  },
  async apply(limits, _id, enforces) {
    const flags = limits.memoryMb ? [`--as=${limits.memoryMb * 1024 * 1024}`] : [];
    const prlimit = which("prlimit") ?? "prlimit";
    return { strategy: "prlimit", enforced: enforces, wrap: (argv) => [prlimit, ...flags, "--", ...argv], killAll: async () => {}, release: async () => {} };
  },
};

/** The chain, strongest first. */
export const LIMIT_CHAIN: readonly LimitStrategy[] = [systemdRunStrategy, cgroupV2Strategy, cgroupV1Strategy, prlimitStrategy];

/** What one limit mechanism can do on this machine, as `detectLimitStrategies` found it. */
export interface LimitStrategyReport {
  /** The mechanism. */
  name: LimitStrategyName | "none";
  /** Whether it can be used here at all. */
  available: boolean;
  /** The limits it can enforce here (empty when unavailable). */
  enforces: LimitName[];
  /** Why it is unavailable (absent when available). */
  reason?: string;
}

let cachedReports: Promise<LimitStrategyReport[]> | undefined;

/**
 * Probes every limit mechanism on this machine (once per process) and says what each can enforce.
 * `corral doctor` and `check()` show this.
 */
export function detectLimitStrategies(chain: readonly LimitStrategy[] = LIMIT_CHAIN): Promise<LimitStrategyReport[]> {
  const probeAll = async () =>
    Promise.all(
      chain.map(async (strategy): Promise<LimitStrategyReport> => {
        const result = await strategy.probe();
        return "unavailable" in result
          ? { name: strategy.name, available: false, enforces: [], reason: result.unavailable }
          : { name: strategy.name, available: true, enforces: result.enforces };
      }),
    );
  if (chain !== LIMIT_CHAIN) return probeAll();
  return (cachedReports ??= probeAll());
}

/** What `chooseLimitStrategy` decided: the mechanism, and which limits with which values it puts in force. */
export interface LimitPlan {
  /** The chosen mechanism; its `apply` puts `limits` in force for one sandbox. */
  strategy: LimitStrategy;
  /** What the mechanism can enforce here. */
  enforces: LimitName[];
  /** The limits to put in force: the run's, and the defaults this mechanism may apply. */
  limits: Pick<ResourceLimits, LimitName>;
  /** Asked for (with best effort) or defaulted, but not in force. */
  notEnforced: LimitName[];
  /** Which limits are defaults rather than the run's (in force or not). */
  defaults: LimitName[];
}

/**
 * Picks the mechanism for a run's `limits` and the plugin's `defaults` for the limits it does not
 * set: the strongest mechanism that enforces every limit the run asks for, and of those the one that
 * also puts the most defaults in force. A limit the run asks for and nothing can enforce refuses
 * (fail closed) unless `bestEffort`; a default that nothing here may enforce is only reported. No
 * plan when there is nothing to limit.
 */
export async function chooseLimitStrategy(
  limits: ResourceLimits,
  options: { strategy: "auto" | LimitStrategyName; bestEffort: boolean; defaults?: Partial<Record<LimitName, number>> },
  chain: readonly LimitStrategy[] = LIMIT_CHAIN,
): Promise<LimitPlan | undefined> {
  const defaults = options.defaults ?? {};
  for (const [where, values] of [["limits", limits], ["default limit", defaults]] as const) {
    for (const name of LIMIT_NAMES) {
      const value = values[name];
      if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
        throw new SandboxError(`${where === "limits" ? "limits." : "The bwrap option "}${name} must be a positive number, got ${String(value)}.`, { code: "E_SANDBOX_LIMITS", hint: `Pass e.g. ${name}: ${name === "memoryMb" ? 2048 : name === "pids" ? 512 : 200}.` });
      }
    }
  }
  const wanted = requested(limits);
  const defaulted = LIMIT_NAMES.filter((name) => limits[name] === undefined && defaults[name] !== undefined);
  if (wanted.length === 0 && defaulted.length === 0) return undefined;
  const reports = await detectLimitStrategies(chain);
  const usable = chain
    .filter((s) => options.strategy === "auto" || s.name === options.strategy)
    .map((strategy) => ({ strategy, report: reports.find((r) => r.name === strategy.name)! }))
    .filter(({ report }) => report.available);
  const covered = ({ report }: (typeof usable)[number], names: LimitName[]) => names.filter((n) => report.enforces.includes(n));
  const coveredDefaults = (u: (typeof usable)[number]) => (u.strategy.appliesDefaults ? covered(u, defaulted) : []);
  // Stable sorts keep the chain's order (strongest first) among equals.
  const byDefaults = [...usable].sort((a, b) => coveredDefaults(b).length - coveredDefaults(a).length);
  const plan = (u: (typeof usable)[number] | undefined): LimitPlan => {
    const inForce = u ? [...covered(u, wanted), ...coveredDefaults(u)] : [];
    return {
      strategy: u?.strategy ?? noLimits,
      enforces: u?.report.enforces ?? [],
      limits: Object.fromEntries(inForce.map((name) => [name, limits[name] ?? defaults[name]])),
      notEnforced: [...wanted, ...defaulted].filter((name) => !inForce.includes(name)),
      defaults: defaulted,
    };
  };
  if (wanted.length === 0) return plan(byDefaults.find((u) => coveredDefaults(u).length > 0));
  const full = byDefaults.find((u) => covered(u, wanted).length === wanted.length);
  if (full) return plan(full);
  if (options.bestEffort) return plan([...byDefaults].sort((a, b) => covered(b, wanted).length - covered(a, wanted).length)[0]);
  const seen = reports
    .filter((r) => options.strategy === "auto" || r.name === options.strategy)
    .map((r) => (r.available ? `${r.name} enforces ${r.enforces.join(", ") || "nothing"}` : `${r.name}: ${r.reason}`))
    .join("; ");
  throw new SandboxError(`The bwrap sandbox cannot enforce limits ${wanted.join(", ")} on this machine (${seen}).`, {
    code: "E_SANDBOX_LIMITS",
    hint: "Run where systemd or a writable cgroup is available (e.g. as root, or with cgroup delegation), drop those limits, or set bestEffortLimits: true to run with what can be enforced.",
  });
}

/** Best effort with nothing available: runs unlimited, and says so. */
const noLimits: LimitStrategy = {
  name: "none",
  appliesDefaults: false,
  probe: async () => ({ enforces: [] }),
  apply: async () => ({ strategy: "none", enforced: [], wrap: (argv) => [...argv], killAll: async () => {}, release: async () => {} }),
};

export { LIMIT_STRATEGIES };
