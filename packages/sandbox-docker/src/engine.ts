import { SandboxUnavailableError, type Availability } from "@corral/core";
import { engineUnavailable, imageMissingError } from "@corral/container";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import type Docker from "dockerode";
import { isConnectionError, statusOf } from "./client.js";

/** Pings the engine; an unreachable one becomes an Availability with the reason and the fix. */
export async function pingDocker(docker: Docker): Promise<Availability> {
  try {
    const version = await docker.version();
    return { available: true, detail: `docker ${version.Version} (API ${version.ApiVersion})` };
  } catch (error) {
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
