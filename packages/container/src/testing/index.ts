/**
 * @corral/container/testing — the container escape suite (ADR 0404): what a hostile agent tries
 * against a container sandbox, each attack beside its legitimate twin. The docker and podman
 * plugins run it in their integration tests; a third party's container sandbox can too. Needs
 * vitest (an optional peer).
 */
export { describeContainerEscapes } from "./escape-suite.js";
export type { ContainerEscapeTarget } from "./escape-suite.js";
export { expectBackgroundSwept, expectClaudeRunComesBack, expectEgressRelayed, nativeBinary, remoteSpecs } from "./remote-cases.js";
export type { RemoteClaudeRun } from "./remote-cases.js";
