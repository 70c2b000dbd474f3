import { join } from "node:path";
import { rm } from "node:fs/promises";
import type { Agent } from "../agent.js";
import { SandboxUnavailableError, UsageError } from "../errors.js";
import type { RunEventBody } from "../events.js";
import { parsePolicy, parseRule, ruleFor, type NetworkPolicy, type ParsedPolicy } from "../network/policy.js";
import { EgressProxy, GATEWAY_PREFIX, type Gateway } from "../network/proxy.js";
import { isolatesFilesystem, type Sandbox, type SandboxNetwork, type SandboxNetworkMode } from "../sandbox.js";
import { runTempDir } from "../temp.js";

/** The loopback ports inside a sandbox that lead to the egress proxy (HTTP and SOCKS5). */
export const PROXY_PORTS = { http: 3128, socks: 1080 } as const;
/** What the sandbox's key variable holds while the gateway keeps the real key on the host. */
export const GATEWAY_PLACEHOLDER = "corral-gateway-holds-the-key";

export interface RunNetwork {
  /** What the sandbox is asked for. */
  spec: SandboxNetwork;
  /** Env the sandbox gets on top of the run's (proxy variables; the gateway's URL and placeholder). */
  env: Record<string, string>;
  /** The base URL the agent must use when the gateway holds its key. */
  apiBaseUrl?: string;
  /** Credential variables the sandbox must not get at all (the gateway holds the key). */
  unset: string[];
  /** The allowlist in force (the run's rules plus the agent's API), for the journal. */
  rules?: string[];
  close(): Promise<void>;
}

/**
 * The network phase: checks that the sandbox can enforce the policy (fail closed), and for an
 * allowlist starts the run's egress proxy on a private unix socket — the sandbox's only way out —
 * with the agent's API added to the rules and, with `credentials: "gateway"`, the API key kept on
 * the host. Every connection becomes a `network.allowed` / `network.denied` event.
 */
