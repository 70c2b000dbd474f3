import { SandboxUnavailableError, type Availability } from "@corral/core";
import { engineUnavailable, imageMissingError } from "@corral/core/container";
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

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}
