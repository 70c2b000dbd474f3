import { SandboxUnavailableError } from "@corral/core";
import { engineTrustError, sshConnectConfig, SshConnection, type SshOptions } from "@corral/container";
import { execFileSync } from "node:child_process";
import { homedir } from "node:os";

/** Where the podman engine is, as the plugin's options may name it (each overrides the environment). */
export interface PodmanEndpointOptions extends SshOptions {
  /** `unix:///path`, `tcp://127.0.0.1:port` or `ssh://user@host[:port]/run/podman/podman.sock` (as CONTAINER_HOST). */
  host?: string | undefined;
  /** A podman system connection's name (as CONTAINER_CONNECTION / `podman system connection add`). */
  connection?: string | undefined;
}

/** The engine the podman CLI is pointed at, resolved once. */
export interface PodmanEndpoint {
  /** For messages: `local`, `unix:///run/podman/podman.sock`, `ssh://root@host`. */
  display: string;
  /** Which setting named it. */
  source: string;
  /** `local`: this machine's, so host paths can be mounted; `remote`: another machine's engine. */
  locality: "local" | "remote";
  /** The `--url` the CLI gets (none: podman's own local engine). */
  url?: string | undefined;
  /** For ssh://: corral's own connection to the host and the podman socket's path there. */
  ssh?: { connection: SshConnection; socket: string } | undefined;
}

type Env = Record<string, string | undefined>;
/** Looks a system connection up: its URI and identity file (`podman system connection list`). */
export type ConnectionLookup = (name: string) => { uri: string; identity?: string | undefined } | undefined;

/**
 * Resolves the engine as podman does: the plugin's `host`, then its `connection`, then CONTAINER_HOST
 * (with CONTAINER_SSHKEY), then CONTAINER_CONNECTION, then podman's local engine. An ssh endpoint is
 * carried by corral's own ssh connection with the host key checked against known_hosts: podman 4.3's
 * own ssh trusts an unknown host key on first use (ADR 0430). A tcp endpoint off this machine is
 * refused: podman's API has no TLS, it is root on that host, and execs carry the agent's credentials.
 * Throws `E_SANDBOX_ENGINE_TRUST` for an endpoint corral will not use.
 */
export function resolvePodmanEndpoint(options: PodmanEndpointOptions & { podman?: string } = {}, env: Env = process.env, home: string = homedir(), lookup: ConnectionLookup = systemConnection(options.podman ?? "podman")): PodmanEndpoint {
  if (options.host) return fromHost(options.host, "the plugin's host option", options, env, home);
  if (options.connection) return fromConnection(options.connection, "the plugin's connection option", options, env, home, lookup);
  if (env.CONTAINER_HOST) return fromHost(env.CONTAINER_HOST, "CONTAINER_HOST", { ...options, sshIdentity: options.sshIdentity ?? (env.CONTAINER_SSHKEY || undefined) }, env, home);
  if (env.CONTAINER_CONNECTION) return fromConnection(env.CONTAINER_CONNECTION, "CONTAINER_CONNECTION", options, env, home, lookup);
  return { display: "local", source: "default", locality: "local" };
}

function fromConnection(name: string, source: string, options: PodmanEndpointOptions, env: Env, home: string, lookup: ConnectionLookup): PodmanEndpoint {
  const found = lookup(name);
  if (!found) throw new SandboxUnavailableError("podman", `the podman system connection ${JSON.stringify(name)} (from ${source}) does not exist.`, { hint: "List them with podman system connection list; add one with podman system connection add NAME ssh://USER@HOST/run/podman/podman.sock." });
  return fromHost(found.uri, `${source}: connection ${name}`, { ...options, sshIdentity: options.sshIdentity ?? found.identity }, env, home);
}

