import { containerOptionsShape } from "@corral/container";
import { z } from "zod";

/**
 * The docker plugin's options: the container options every container plugin shares, and where the
 * engine is (each overrides the environment: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH,
 * DOCKER_CONTEXT, as the docker CLI reads them; docs/sandbox-containers.md).
 */
export const dockerOptions = z
  .object({
    ...containerOptionsShape,
    /** `unix:///path`, `tcp://host:2376` (TLS) or `ssh://user@host`, as DOCKER_HOST. */
    host: z.string().min(1).optional(),
    /** A docker context's name, as DOCKER_CONTEXT. */
    context: z.string().min(1).optional(),
    /** Verify the engine's certificate and present a client one, as DOCKER_TLS_VERIFY. */
    tlsVerify: z.boolean().optional(),
    /** The folder with ca.pem, cert.pem and key.pem, as DOCKER_CERT_PATH. */
    certPath: z.string().min(1).optional(),
    /** For ssh://: the private key file (default: the ssh agent, then ~/.ssh/id_*). */
    sshIdentity: z.string().min(1).optional(),
    /** For ssh://: the known_hosts file the host key must be in (default ~/.ssh/known_hosts). */
    sshKnownHosts: z.string().min(1).optional(),
  })
  .strict();

export type DockerOptions = z.output<typeof dockerOptions>;
export type DockerOptionsInput = z.input<typeof dockerOptions>;
