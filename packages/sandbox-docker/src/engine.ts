import { SandboxUnavailableError, type Availability } from "@corral/core";
import { engineUnavailable, imageMissingError } from "@corral/container";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import type Docker from "dockerode";
import { isConnectionError, statusOf } from "./client.js";
import { trustFailure, type DockerEndpoint } from "./endpoint.js";

/**
 * Pings the engine; an unreachable one becomes an Availability with the reason and the fix. A
 * remote engine whose certificate or host key does not verify, or that refuses corral's client
 * certificate or key, is `E_SANDBOX_ENGINE_TRUST`.
 */
export async function pingDocker(docker: Docker, endpoint?: DockerEndpoint): Promise<Availability> {
  try {
    const version = await docker.version();
    const where = endpoint && endpoint.locality === "remote" ? ` at ${endpoint.display}, a remote engine (from ${endpoint.source})` : "";
    return { available: true, detail: `docker ${version.Version} (API ${version.ApiVersion})${where}` };
  } catch (error) {
    const trust = endpoint && endpoint.locality === "remote" ? trustFailure(endpoint, error) : undefined;
    if (trust) return { available: false, code: "E_SANDBOX_ENGINE_TRUST", ...trust };
    if (endpoint && endpoint.locality === "remote") {
      return { available: false, reason: `the docker engine at ${endpoint.display} (from ${endpoint.source}) does not answer: ${(error as Error).message}`, hint: "Is it running, and reachable from here (docker --host … info)?" };
    }
    const installed = Boolean(process.env.DOCKER_HOST) || onPath("dockerd") || onPath("docker");
    const { reason, hint } = engineUnavailable("docker", installed ? "not-running" : "not-installed", isConnectionError(error) ? (error as Error).message : String(error));
    return { available: false, reason, hint };
  }
}

/** Throws the image-missing error (naming the build command) when `image` is not in the engine. */
export async function assertImage(docker: Docker, image: string): Promise<void> {
  try {
    await docker.getImage(image).inspect();
  } catch (error) {
    if (statusOf(error) === 404) throw imageMissingError("docker", image, error);
    throw new SandboxUnavailableError("docker", `cannot inspect the image ${image}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * What the daemon enforces on every container (`docker info`): its seccomp profile (the default one
 * refuses new user namespaces, which the escape suite checks) and whether it remaps users
 * (`userns-remap`, the only user namespace docker offers: daemon-wide).
 */
export async function daemonSecurity(docker: Docker): Promise<{ seccomp: boolean; usernsRemap: boolean }> {
  const options: string[] = (await docker.info()).SecurityOptions ?? [];
  return {
    seccomp: options.some((option) => option.startsWith("name=seccomp") && !option.includes("profile=unconfined")),
    usernsRemap: options.some((option) => option.startsWith("name=userns")),
  };
}

/** The image's USER (empty: root), for `user: "image"`: execs name it, and the keeper must not be it. */
export async function imageUser(docker: Docker, image: string): Promise<string> {
  await assertImage(docker, image);
  return (await docker.getImage(image).inspect()).Config?.User ?? "";
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}
