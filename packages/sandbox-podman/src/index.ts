/**
 * @corral/sandbox-podman — a hardened podman container per run, rootless or rootful, through
 * the podman CLI (see docs/adr/0400). Commands run as streamed `podman exec`s in it.
 */
import { defineSandbox } from "@corral/core";
import { podmanOptions, type PodmanOptionsInput } from "./options.js";
import { createPodmanSandbox } from "./sandbox.js";
import { VERSION } from "./version.js";

/** The `podman` sandbox plugin. */
export const podmanSandbox = defineSandbox({
  name: "podman",
  version: VERSION,
  packageName: "@corral/sandbox-podman",
  description: "A hardened podman container per run (rootless or rootful)",
  options: podmanOptions,
  create: (options) => createPodmanSandbox(options),
});

/** `podman({ image: "my-agent:latest" })`: the plugin with its options checked. */
export const podman = (options?: PodmanOptionsInput) => podmanSandbox.configure(options);

export { reapOrphans } from "./reap.js";
export { buildImage, removeImage } from "./build.js";
export { podmanRunArgs } from "./sandbox.js";
export type { PodmanOptionsInput as PodmanSandboxOptions } from "./options.js";
export default podmanSandbox;
export { PodmanEngine, resolvePodmanEndpoint } from "./endpoint.js";
export type { ConnectionLookup, PodmanEndpoint, PodmanEndpointOptions } from "./endpoint.js";
