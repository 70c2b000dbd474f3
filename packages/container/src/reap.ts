import type { ReapResult } from "@corral/core";

/** A container `reapOrphans` found (ReapOptions, what it takes, are core's: the `Sandbox.reap` contract). */
export interface ReapedContainer {
  /** The engine's container id. */
  id: string;
  /** The container's name. */
  name: string;
  /** The run it belongs to (its `corral.run` label). */
  runId: string;
  /** `removed`, `would-remove` (dry run), `kept` (its run is alive or not ours), `failed` (removal failed). */
  action: "removed" | "would-remove" | "kept" | "failed";
  /** Why, for the user: e.g. that its orchestrator is gone or alive, or the engine's error. */
  reason: string;
}

/** What `reapOrphans` of the docker and podman plugins return. */
export interface ContainerReapResult {
  /** Every corral container found (of the one run, when `runId` was given), with what was done to it. */
  containers: ReapedContainer[];
}

/** `reapOrphans`' answer as `Sandbox.reap` gives it: each container one reaped thing of kind `container`. */
export function reapedContainers(result: ContainerReapResult): ReapResult {
  return { reaped: result.containers.map((container) => ({ kind: "container", ...container })) };
}