export async function startNetwork(input: {
  /** Undefined: the default, an allowlist of the agent's API where the sandbox enforces one (see defaultPolicy). */
  policy: NetworkPolicy | undefined;
  credentials: "env" | "gateway";
  sandbox: Sandbox;
  agent: Agent;
  env: Record<string, string>;
  runId: string;
  emit: (body: RunEventBody) => void;
}): Promise<RunNetwork> {
  const policy = input.policy ?? defaultPolicy(input.sandbox, input.emit);
  const parsed = parsePolicy(policy);
  const mode: SandboxNetworkMode = parsed === "none" || parsed === "host" ? parsed : "proxy";
  const capabilities = input.sandbox.capabilities;
  const supported = capabilities?.network ?? ["host", "none"];
  if (!supported.includes(mode)) {
    const why = mode === "proxy" ? capabilities?.proxyUnavailable : undefined;
    throw new SandboxUnavailableError(input.sandbox.name, `it cannot enforce the network ${mode === "proxy" ? "allowlist" : `policy "${mode}"`} ${why ? `here: ${why.reason}` : `(it supports: ${supported.join(", ")})`}.`, {
      hint: why ? `${why.hint}; or pass --network host or none.` : mode === "proxy" ? "Use a sandbox that can (bwrap, docker, podman), or pass --network host or none." : "Choose a network policy it supports.",
    });
  }
  if (input.credentials === "gateway" && mode !== "proxy") {
    throw new UsageError(`credentials: "gateway" keeps the API key on the host and needs a network allowlist, but the network is "${mode}".`, {
      code: "E_NETWORK_POLICY",
      hint: "Drop --network host/none, or drop --credentials gateway.",
    });
  }
  if (parsed === "none" || parsed === "host") return { spec: parsed, env: {}, unset: [], close: async () => {} };

  const api = input.agent.api?.(input.env);
  const gateway = input.credentials === "gateway" ? api?.gateway : undefined;
  if (input.credentials === "gateway" && !gateway) {
    throw new UsageError(`The ${input.agent.name} agent cannot keep its key on the host (it declares no credentials gateway).`, {
      code: "E_NETWORK_POLICY",
      hint: "Drop --credentials gateway for this agent.",
    });
  }
  // With the gateway the sandbox never talks to the API itself; otherwise it must reach it.
  const agentRules = gateway ? [] : (api?.hosts ?? []);
  const rules: ParsedPolicy = { allow: [...parsed.allow, ...agentRules.map((rule) => parseRule(rule, "allow"))], deny: parsed.deny };
  const dir = await runTempDir("egress", input.runId);
  const socket = join(dir, "proxy.sock");
  const gateways: Record<string, Gateway> = {};
  const env: Record<string, string> = {};
  const unset: string[] = [];
  let apiBaseUrl: string | undefined;
  if (gateway) {
    const key = input.env[gateway.keyEnv];
    if (!key) {
      throw new UsageError(`credentials: "gateway" needs the key in ${gateway.keyEnv} on the host, but it is not set.`, { code: "E_MISSING_CREDENTIALS", hint: `Export ${gateway.keyEnv} before running corral.` });
    }
    gateways[gateway.name] = { upstream: gateway.upstream, headers: gateway.headers(key) };
    unset.push(...(input.agent.env?.credentials ?? []));
    apiBaseUrl = `http://127.0.0.1:${PROXY_PORTS.http}${GATEWAY_PREFIX}${gateway.name}`;
    env[gateway.keyEnv] = GATEWAY_PLACEHOLDER;
    if (gateway.baseUrlEnv) env[gateway.baseUrlEnv] = apiBaseUrl;
  }
  const proxy = await EgressProxy.start(socket, {
    policy: rules,
    gateways,
    selfPorts: [PROXY_PORTS.http],
    ...(typeof policy === "object" && policy.hosts ? { hosts: lowerKeys(policy.hosts) } : {}),
    onRecord: (record) =>
      input.emit(
        record.allowed
          ? { type: "network.allowed", host: record.host, port: record.port, protocol: record.protocol, ...(record.rule ? { rule: record.rule } : {}), bytesOut: record.bytesOut, bytesIn: record.bytesIn, ...(record.error ? { error: record.error } : {}) }
          : { type: "network.denied", host: record.host, port: record.port, protocol: record.protocol, ...(record.rule ? { rule: record.rule } : {}), reason: record.reason, ...(record.allowWith ? { allowWith: record.allowWith } : {}) },
      ),
  }).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  // Tools that honour the usual proxy variables work unchanged; `localhost` stays inside the sandbox.
  const http = `http://127.0.0.1:${PROXY_PORTS.http}`;
  const socks = `socks5h://127.0.0.1:${PROXY_PORTS.socks}`;
  Object.assign(env, { HTTP_PROXY: http, HTTPS_PROXY: http, ALL_PROXY: socks, http_proxy: http, https_proxy: http, all_proxy: socks, NO_PROXY: "localhost", no_proxy: "localhost" });
  return {
    spec: { mode: "proxy", socket, ports: { ...PROXY_PORTS } },
    env,
    ...(apiBaseUrl ? { apiBaseUrl } : {}),
    unset,
    rules: rules.allow.map((rule) => rule.text),
    close: async () => {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A run without a network policy gets the tightest one its sandbox enforces here: an allowlist of
 * the agent's API alone. A sandbox that cannot (a third party's without the proxy, docker without
 * root, bwrap without socat) keeps the host's network, and the run says so, with the fix. The host
 * sandbox has no boundary to keep: its own warning covers it.
 */
export function defaultPolicy(sandbox: Sandbox, emit: (body: RunEventBody) => void): NetworkPolicy {
  const capabilities = sandbox.capabilities;
  if (capabilities?.network?.includes("proxy")) return { allow: [] };
  if (isolatesFilesystem(sandbox)) {
    const why = capabilities?.proxyUnavailable;
    emit({
      type: "log",
      level: "warn",
      message: `The ${sandbox.name} sandbox cannot restrict the network${why ? ` here (${why.reason})` : ""}: the agent can reach the host's loopback services and the internet. ${why ? `${why.hint}, or pass` : "Pass"} --network none to cut it off.`,
    });
  }
  return "host";
}

/** The allowlist rule for an API base URL (`https://api.anthropic.com` → `api.anthropic.com`). */
export function apiHostRule(baseUrl: string): string {
  const url = new URL(baseUrl);
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  return ruleFor(url.hostname.replace(/^\[(.*)\]$/, "$1"), port);
}

function lowerKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key.toLowerCase(), value]));
}
