/** What `reapOrphans` of the docker and podman plugins take. */
export interface ReapOptions {
  /** Report what would be removed without removing anything. */
  dryRun?: boolean;
  /** Only this run's containers (e.g. `corral clean <run>`). */
  runId?: string;
}

export interface ReapedContainer {
  id: string;
  name: string;
  runId: string;
  /** `removed`, `would-remove` (dry run), `kept` (its run is alive or not ours), `failed` (removal failed). */
  action: "removed" | "would-remove" | "kept" | "failed";
  reason: string;
}

export interface ReapResult {
  containers: ReapedContainer[];
}
