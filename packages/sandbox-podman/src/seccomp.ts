import { SandboxUnavailableError } from "@corral/core";
import { withoutUserNamespaces } from "@corral/container";
import { readFile } from "node:fs/promises";
import type { PodmanFacts } from "./cli.js";

/**
 * podman's own seccomp profile, less what creates user namespaces (core's seccomp.ts: podman's
 * default allows `unshare -U` in the container), as the JSON `--security-opt seccomp=` takes.
 * Without a profile to start from, the run stops (fail closed).
 */
export async function seccompProfile(facts: Pick<PodmanFacts, "seccompProfile">): Promise<string> {
  if (!facts.seccompProfile) {
    throw new SandboxUnavailableError("podman", "podman runs without a seccomp profile here, so an agent could create user namespaces", {
      hint: "Enable seccomp (seccomp_profile in containers.conf, or the containers-common package's seccomp.json).",
    });
  }
  let profile: unknown;
  try {
    profile = JSON.parse(await readFile(facts.seccompProfile, "utf8"));
  } catch (error) {
    throw new SandboxUnavailableError("podman", `cannot read podman's seccomp profile ${facts.seccompProfile}: ${(error as Error).message}`, {
      hint: "Reinstall containers-common, or point seccomp_profile in containers.conf at a readable profile.",
      cause: error,
    });
  }
  return JSON.stringify(withoutUserNamespaces(profile as Parameters<typeof withoutUserNamespaces>[0]));
}
