import Docker from "dockerode";

/**
 * Two clients on the same engine (DOCKER_HOST or the default socket, as docker-modem reads it,
 * so `tcp://` and `ssh://` work): one with a timeout for every control call, and one with only a
 * connection timeout for exec streams, which may legitimately stay quiet for a long time.
 */
export interface DockerClients {
  control: Docker;
  stream: Docker;
}

export function dockerClients(timeoutMs: number): DockerClients {
  return { control: new Docker({ timeout: timeoutMs }), stream: new Docker({ connectionTimeout: timeoutMs } as Docker.DockerOptions) };
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
