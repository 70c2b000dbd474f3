import type { ReapOptions } from "@corral/core";
import { LABELS, judgeOrphan, type ContainerReapResult, type ReapedContainer } from "@corral/container";
import { SandboxError } from "@corral/core";
import { podmanCall, podmanError } from "./cli.js";
import { PodmanEngine, type PodmanEndpointOptions } from "./endpoint.js";

/**
 * Finds corral's podman containers (by the `corral.run` label) and removes those whose
 * orchestrator process is gone. Containers of live runs, and of runs started on another host,
 * are kept. What `corral clean` calls, on the sandbox's engine (a remote one too).
 */
export async function reapOrphans(options: ReapOptions & { podman?: string; engineTimeoutSeconds?: number; endpoint?: PodmanEndpointOptions | PodmanEngine } = {}): Promise<ContainerReapResult> {
  const podman = PodmanEngine.of(options.podman, options.endpoint);
  const timeoutMs = (options.engineTimeoutSeconds ?? 60) * 1000;
  const label = options.runId ? `${LABELS.run}=${options.runId}` : LABELS.run;
  const listed = await podmanCall(podman, ["ps", "--all", "--filter", `label=${label}`, "--format", "json"], { timeoutMs });
  if (listed.exitCode !== 0) throw new SandboxError(`Could not list podman containers: ${podmanError(listed)}`, { code: "E_SANDBOX_REAP", hint: "Check `podman ps -a`." });
  const rows = JSON.parse(listed.stdout.join("\n") || "[]") as Array<{ Id: string; Names?: string[]; Labels?: Record<string, string> | null }>;
  const containers: ReapedContainer[] = [];
  for (const row of rows) {
    const labels = row.Labels ?? {};
    const base = { id: row.Id, name: row.Names?.[0] ?? row.Id, runId: labels[LABELS.run] ?? "" };
    const verdict = judgeOrphan(labels);
    if (!verdict.orphan) containers.push({ ...base, action: "kept", reason: verdict.reason });
    else if (options.dryRun) containers.push({ ...base, action: "would-remove", reason: verdict.reason });
    else {
      const removed = await podmanCall(podman, ["rm", "--force", "--time", "0", row.Id], { timeoutMs });
      const gone = removed.exitCode === 0 || /no such container/i.test(removed.stderr.join("\n"));
      containers.push({ ...base, action: gone ? "removed" : "failed", reason: gone ? verdict.reason : podmanError(removed) });
    }
  }
  return { containers };
}