function fromHost(raw: string, source: string, options: PodmanEndpointOptions, env: Env, home: string): PodmanEndpoint {
  if (raw.startsWith("unix://")) {
    if (!raw.slice("unix://".length).startsWith("/")) throw new SandboxUnavailableError("podman", `${source} names a socket without an absolute path: ${JSON.stringify(raw)}.`, { hint: "Use unix:///run/podman/podman.sock." });
    return { display: raw, source, locality: "local", url: raw };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new SandboxUnavailableError("podman", `${source} is not an engine address: ${JSON.stringify(raw)}.`, { hint: "Use unix:///run/podman/podman.sock or ssh://USER@HOST[:PORT]/run/podman/podman.sock.", cause: error });
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  if (url.protocol === "ssh:") {
    const { config, display } = sshConnectConfig("podman", url, source, options, env, home);
    const user = config.username;
    // podman's own default: the rootful socket for root, the user's rootless one otherwise.
    const socket = decodeURIComponent(url.pathname) || (user === "root" ? "/run/podman/podman.sock" : "");
    if (!socket.startsWith("/") || socket.includes("\0")) throw new SandboxUnavailableError("podman", `${source} names ${raw} without the podman socket's path on that host.`, { hint: "Name it: ssh://USER@HOST/run/user/UID/podman/podman.sock (rootless) or ssh://root@HOST/run/podman/podman.sock." });
    return { display, source, locality: "remote", ssh: { connection: new SshConnection(config), socket } };
  }
  if (url.protocol === "tcp:") {
    const loopback = hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
    if (!loopback) {
      throw engineTrustError(
        "podman",
        `${source} names ${raw}: podman's API over tcp has no encryption and no authentication, so anyone on that network could take the engine's place, and every command corral sends (with the agent's credentials) would cross it in the clear.`,
        "Reach the engine over ssh:// (CONTAINER_HOST=ssh://USER@HOST/run/podman/podman.sock): corral checks its host key against known_hosts.",
      );
    }
    return { display: `tcp://${hostname}:${url.port}`, source, locality: "local", url: raw };
  }
  throw new SandboxUnavailableError("podman", `${source} has an address corral cannot use: ${JSON.stringify(raw)}.`, { hint: "Use unix:// or ssh://." });
}

/** A system connection from podman's own list (its containers.conf or podman-connections.json, read by podman). */
function systemConnection(podman: string): ConnectionLookup {
  return (name) => {
    let rows: Array<{ Name?: unknown; URI?: unknown; Identity?: unknown }>;
    try {
      rows = JSON.parse(execFileSync(podman, ["system", "connection", "list", "--format", "json"], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] }) || "[]");
    } catch {
      return undefined;
    }
    const row = rows.find((r) => r.Name === name);
    if (!row || typeof row.URI !== "string") return undefined;
    return { uri: row.URI, ...(typeof row.Identity === "string" && row.Identity ? { identity: row.Identity } : {}) };
  };
}

/**
 * The podman CLI pointed at the endpoint: `--url` for a socket, and for ssh a private local socket
 * (0600 in a 0700 folder) that corral's ssh connection carries to the podman socket on the host, so
 * the CLI never opens an ssh connection of its own (nor reads ~/.ssh/config). Its env never carries
 * CONTAINER_HOST and friends: where the engine is, corral decides.
 */
export class PodmanEngine {
  readonly podman: string;
  readonly endpoint: PodmanEndpoint;
  #flags: Promise<string[]> | undefined;
  #forward: { close(): Promise<void> } | undefined;

  constructor(podman: string, endpoint: PodmanEndpoint) {
    this.podman = podman;
    this.endpoint = endpoint;
  }

  /** `podman` (a path or a name on PATH) and where it is told to go: the plugin's options, or the environment. */
  static of(podman: string | undefined, where: PodmanEndpointOptions | PodmanEngine = {}): PodmanEngine {
    if (where instanceof PodmanEngine) return where;
    return new PodmanEngine(podman ?? "podman", resolvePodmanEndpoint({ ...where, podman: podman ?? "podman" }));
  }

  get remote(): boolean {
    return this.endpoint.locality === "remote";
  }

  /** The argv of `podman <args>` on this engine. */
  async argv(args: readonly string[]): Promise<string[]> {
    return [this.podman, ...(await this.flags()), ...args];
  }

  /** The global flags naming the engine (opening the forwarded socket the first time). */
  flags(): Promise<string[]> {
    const { url, ssh } = this.endpoint;
    if (!ssh) return Promise.resolve(url ? ["--url", url] : []);
    this.#flags ??= ssh.connection.forwardSocket(ssh.socket).then(
      (forward) => {
        this.#forward = forward;
        return ["--url", `unix://${forward.path}`];
      },
      (error: unknown) => {
        this.#flags = undefined;
        throw error;
      },
    );
    return this.#flags;
  }

  /** The podman client's own env: the engine client needs the host's (XDG_RUNTIME_DIR, HOME, CONTAINERS_CONF…), less what would point it elsewhere; the container never sees it. */
  env(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^CONTAINER_(HOST|CONNECTION|SSHKEY|PASSPHRASE)$/.test(key)) env[key] = value;
    return env;
  }

  /** Closes the forwarded socket and the ssh connection. */
  async close(): Promise<void> {
    await this.#forward?.close();
    this.#forward = undefined;
    this.#flags = undefined;
    this.endpoint.ssh?.connection.end();
  }
}
