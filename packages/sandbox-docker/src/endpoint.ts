import { SandboxUnavailableError } from "@corral/core";
import { createHash } from "node:crypto";
import { engineTrustError as trustError, sshConnectConfig, sshTrustFailure } from "@corral/container";
import { existsSync, readFileSync } from "node:fs";
import { Agent as HttpsAgent } from "node:https";
import { homedir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { SshDockerAgent } from "./ssh.js";

/** Where the docker engine is, as the plugin's options may name it (each overrides the environment). */
export interface DockerEndpointOptions {
  /** `unix:///path`, `tcp://host:port` or `ssh://user@host[:port]` (as DOCKER_HOST). */
  host?: string | undefined;
  /** A docker context's name (as DOCKER_CONTEXT / `docker context use`). */
  context?: string | undefined;
  /** Verify the engine's TLS certificate and present a client certificate (as DOCKER_TLS_VERIFY). */
  tlsVerify?: boolean | undefined;
  /** The folder holding ca.pem, cert.pem and key.pem (as DOCKER_CERT_PATH; default ~/.docker). */
  certPath?: string | undefined;
  /** For ssh://: the private key file (default: the ssh agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa). */
  sshIdentity?: string | undefined;
  /** For ssh://: the known_hosts file the engine's host key must be in (default ~/.ssh/known_hosts). */
  sshKnownHosts?: string | undefined;
}

/** The engine corral talks to, resolved once: dockerode's connection options and whether it is this machine's. */
export interface DockerEndpoint {
  /** For messages: `unix:///var/run/docker.sock`, `tcp://10.0.0.2:2376 (TLS)`, `ssh://root@host`. */
  display: string;
  /** Which setting named it. */
  source: string;
  /** `local`: a unix socket here, so host paths can be mounted; `remote`: another machine's engine. */
  locality: "local" | "remote";
  /** dockerode's options (no timeouts). */
  connection: Docker.DockerOptions;
}

type Env = Record<string, string | undefined>;

const TRUST_HINT_TLS =
  "Point DOCKER_CERT_PATH (or the plugin's certPath) at the folder with the engine's CA (ca.pem) and your client certificate (cert.pem, key.pem), as `docker --tlsverify` uses them.";

/** The error for an endpoint corral will not talk to: unverifiable, unencrypted, or refusing corral's credentials. */
const engineTrustError = (reason: string, hint: string, cause?: unknown) => trustError("docker", reason, hint, cause);

/**
 * Resolves the engine as the docker CLI does: the plugin's `host`, then its `context`, then
 * DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), then DOCKER_CONTEXT, then the current
 * context of ~/.docker/config.json, then the local socket. A tcp endpoint off this machine must use
 * TLS (the engine's API is root on that host, and execs carry the agent's credentials); an ssh
 * endpoint's host key must be in known_hosts. Throws `E_SANDBOX_ENGINE_TRUST` otherwise.
 */
export function resolveDockerEndpoint(options: DockerEndpointOptions = {}, env: Env = process.env, home: string = homedir()): DockerEndpoint {
  const configDir = env.DOCKER_CONFIG || join(home, ".docker");
  if (options.host) return fromHost(options.host, "the plugin's host option", { tlsVerify: options.tlsVerify ?? truthy(env.DOCKER_TLS_VERIFY), certPath: options.certPath ?? env.DOCKER_CERT_PATH ?? configDir }, options, env, home);
  if (options.context) return fromContext(options.context, `the plugin's context option`, configDir, options, env, home);
  if (env.DOCKER_HOST) return fromHost(env.DOCKER_HOST, "DOCKER_HOST", { tlsVerify: options.tlsVerify ?? truthy(env.DOCKER_TLS_VERIFY), certPath: options.certPath ?? env.DOCKER_CERT_PATH ?? configDir }, options, env, home);
  if (env.DOCKER_CONTEXT) return fromContext(env.DOCKER_CONTEXT, "DOCKER_CONTEXT", configDir, options, env, home);
  const current = currentContext(configDir);
  if (current) return fromContext(current, `the current docker context (${join(configDir, "config.json")})`, configDir, options, env, home);
  return { display: "unix:///var/run/docker.sock", source: "default", locality: "local", connection: { socketPath: "/var/run/docker.sock" } };
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}

function currentContext(configDir: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(configDir, "config.json"), "utf8")) as { currentContext?: unknown };
    return typeof config.currentContext === "string" && config.currentContext !== "default" ? config.currentContext : undefined;
  } catch {
    return undefined;
  }
}

