import { isIP } from "node:net";
import { UsageError } from "../errors.js";

/**
 * What the sandbox may reach. `none`: nothing. `host`: whatever the host reaches, its loopback
 * included (trusted runs only). An allowlist: only these hosts, through corral's egress proxy —
 * domain names, `*.example.com` wildcards (any subdomain, not the domain itself), IP literals, each
 * with an optional `:port` (without one: ports 80 and 443). `deny` wins over `allow`.
 */
export type NetworkPolicy = "none" | "host" | AllowlistPolicy;

/** Only what the rules allow, through corral's egress proxy (docs/network.md). */
export interface AllowlistPolicy {
  /** Rules that let a destination through: `host`, `*.host`, `host:port`, an IP literal. The agent's API is added. */
  allow: string[];
  /** Rules that win over `allow`. */
  deny?: string[];
  /** Names with fixed addresses, like /etc/hosts for the proxy (an internal host without DNS; a test upstream). */
  hosts?: Record<string, string>;
}

/** One parsed rule, with the text the user wrote (denials name it, and the flag that would allow a host). */
export interface EgressRule {
  /** As written: `api.example.com`, `*.npmjs.org:443`, `10.0.0.5:8080`. */
  text: string;
  /** Lower-case host, without the `*.` of a wildcard. */
  host: string;
  /** Written `*.host`: every subdomain of `host`, not `host` itself. */
  wildcard: boolean;
  /** Undefined: ports 80 and 443. */
  port?: number;
  /** True when `host` is an IP literal (or `localhost`): only this address, never a name resolving to it. */
  literal: boolean;
}

/** An allowlist policy with its rules checked and parsed (`parsePolicy`). */
export interface ParsedPolicy {
  /** Parsed `allow` rules. */
  allow: EgressRule[];
  /** Parsed `deny` rules. */
  deny: EgressRule[];
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
export const DEFAULT_PORTS: readonly number[] = [80, 443];

/** `"none"`, `"host"`, or a validated allowlist; bad entries fail with what to write instead. */
export function parsePolicy(policy: NetworkPolicy): "none" | "host" | ParsedPolicy {
  if (policy === "none" || policy === "host") return policy;
  if (!policy || typeof policy !== "object" || !Array.isArray(policy.allow)) {
    throw new UsageError(`The network policy must be "none", "host" or { allow: [...] }, got ${JSON.stringify(policy)}.`, {
      code: "E_NETWORK_POLICY",
      hint: 'Pass --network none|host, or --allow-domain api.example.com (repeatable).',
    });
  }
  return { allow: policy.allow.map((entry) => parseRule(entry, "allow")), deny: (policy.deny ?? []).map((entry) => parseRule(entry, "deny")) };
}

/** Parses `host[:port]`, `*.domain[:port]`, `[ipv6]:port`. */
export function parseRule(entry: string, field: "allow" | "deny"): EgressRule {
  const fail = (why: string): never => {
    throw new UsageError(`The network ${field} entry ${JSON.stringify(entry)} ${why}.`, {
      code: "E_NETWORK_POLICY",
      hint: "Write a domain (api.example.com), a wildcard for its subdomains (*.example.com), or an IP, each with an optional :port.",
    });
  };
  if (typeof entry !== "string" || !entry.trim()) return fail("is empty");
  const text = entry.trim();
  let host = text.toLowerCase();
  let port: number | undefined;
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(host);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(host) !== 6) {
    const colon = host.lastIndexOf(":");
    if (colon !== -1) {
      const digits = host.slice(colon + 1);
      if (!/^\d+$/.test(digits)) return fail("has a port that is not a number");
      port = Number(digits);
      host = host.slice(0, colon);
    }
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) return fail("has a port outside 1-65535");
  host = host.replace(/\.$/, "");
  const wildcard = host.startsWith("*.");
  if (wildcard) host = host.slice(2);
  const literal = isIP(host) !== 0 || host === "localhost";
  if (literal && wildcard) return fail("puts a wildcard on an address");
  if (!literal) {
    const labels = host.split(".");
    if (labels.length < 2 && !wildcard) {
      if (!LABEL.test(host)) return fail("is not a domain name");
    }
    if (labels.some((label) => !LABEL.test(label))) return fail(host.includes("*") ? "uses * other than as a leading *. label" : "is not a domain name");
  }
  return { text, host, wildcard, ...(port !== undefined ? { port } : {}), literal };
}

/** What the policy says about a connection to `host:port` (host as the client named it). */
export interface Decision {
  allowed: boolean;
  /** The rule that decided (allow or deny), or none when nothing matched. */
  rule?: string;
  /** Why, in words: `denied by "x"`, `no allow rule matches`, … */
  reason: string;
}

/** Decides by the name the client used; a deny rule wins over any allow rule. */
export function decide(policy: ParsedPolicy, host: string, port: number): Decision {
  const name = host.toLowerCase().replace(/\.$/, "").replace(/^\[(.*)\]$/, "$1");
  const denied = policy.deny.find((rule) => matches(rule, name, port));
  if (denied) return { allowed: false, rule: denied.text, reason: `denied by "${denied.text}"` };
  const allowed = policy.allow.find((rule) => matches(rule, name, port));
  if (allowed) return { allowed: true, rule: allowed.text, reason: `allowed by "${allowed.text}"` };
  const byName = policy.allow.find((rule) => matchesHost(rule, name));
  if (byName) return { allowed: false, reason: `"${byName.text}" allows ${byName.port ? `port ${byName.port}` : `ports ${DEFAULT_PORTS.join(" and ")}`} only` };
  return { allowed: false, reason: "no allow rule matches" };
}

function matches(rule: EgressRule, host: string, port: number): boolean {
  if (!matchesHost(rule, host)) return false;
  return rule.port === undefined ? DEFAULT_PORTS.includes(port) : rule.port === port;
}

function matchesHost(rule: EgressRule, host: string): boolean {
  if (rule.wildcard) return host.endsWith(`.${rule.host}`);
  return host === rule.host;
}

/** The rule text that would allow `host:port` (for the hint of a denial). */
export function ruleFor(host: string, port: number): string {
  const name = isIP(host) === 6 ? `[${host}]` : host;
  return DEFAULT_PORTS.includes(port) ? name : `${name}:${port}`;
}
