import Docker from "dockerode";
import { resolveDockerEndpoint, type DockerEndpoint, type DockerEndpointOptions } from "./endpoint.js";

/**
 * Two clients on the same engine (endpoint.ts: the plugin's host or context, DOCKER_HOST with its
 * TLS settings, DOCKER_CONTEXT, the current context, or the local socket): one with a timeout for
 * every control call, and one with only a connection timeout for exec streams, which may
 * legitimately stay quiet for a long time.
 */
export interface DockerClients {
  control: Docker;
  stream: Docker;
  endpoint: DockerEndpoint;
}

export function dockerClients(timeoutMs: number, where: DockerEndpointOptions | DockerEndpoint = {}): DockerClients {
  const endpoint = "connection" in where ? where : resolveDockerEndpoint(where);
  return {
    control: new Docker({ ...endpoint.connection, timeout: timeoutMs }),
    stream: new Docker({ ...endpoint.connection, connectionTimeout: timeoutMs } as Docker.DockerOptions),
    endpoint,
  };
}

/** The engine's HTTP status on a failed call, if it has one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown })?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** A socket-level failure: the engine is absent or not running (as opposed to an API error). */
export function isConnectionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES" || code === "ETIMEDOUT" || code === "EHOSTUNREACH" || /timeout/i.test(String((error as Error)?.message));
}
