import type { NetworkPolicy, ResourceLimits } from "@corral/core";
import { inert } from "@corral/core/plugin-kit";
import type { CorralConfig } from "./config.js";
import type { CorralRunOptions } from "./run.js";

/** The settings of the first run a resumed run (or `corral shell`) keeps: each one only where it is no wider. */
export interface RecordedSafety {
  /** Options to add under the caller's: the first run's network, credentials, workspace and limits that are kept. */
  options: Pick<CorralRunOptions, "network" | "credentials" | "workspace" | "limits">;
  /** What was not kept because it was wider than this run would get, said before the run starts. */
  warnings: string[];
}

const LIMIT_KEYS = ["memoryMb", "pids", "cpuPercent", "wallSeconds"] as const satisfies readonly (keyof ResourceLimits)[];

/**
 * What a run that continues another keeps of the first run's network policy, credentials mode, workspace mode and
 * resource limits, as its journal recorded them (its `--network`, `--allow-domain`, `--credentials`, `--workspace`,
 * `--memory`… flags included). The journal may sit where an agent wrote (an in-place run's checkout), so a recorded
 * setting is kept only where it is at most as wide as what the caller's flags and the config give this run: a
 * narrower network (`none`, or an allowlist within this run's), the gateway, a copied workspace, a lower limit. A
 * wider one (a domain the first run's flags allowed) is not taken from the journal: the run gets the config's, and a
 * warning says how to ask for it again. What the caller passes always wins.
 */
export function recordedSafety(recorded: Record<string, unknown>, config: CorralConfig, caller: CorralRunOptions): RecordedSafety {
  const options: RecordedSafety["options"] = {};
  const warnings: string[] = [];
  if (caller.network === undefined && recorded.network !== undefined) {
    const configured = (config.network as NetworkPolicy | undefined) ?? { allow: [] };
    if (isPolicy(recorded.network) && within(recorded.network, configured)) {
      if (JSON.stringify(recorded.network) !== JSON.stringify(config.network)) options.network = recorded.network;
    } else {
      warnings.push(
        `The run being continued had a wider network than this one gets (${describePolicy(recorded.network)}); a resumed run never takes a wider one from the journal, so it gets ${config.network ? "the config's" : "the default"}. Pass --network or --allow-domain to widen it again.`,
      );
    }
  }
  if (caller.credentials === undefined && recorded.credentials === "gateway") options.credentials = "gateway";
  if (caller.workspace === undefined && recorded.workspace === "copy") options.workspace = "copy";
  const limits = recorded.limits && typeof recorded.limits === "object" ? (recorded.limits as Record<string, unknown>) : {};
  const kept: ResourceLimits = {};
  for (const key of LIMIT_KEYS) {
    const value = limits[key];
    const current = caller.limits?.[key] ?? config.limits?.[key];
    if (caller.limits?.[key] === undefined && typeof value === "number" && Number.isFinite(value) && value > 0 && (current === undefined || value < current)) kept[key] = value;
  }
  if (Object.keys(kept).length) options.limits = { ...caller.limits, ...kept };
  return { options, warnings };
}

/** A network policy's shape, as data from the journal: "none", "host", or an allowlist of strings. */
function isPolicy(value: unknown): value is NetworkPolicy {
  if (value === "none" || value === "host") return true;
  if (!value || typeof value !== "object") return false;
  const { allow, deny, hosts } = value as Record<string, unknown>;
  const strings = (list: unknown) => Array.isArray(list) && list.every((item) => typeof item === "string");
  return strings(allow) && (deny === undefined || strings(deny)) && (hosts === undefined || (typeof hosts === "object" && hosts !== null && Object.values(hosts).every((v) => typeof v === "string")));
}

/** Whether everything `policy` lets through, `outer` lets through too (by the rules as written). */
export function within(policy: NetworkPolicy, outer: NetworkPolicy): boolean {
  if (policy === "none" || outer === "host") return true;
  if (policy === "host" || outer === "none") return false;
  const allowed = new Set(outer.allow);
  const denied = new Set(policy.deny ?? []);
  const pinned = outer.hosts ?? {};
  return (
    policy.allow.every((rule) => allowed.has(rule)) &&
    (outer.deny ?? []).every((rule) => denied.has(rule)) &&
    // A pinned address the outer policy does not pin sends an allowed name elsewhere.
    Object.entries(policy.hosts ?? {}).every(([name, address]) => pinned[name] === address)
  );
}

function describePolicy(policy: unknown): string {
  // Journal data, shown inert and short.
  if (typeof policy === "string") return `"${inert(policy.slice(0, 40))}"`;
  const allow = isPolicy(policy) && typeof policy === "object" ? policy.allow : [];
  return allow.length ? `allowing ${allow.slice(0, 5).map((rule) => inert(rule.slice(0, 80))).join(", ")}${allow.length > 5 ? ", …" : ""}` : "a policy corral could not read";
}
