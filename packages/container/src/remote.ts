import type { Engine } from "./errors.js";
import { SandboxUnavailableError, type SandboxSpec } from "@corral/core";
import { packTar, walkForTar, type TarEntryIn } from "@corral/core/plugin-kit";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerOptions } from "./options.js";
import type { ContainerPlan } from "./plan.js";


/**
 * A remote engine sees none of this machine's files: a bind mount there would show the remote host's
 * folder of that name (or an empty one), never ours. So a remote run must copy its workspace, and
 * may not ask for host mounts (the agent's program included: it has to be in the image); its HOME
 * is shipped in (`remoteHome`). Fails closed, before anything is created (ADR 0410).
 */
export function refuseHostPaths(engine: Engine, display: string, spec: SandboxSpec, options: Pick<ContainerOptions, "mounts">): void {
  if (!spec.workspace.copy) {
    throw new SandboxUnavailableError(engine, `the engine at ${display} is on another machine, so it cannot mount this machine's workspace.`, { hint: "Run with --workspace copy (or auto, the default for a remote engine)." });
  }
  const paths = [...spec.mounts.map((m) => m.host), ...spec.gitMounts.map((m) => m.host), ...options.mounts.map((m) => m.host)];
  if (paths.length) {
    throw new SandboxUnavailableError(engine, `the engine at ${display} is on another machine, so it cannot mount ${paths.join(", ")} from this one.`, { hint: `Drop the mounts for a remote run; an agent's program must be in the image there (its ${engine === "docker" ? "Dockerfile" : "Containerfile"}).` });
  }
}

/** A remote container's plan: the run's HOME is a tmpfs of its own rather than a mount, filled by `homeEntries`. */
export function remotePlan(plan: ContainerPlan, home: string): ContainerPlan {
  return { ...plan, mounts: plan.mounts.filter((m) => m.source !== home), tmpfs: { ...plan.tmpfs, [home]: "rw,nosuid,nodev,mode=1777" } };
}

/** The run's HOME on the host as tar entries (its contents, named relative to it), for a remote container's own HOME. */
export async function* homeEntries(home: string): AsyncGenerator<TarEntryIn> {
  for (const name of (await readdir(home)).sort()) yield* walkForTar(join(home, name), name);
}

/**
 * Ships the run's HOME into a new remote container (`remotePlan` made it a tmpfs) with the plugin's
 * `untar`; a failure closes the sandbox (nothing half-made is left) and is rethrown.
 */
export async function shipRunHome(home: string, untar: (tar: AsyncIterable<Uint8Array>, path: string) => Promise<void>, close: () => Promise<void>): Promise<void> {
  try {
    await untar(packTar(homeEntries(home)), home);
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}
