import { containerOptionsShape } from "@corral/container";
import { z } from "zod";

/**
 * The shared container options, plus what only podman has, and where the engine is (each overrides
 * the environment: CONTAINER_HOST, CONTAINER_SSHKEY, CONTAINER_CONNECTION, as podman reads them;
 * docs/sandbox-containers.md).
 */
export const podmanOptions = z
  .object({
    ...containerOptionsShape,
    /** SELinux relabelling of the bind mounts: `z` (shared) or `Z` (private to this container). Off by default. */
    selinuxLabel: z.enum(["z", "Z"]).optional(),
    /**
     * The container's user namespace: `keep-id` (rootless; the default there), `auto` (rootful: a
     * private range of unprivileged host uids, workspace idmapped; the default where podman can give
     * it), `host` (none). Unset: the best this machine has; check() says which. See userns.ts.
     */
    userns: z.enum(["keep-id", "auto", "host"]).optional(),
    /** The podman binary (a path, or a name on PATH). */
    podman: z.string().min(1).default("podman"),
    /** `unix:///path` or `ssh://user@host[:port]/run/podman/podman.sock`, as CONTAINER_HOST. */
    host: z.string().min(1).optional(),
    /** A podman system connection's name, as CONTAINER_CONNECTION. */
    connection: z.string().min(1).optional(),
    /** For ssh://: the private key file (default: CONTAINER_SSHKEY, the ssh agent, then ~/.ssh/id_*). */
    sshIdentity: z.string().min(1).optional(),
    /** For ssh://: the known_hosts file the host key must be in (default ~/.ssh/known_hosts). */
    sshKnownHosts: z.string().min(1).optional(),
  })
  .strict();

export type PodmanOptions = z.output<typeof podmanOptions>;
/** The `podman` sandbox's options as a user writes them (in `podman({...})` or corral.config.*): every key optional. Exported as `PodmanSandboxOptions`. */
export type PodmanOptionsInput = z.input<typeof podmanOptions>;
