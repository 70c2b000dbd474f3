import { SandboxError } from "@corral/core";
import { readFileSync } from "node:fs";
import type { PodmanFacts } from "./cli.js";

/** The user namespace of a run's container (the `userns` option). */
export type Userns = "keep-id" | "auto" | "host";

/**
 * Which user namespace a container gets (ADR 0405):
 *
 * - `keep-id` (rootless podman, its default): your uid is the agent's inside and out; the
 *   container's root is one of your subordinate uids.
 * - `auto` (the rootful default where it can be had): every container gets its own range of
 *   unprivileged host uids, and the bind mounts are idmapped, so the agent writes the workspace as
 *   you and the files stay yours. Needs subordinate ids for podman to give (`containers` in
 *   /etc/subuid and /etc/subgid) and a runtime with idmapped mounts (crun, runc >= 1.2): older runc
 *   ignores `idmap` without a word, which would leave the workspace unwritable.
 * - `host`: none. The agent's uid is the host's — root when corral runs as root.
 *
 * Asked for explicitly and impossible: an error with the fix, never a quieter mapping.
 */
export function chooseUserns(requested: Userns | undefined, facts: Pick<PodmanFacts, "rootless" | "runtime">, subids: () => boolean = hasContainersSubids): { userns: Userns; why?: string } {
  if (facts.rootless) {
    if (requested === undefined || requested === "keep-id") return { userns: "keep-id" };
    if (requested === "host") return { userns: "host" };
    throw usernsError("auto", "corral maps rootless containers with keep-id only", 'Leave userns unset (keep-id), or run corral as root for userns: "auto".');
  }
  if (requested === "keep-id") throw usernsError("keep-id", "keep-id is rootless podman's mapping", 'Use userns: "auto" (rootful), or run corral as a normal user.');
  if (requested === "host") return { userns: "host" };
  const missing = autoMissing(facts.runtime, subids);
  if (!missing) return { userns: "auto" };
  if (requested === "auto") throw usernsError("auto", missing.reason, missing.hint);
  return { userns: "host", why: missing.reason };
}

/** What `auto` lacks on this machine, or undefined when it can be had. */
function autoMissing(runtime: PodmanFacts["runtime"], subids: () => boolean): { reason: string; hint: string } | undefined {
  if (!idmapCapable(runtime)) {
    const version = runtime.version.split("\n")[0]?.trim() || runtime.name;
    return {
      reason: `the OCI runtime (${version}) has no idmapped mounts, so the workspace would not be writable in a user namespace`,
      hint: 'Install crun and set runtime = "crun" in containers.conf (or use runc 1.2 or newer).',
    };
  }
  if (!subids()) {
    return {
      reason: "podman has no subordinate ids to give (no `containers` entry in /etc/subuid and /etc/subgid)",
      hint: "Add a range for podman: echo containers:2147483647:2147483648 | sudo tee -a /etc/subuid /etc/subgid",
    };
  }
  return undefined;
}

/** crun has idmapped mounts; runc from 1.2. */
export function idmapCapable(runtime: PodmanFacts["runtime"]): boolean {
  if (runtime.name === "crun") return true;
  const version = runtime.version.match(/runc version (\d+)\.(\d+)/);
  return runtime.name === "runc" && version !== null && (Number(version[1]) > 1 || (Number(version[1]) === 1 && Number(version[2]) >= 2));
}

/** Whether /etc/subuid and /etc/subgid both give ids to `containers`, the user `--userns=auto` takes them from. */
function hasContainersSubids(): boolean {
  const has = (file: string) => {
    try {
      return readFileSync(file, "utf8").split("\n").some((line) => line.startsWith("containers:"));
    } catch {
      return false;
    }
  };
  return has("/etc/subuid") && has("/etc/subgid");
}

function usernsError(mode: Userns, reason: string, hint: string): SandboxError {
  return new SandboxError(`podman cannot give this run's container the user namespace "${mode}": ${reason}.`, { code: "E_SANDBOX_USERNS", hint });
}
