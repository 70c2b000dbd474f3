/**
 * @corral/sandbox-docker — a hardened docker container per run, through the engine's API
 * (dockerode; the local socket, or a remote engine over tcp+TLS or ssh: DOCKER_HOST, contexts). Commands run as streamed execs in it.
 */
import { defineSandbox } from "@corral/core";
import { dockerOptions, type DockerOptionsInput } from "./options.js";
import { createDockerSandbox } from "./sandbox.js";
import { VERSION } from "./version.js";

/** The `docker` sandbox plugin. */
export const dockerSandbox = defineSandbox({
  name: "docker",
  version: VERSION,
  packageName: "@corral/sandbox-docker",
  description: "A hardened docker container per run (dockerode)",
  options: dockerOptions,
  create: (options) => createDockerSandbox(options),
});

/** `docker({ image: "my-agent:latest" })`: the plugin with its options checked. */
export const docker = (options?: DockerOptionsInput) => dockerSandbox.configure(options);

export { reapOrphans } from "./reap.js";
export { buildImage, removeImage } from "./build.js";
export { dockerCreateOptions } from "./sandbox.js";
export { resolveDockerEndpoint, type DockerEndpoint, type DockerEndpointOptions } from "./endpoint.js";
export type { DockerOptionsInput as DockerSandboxOptions } from "./options.js";
export default dockerSandbox;