/** A context from the store: `contexts/meta/<sha256(name)>/meta.json`, TLS files under `contexts/tls/<sha256(name)>/docker/`. */
function fromContext(name: string, source: string, configDir: string, options: DockerEndpointOptions, env: Env, home: string): DockerEndpoint {
  if (name === "default") return { display: "unix:///var/run/docker.sock", source, locality: "local", connection: { socketPath: "/var/run/docker.sock" } };
  const id = createHash("sha256").update(name).digest("hex");
  const metaFile = join(configDir, "contexts", "meta", id, "meta.json");
  let host: unknown;
  let skipTls = false;
  try {
    const meta = JSON.parse(readFileSync(metaFile, "utf8")) as { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } };
    host = meta.Endpoints?.docker?.Host;
    skipTls = meta.Endpoints?.docker?.SkipTLSVerify === true;
  } catch (error) {
    throw new SandboxUnavailableError("docker", `the docker context ${JSON.stringify(name)} (from ${source}) is not in ${join(configDir, "contexts")}.`, { hint: "List them with docker context ls; create one with docker context create.", cause: error });
  }
  if (typeof host !== "string" || !host) throw new SandboxUnavailableError("docker", `the docker context ${JSON.stringify(name)} names no docker endpoint.`, { hint: "Recreate it: docker context create NAME --docker host=…" });
  const tlsDir = join(configDir, "contexts", "tls", id, "docker");
  const hasTls = existsSync(join(tlsDir, "ca.pem"));
  if (skipTls) throw engineTrustError(`the docker context ${JSON.stringify(name)} skips TLS verification, so corral cannot know it talks to the right engine.`, "Recreate the context with the engine's CA: docker context create NAME --docker host=…,ca=…,cert=…,key=…");
  return fromHost(host, `${source}: context ${name}`, { tlsVerify: hasTls || (options.tlsVerify ?? false), certPath: hasTls ? tlsDir : (options.certPath ?? configDir) }, options, env, home);
}

function fromHost(raw: string, source: string, tls: { tlsVerify: boolean; certPath: string }, options: DockerEndpointOptions, env: Env, home: string): DockerEndpoint {
  if (raw.startsWith("unix://")) {
    const socketPath = raw.slice("unix://".length) || "/var/run/docker.sock";
    return { display: `unix://${socketPath}`, source, locality: "local", connection: { socketPath } };
  }
  let url: URL;
  try {
    url = new URL(raw.includes("//") ? raw : `tcp://${raw}`);
  } catch (error) {
    throw new SandboxUnavailableError("docker", `${source} is not an engine address: ${JSON.stringify(raw)}.`, { hint: "Use unix:///var/run/docker.sock, tcp://HOST:2376 (with TLS) or ssh://USER@HOST.", cause: error });
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  if (url.protocol === "ssh:") {
    const { config, display } = sshConnectConfig("docker", url, source, options, env, home);
    // HTTP over our ssh agent (ssh.ts): one ssh connection, a dial-stdio channel per HTTP connection.
    return { display, source, locality: "remote", connection: { protocol: "http", host: config.host!, port: config.port!, agent: new SshDockerAgent(config) } as Docker.DockerOptions };
  }
  if (url.protocol !== "tcp:" && url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SandboxUnavailableError("docker", `${source} has an address corral cannot use: ${JSON.stringify(raw)}.`, { hint: "Use unix://, tcp:// (with TLS) or ssh://." });
  }
  const port = Number(url.port || (tls.tlsVerify ? 2376 : 2375));
  const loopback = hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
  const locality = loopback ? "local" : "remote";
  if (!tls.tlsVerify) {
    if (!loopback) {
      throw engineTrustError(
        `${source} names ${raw} without TLS: anyone on that network could take the engine's place, and every command corral sends (with the agent's credentials) would cross it in the clear.`,
        `Set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH (or the plugin's tlsVerify and certPath), or reach the engine over ssh://. ${TRUST_HINT_TLS}`,
      );
    }
    return { display: `tcp://${hostname}:${port}`, source, locality, connection: { protocol: "http", host: hostname, port } };
  }
  const files = { ca: join(tls.certPath, "ca.pem"), cert: join(tls.certPath, "cert.pem"), key: join(tls.certPath, "key.pem") };
  const missing = Object.entries(files).filter(([, file]) => !existsSync(file));
  if (missing.length) {
    throw engineTrustError(`TLS to ${raw} needs ${missing.map(([, file]) => file).join(", ")}, which ${missing.length === 1 ? "is" : "are"} missing.`, TRUST_HINT_TLS);
  }
  const material = { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) };
  return {
    display: `tcp://${hostname}:${port} (TLS)`,
    source,
    locality,
    // One TLS session kept alive across API calls (a handshake per call doubled an exec's cost).
    connection: { protocol: "https", host: hostname, port, ...material, agent: new HttpsAgent({ keepAlive: true, ...material }) } as Docker.DockerOptions,
  };
}

/** What a TLS or ssh failure of a remote engine means, for the error's reason and hint; undefined for other failures. */
export function trustFailure(endpoint: DockerEndpoint, error: unknown): { reason: string; hint: string } | undefined {
  const code = String((error as { code?: unknown })?.code ?? "");
  const message = String((error as Error)?.message ?? error);
  const tls = endpoint.display.endsWith("(TLS)");
  // The engine's alert (it refused our certificate) before our own verdict on its certificate.
  if (tls && (/ALERT/.test(code) || /alert|certificate required/i.test(message) || code === "ECONNRESET")) {
    return { reason: `the engine at ${endpoint.display} refused corral's client certificate (${message.trim()}).`, hint: `The engine accepts only client certificates its CA signed. ${TRUST_HINT_TLS}` };
  }
  if (tls && (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|DEPTH_ZERO/.test(code) || /certificate|self.signed|unable to verify/i.test(message))) {
    return { reason: `the engine at ${endpoint.display} showed a certificate corral's CA does not vouch for (${message.trim()}).`, hint: `Someone may be in between, or the CA is the wrong one. ${TRUST_HINT_TLS}` };
  }
  return sshTrustFailure(endpoint.display, error);
}
