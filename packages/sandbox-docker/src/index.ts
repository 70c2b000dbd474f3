/**
 * @corral/sandbox-docker — a hardened docker container per run, through the engine's API
 * (dockerode; DOCKER_HOST or the default socket). Commands run as streamed execs in it.
 */
import { defineSandbox } from "@corral/core";
import { containerOptions, type ContainerOptionsInput } from "@corral/container";
import { createDockerSandbox } from "./sandbox.js";
import { VERSION } from "./version.js";

/** The `docker` sandbox plugin. */
export const dockerSandbox = defineSandbox({
  name: "docker",
  version: VERSION,
  packageName: "@corral/sandbox-docker",
  description: "A hardened docker container per run (dockerode)",
  options: containerOptions,
  create: (options) => createDockerSandbox(options),
});

/** `docker({ image: "my-agent:latest" })`: the plugin with its options checked. */
export const docker = (options?: ContainerOptionsInput) => dockerSandbox.configure(options);

export { reapOrphans } from "./reap.js";
export { buildImage, removeImage } from "./build.js";
export { dockerCreateOptions } from "./sandbox.js";
export type { ContainerOptionsInput as DockerSandboxOptions } from "@corral/container";
export default dockerSandbox;
