import type { ReapResult } from "@corral/core";

/** A container `reapOrphans` found (ReapOptions, what it takes, are core's: the `Sandbox.reap` contract). */
export interface ReapedContainer {
  id: string;
  name: string;
  runId: string;
  /** `removed`, `would-remove` (dry run), `kept` (its run is alive or not ours), `failed` (removal failed). */
  action: "removed" | "would-remove" | "kept" | "failed";
  reason: string;
}

/** What `reapOrphans` of the docker and podman plugins return. */
export interface ContainerReapResult {
  containers: ReapedContainer[];
}

/** `reapOrphans`' answer as `Sandbox.reap` gives it: each container one reaped thing of kind `container`. */
export function reapedContainers(result: ContainerReapResult): ReapResult {
  return { reaped: result.containers.map((container) => ({ kind: "container", ...container })) };
}
