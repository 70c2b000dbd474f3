import { SandboxError, type BuildImageOptions } from "@corral/core";
import { buildLineError, hostBuildArgs, imageRemoveError } from "@corral/container";
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { podmanCall, podmanError } from "./cli.js";
import { PodmanEngine, type PodmanEndpointOptions } from "./endpoint.js";

/**
 * Builds an image with `podman build`, streaming each output line to `onLine`. A build fails on a
 * non-zero exit and also on an error line in the stream. The host uid/gid are passed as
 * AGENT_UID/AGENT_GID build args. On a remote engine the context is sent there and built there.
 */
export async function buildImage(options: BuildImageOptions & { podman?: string; endpoint?: PodmanEndpointOptions | PodmanEngine }): Promise<{ tag: string }> {
  const context = resolve(options.contextDir);
  const file = options.file ?? (existsSync(join(context, "Containerfile")) ? "Containerfile" : "Dockerfile");
  const buildArgs = { ...hostBuildArgs(), ...options.buildArgs };
  const args = ["build", "--file", isAbsolute(file) ? file : join(context, file), "--tag", options.tag, ...Object.entries(buildArgs).flatMap(([key, value]) => ["--build-arg", `${key}=${value}`]), context];
  let failure: string | undefined;
  const result = await podmanCall(PodmanEngine.of(options.podman, options.endpoint), args, {
    timeoutMs: 0,
    ...(options.signal ? { signal: options.signal } : {}),
    onLine: (line) => {
      failure ??= buildLineError(line);
      options.onLine?.(line);
    },
  });
  if (result.exitCode !== 0 || failure !== undefined) {
    throw new SandboxError(`Building the podman image ${options.tag} failed: ${failure ?? `podman build exited with ${result.exitCode ?? result.signal}`}`, {
      code: "E_IMAGE_BUILD",
      hint: "Fix the Containerfile step named above and build again.",
    });
  }
  return { tag: options.tag };
}

/** Removes an image with `podman image rm` (`corral image remove`). */
export async function removeImage(tag: string, options: { podman?: string; engineTimeoutSeconds?: number; endpoint?: PodmanEndpointOptions | PodmanEngine } = {}): Promise<void> {
  const result = await podmanCall(PodmanEngine.of(options.podman, options.endpoint), ["image", "rm", tag], { timeoutMs: (options.engineTimeoutSeconds ?? 60) * 1000 });
  if (result.exitCode !== 0) throw imageRemoveError("podman", tag, podmanError(result));
}
