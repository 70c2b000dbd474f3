import { SandboxError, type BuildImageOptions } from "@corral/core";
import { buildMessageError, hostBuildArgs, imageRemoveError } from "@corral/container";
import { readdir } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { dockerClients, statusOf } from "./client.js";
import type { DockerEndpoint, DockerEndpointOptions } from "./endpoint.js";

/**
 * Builds an image through the engine's API (the context honours `.dockerignore`), streaming each
 * output line to `onLine`. The API can answer 200 for a failed build, so the stream is scanned:
 * any error message in it fails the build. The host uid/gid are passed as AGENT_UID/AGENT_GID.
 */
export async function buildImage(options: BuildImageOptions, endpoint?: DockerEndpoint | DockerEndpointOptions): Promise<{ tag: string }> {
  const docker = dockerClients(60_000, endpoint).stream;
  const file = options.file ?? "Dockerfile";
  const dockerfile = isAbsolute(file) ? relative(options.contextDir, file) : file;
  if (dockerfile.startsWith("..")) {
    throw new SandboxError(`The Dockerfile ${file} is outside the build context ${options.contextDir}.`, { code: "E_IMAGE_BUILD", hint: "Move it into the context folder, or pick a context that contains it." });
  }
  const src = await readdir(resolve(options.contextDir));
  let failure: string | undefined;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage({ context: resolve(options.contextDir), src }, { t: options.tag, dockerfile, buildargs: { ...hostBuildArgs(), ...options.buildArgs }, rm: true, forcerm: true, ...(options.signal ? { abortSignal: options.signal } : {}) });
  } catch (error) {
    throw new SandboxError(`docker could not start building ${options.tag}: ${(error as Error).message}`, { code: "E_IMAGE_BUILD", hint: "Is the engine running (docker info)?", cause: error });
  }
  await new Promise<void>((done, fail) => {
    docker.modem.followProgress(
      stream,
      (error) => (error ? fail(error) : done()),
      (message: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
        const text = message.stream ?? message.status;
        if (text) for (const line of text.replace(/\n$/, "").split("\n")) options.onLine?.(line);
        const error = buildMessageError(message);
        if (error) {
          failure ??= error;
          options.onLine?.(error);
        }
      },
    );
  }).catch((error: unknown) => {
    failure ??= (error as Error).message;
  });
  if (failure !== undefined) {
    throw new SandboxError(`Building the docker image ${options.tag} failed: ${failure}`, { code: "E_IMAGE_BUILD", hint: "Fix the Dockerfile step named above and build again." });
  }
  return { tag: options.tag };
}

/** Removes an image through the engine's API (`corral image remove`). */
export async function removeImage(tag: string, options: { engineTimeoutSeconds?: number; endpoint?: DockerEndpoint | DockerEndpointOptions } = {}): Promise<void> {
  const { control } = dockerClients((options.engineTimeoutSeconds ?? 60) * 1000, options.endpoint);
  try {
    await control.getImage(tag).remove();
  } catch (error) {
    const status = statusOf(error);
    const said = (error as { json?: { message?: unknown } }).json?.message;
    throw imageRemoveError("docker", tag, typeof said === "string" ? said : status === 404 ? "no such image" : (error as Error).message, error);
  }
}
