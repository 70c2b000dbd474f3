import { UsageError } from "@corral/core";
import { type SandboxSpec } from "@corral/core";
import { networkMode } from "@corral/core/plugin-kit";
import { keeperCommand, keeperUser } from "./keeper.js";
import { containerLabels, type Orchestrator } from "./labels.js";
import { planMounts, type BindMount } from "./mounts.js";
import type { ContainerOptions } from "./options.js";

/**
 * Everything about a run's container, decided once and engine-agnostic. The docker plugin turns
 * it into an API request, the podman plugin into CLI flags; neither decides policy on its own.
 */
export interface ContainerPlan {
  /** The container's name (`containerName(runId)`), unique per run. */
  name: string;
  /** The image to start, as the options name it. */
  image: string;
  /** The container's main process: the keeper (keeper.ts), attached to the orchestrator's stdin. */
  command: string[];
  /** Run the engine's init as PID 1, so the agent's orphans are reaped. */
  init: boolean;
  /** Who every exec runs as: `uid:gid`, or the image's USER as the image names it. */
  user: string;
  /** Who the keeper runs as: never `user`. The container's working directory is `/`, which it can always enter. */
  keeperUser: string;
  /** The execs' default working directory. */
  workdir: string;
  /** The user's extra labels with corral's (`LABELS`) over them: what `reap` and `judgeOrphan` read back. */
  labels: Record<string, string>;
  /** Every bind mount, parents first (`planMounts`). */
  mounts: BindMount[];
  /** tmpfs mounts: path → mount options. */
  tmpfs: Record<string, string>;
  /** Mount the image's root filesystem read-only. */
  readOnlyRoot: boolean;
  /** Capabilities to drop (`ALL` by default) … */
  capDrop: string[];
  /** … and to add back after the drop. */
  capAdd: string[];
  /** Set `no-new-privileges`: setuid binaries cannot raise privileges. */
  noNewPrivileges: boolean;
  /** The engine's network mode. A `proxy` policy is `none` here: the plugin bridges the proxy's ports in (`EgressBridge`). */
  network: "host" | "none" | "bridge";
  /** The memory limit in bytes; absent for none. */
  memoryBytes?: number;
  /** memory + swap: equal to memoryBytes, so the limit cannot be dodged by swapping. */
  memorySwapBytes?: number;
  /** 1e9 = one core. */
  nanoCpus?: number;
  /** The most processes (and threads) the container may hold; absent for no limit. */
  pidsLimit?: number;
  /** The env every exec gets. Never set on the container itself, so `inspect` does not show credentials. */
  env: Record<string, string>;
}

/** What `planContainer` needs besides the spec and options: facts the plugin looks up. */
export interface PlanContext {
  /** The plugin's version, for the `corral.version` label. */
  version: string;
  /** The orchestrator's uid:gid, used when `user` is `host`. */
  hostUser?: { uid: number; gid: number };
  /** The image's USER (`docker image inspect`), which the plugin looks up when `user` is `image`; empty is root. */
  imageUser?: string;
  /** Who the labels name as the container's orchestrator. Default: this process (`currentOrchestrator()`). */
  orchestrator?: Orchestrator;
}

/** A container name docker and podman both accept, unique per run. */
export function containerName(runId: string): string {
  return `corral-${runId.replace(/[^a-zA-Z0-9_.-]/g, "-")}`.slice(0, 128);
}

/** The plan for a run: the spec's limits win over the plugin's defaults. */
export function planContainer(spec: SandboxSpec, options: ContainerOptions, context: PlanContext): ContainerPlan {
  const memoryMb = spec.limits.memoryMb ?? options.memoryMb;
  const pids = spec.limits.pids ?? options.pids;
  const cpuPercent = spec.limits.cpuPercent ?? options.cpuPercent;
  const wall = spec.limits.wallSeconds;
  if (wall !== undefined && !(wall > 0)) throw new UsageError(`limits.wallSeconds must be positive, got ${wall}.`, { hint: "Pass e.g. limits: { wallSeconds: 3600 }." });
  const hostUser = context.hostUser ?? currentUser();
  const user = (options.user === "image" ? context.imageUser : options.user === "host" ? hostUser && `${hostUser.uid}:${hostUser.gid}` : options.user) || "0:0";

  return {
    name: containerName(spec.runId),
    image: options.image,
    command: keeperCommand(wall),
    init: options.init,
    user,
    keeperUser: keeperUser(user),
    // A copied workspace does not exist until it is shipped in: the execs name their cwd.
    workdir: spec.workspace.copy ? "/tmp" : spec.workspace.cwd,
    labels: containerLabels({
      runId: spec.runId,
      ...(spec.name ? { name: spec.name } : {}),
      version: context.version,
      ...(context.orchestrator ? { orchestrator: context.orchestrator } : {}),
      extra: options.labels,
    }),
    mounts: planMounts(spec, options.mounts),
    tmpfs: { ...options.tmpfs },
    readOnlyRoot: options.readOnlyRoot,
    capDrop: [...options.capDrop],
    capAdd: [...options.capAdd],
    noNewPrivileges: options.noNewPrivileges,
    // proxy: the container has no network of its own; the plugin bridges the proxy's ports into it.
    network: networkMode(spec.network) === "proxy" ? "none" : (networkMode(spec.network) as "host" | "none" | "bridge"),
    ...(memoryMb ? { memoryBytes: memoryMb * 1024 * 1024, memorySwapBytes: memoryMb * 1024 * 1024 } : {}),
    ...(cpuPercent ? { nanoCpus: Math.round((cpuPercent / 100) * 1e9) } : {}),
    ...(pids ? { pidsLimit: pids } : {}),
    // PATH and LANG from the host mean nothing in an image: the image's own apply unless the run set them.
    env: Object.fromEntries(Object.entries(spec.env).filter(([key]) => !spec.inheritedEnv?.includes(key))),
  };
}

function currentUser(): { uid: number; gid: number } | undefined {
  return typeof process.getuid === "function" && typeof process.getgid === "function" ? { uid: process.getuid(), gid: process.getgid() } : undefined;
}
