import type { ReapOptions } from "@corral/core";
import { LABELS, judgeOrphan, type ContainerReapResult, type ReapedContainer } from "@corral/container";
import { dockerClients, statusOf } from "./client.js";
import type { DockerEndpoint, DockerEndpointOptions } from "./endpoint.js";

/**
 * Finds corral's docker containers (by the `corral.run` label) and removes those whose
 * orchestrator process is gone (killed with SIGKILL, crashed, machine rebooted). Containers of
 * live runs, and of runs started on another host, are kept. What `corral clean` calls.
 */
export async function reapOrphans(options: ReapOptions & { engineTimeoutSeconds?: number; endpoint?: DockerEndpoint | DockerEndpointOptions } = {}): Promise<ContainerReapResult> {
  const { control } = dockerClients((options.engineTimeoutSeconds ?? 60) * 1000, options.endpoint);
  const label = options.runId ? `${LABELS.run}=${options.runId}` : LABELS.run;
  const listed = await control.listContainers({ all: true, filters: { label: [label] } });
  const containers: ReapedContainer[] = [];
  for (const info of listed) {
    const labels = info.Labels ?? {};
    const base = { id: info.Id, name: (info.Names?.[0] ?? info.Id).replace(/^\//, ""), runId: labels[LABELS.run] ?? "" };
    const verdict = judgeOrphan(labels);
    if (!verdict.orphan) {
      containers.push({ ...base, action: "kept", reason: verdict.reason });
    } else if (options.dryRun) {
      containers.push({ ...base, action: "would-remove", reason: verdict.reason });
    } else {
      try {
        await control.getContainer(info.Id).remove({ force: true });
        containers.push({ ...base, action: "removed", reason: verdict.reason });
      } catch (error) {
        const status = statusOf(error);
        containers.push({ ...base, action: status === 404 || status === 409 ? "removed" : "failed", reason: status === 404 || status === 409 ? verdict.reason : (error as Error).message });
      }
    }
  }
  return { containers };
}
