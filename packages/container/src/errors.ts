import { SandboxError, SandboxUnavailableError } from "@corral/core";

/** The container engines these helpers speak for (in messages and hints). */
export type Engine = "docker" | "podman";

/** The run's image is not in the engine: name the command that builds it. */
export function imageMissingError(engine: Engine, image: string, cause?: unknown): SandboxError {
  return new SandboxError(`The ${engine} image ${image} does not exist.`, {
    code: "E_SANDBOX_IMAGE_MISSING",
    hint: `Build it: corral image build --sandbox ${engine} --tag ${image} (or ${engine} build -t ${image} .), or set the sandbox's image option to one you have.`,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Why an engine cannot be used, and how to start or install it: what `check()` reports and `create()` throws. */
export function engineUnavailable(engine: Engine, problem: "not-installed" | "not-running", detail?: string): { reason: string; hint: string } {
  if (problem === "not-installed") {
    return {
      reason: `${engine} is not installed${detail ? ` (${detail})` : ""}.`,
      hint: engine === "docker" ? "Install Docker (apt-get install docker.io, or Docker Desktop) and start it." : "Install podman (apt-get install podman runc uidmap).",
    };
  }
  return {
    reason: `the ${engine} engine does not answer${detail ? `: ${detail}` : ""}.`,
    hint:
      engine === "docker"
        ? "Start it (sudo systemctl start docker, or dockerd &), or point DOCKER_HOST at a running engine; you need access to its socket."
        : "Check `podman info`: fix the error it prints (often containers.conf: runtime, cgroup_manager or ulimits).",
  };
}

/** The run's network policy cannot be had with this engine: fail closed. */
export function networkUnavailableError(engine: Engine, policy: string, detail: string): SandboxUnavailableError {
  return new SandboxUnavailableError(engine, `the network policy "${policy}" cannot be had: ${detail}`, {
    hint: policy === "bridge" ? `Create the engine's bridge network (${engine === "docker" ? "dockerd without --bridge=none" : "podman network ls"}), or choose network "none" or "host".` : `Choose another network policy.`,
  });
}

/** An image could not be removed (`corral image remove`): what the engine said, and where to look. */
export function imageRemoveError(engine: Engine, tag: string, detail: string, cause?: unknown): SandboxError {
  return new SandboxError(`${engine} could not remove the image ${tag}: ${detail}`, {
    code: "E_IMAGE_REMOVE",
    hint: `\`${engine} images\` lists the images; a running container may still use it.`,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The engine stopped answering while the run used its container (socket gone, daemon down): the
 * container is named, and so is what removes it once the engine is back. Its keeper ends the
 * agent when corral's connection goes, so nothing keeps working the workspace meanwhile.
 */
export function engineLostError(engine: Engine, container: string, detail: string, cause?: unknown): SandboxError {
  return new SandboxError(`The ${engine} engine stopped answering during the run (${detail}), so corral could not finish with the container ${container}.`, {
    code: "E_SANDBOX_ENGINE_LOST",
    hint: `Once ${engine} answers again, run corral clean: it removes what the run left by its labels (or ${engine} rm -f ${container}).`,
    ...(cause === undefined ? {} : { cause }),
  });
}
