import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MissingCredentialsError, type AgentApi, type AgentSetupInput } from "@corral/core";
import { apiHostRule } from "@corral/core/plugin-kit";
import { OPENAI_BASE_URL, type PiOptions } from "./options.js";

/** The provider name corral writes into the per-run models.json (`--provider corral`). */
export const PROVIDER_ID = "corral";

/**
 * Env that keeps pi quiet unattended: no startup network operations (`PI_OFFLINE`: version check,
 * package updates, fd/rg downloads), no install telemetry, no version check. A value the run sets wins.
 */
const UNATTENDED_ENV: Record<string, string> = {
  PI_OFFLINE: "1",
  PI_TELEMETRY: "0",
  PI_SKIP_VERSION_CHECK: "1",
};

/**
 * The per-run `models.json`: one provider speaking OpenAI Chat Completions whose `apiKey` names the
 * env var (pi resolves a bare name from the env; the key is never written to a file).
 */
export function piModels(options: PiOptions, baseUrl: string): string {
  const models = { providers: { [PROVIDER_ID]: { baseUrl, api: "openai-completions", apiKey: options.envKey, models: [{ id: options.model }] } } };
  return `${JSON.stringify(models, null, 2)}\n`;
}

/** The API pi talks to: the `baseUrl` option, else OPENAI_BASE_URL, else OpenAI's. */
export function piUpstream(options: PiOptions, env: Record<string, string>): string {
  return options.baseUrl ?? env.OPENAI_BASE_URL ?? OPENAI_BASE_URL;
}

/**
 * Checks the key before anything is spawned, writes models.json (0600) into a pi config folder in
 * the per-run HOME and returns the env every exec gets: PI_CODING_AGENT_DIR names that folder, so
 * pi's settings and sessions (which `--session` resumes) live and die with the run.
 */
export async function piSetup(options: PiOptions, { env, home, apiBaseUrl }: AgentSetupInput): Promise<Record<string, string>> {
  if (!env[options.envKey]) {
    throw new MissingCredentialsError(`The pi agent needs an API key in ${options.envKey}, but it is not set.`, {
      hint: `Export ${options.envKey} before running corral${options.envKey === "OPENAI_API_KEY" ? "" : " (the envKey option names it)"}.`,
    });
  }
  // With the credentials gateway, pi talks to corral's gateway, which holds the key and knows the real API.
  const baseUrl = apiBaseUrl ?? piUpstream(options, env);
  const dir = join(home, ".pi", "agent");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, "models.json"), piModels(options, baseUrl), { mode: 0o600 });
  const extra: Record<string, string> = { PI_CODING_AGENT_DIR: dir };
  for (const [name, value] of Object.entries(UNATTENDED_ENV)) if (env[name] === undefined) extra[name] = value;
  // pi routes every request through undici's EnvHttpProxyAgent, which tunnels even plain HTTP with CONNECT;
  // corral's proxy refuses a CONNECT to its own address, so the gateway on loopback is reached directly.
  if (apiBaseUrl !== undefined && ["127.0.0.1", "localhost", "[::1]"].includes(new URL(apiBaseUrl).hostname)) {
    const host = new URL(apiBaseUrl).hostname;
    const noProxy = [env.NO_PROXY ?? env.no_proxy, host].filter(Boolean).join(",");
    extra.NO_PROXY = extra.no_proxy = noProxy;
  }
  return extra;
}

/** pi's API: the host a network allowlist must let through, and a gateway that keeps its key on the host (a bearer token). */
export function piApi(options: PiOptions, env: Record<string, string>): AgentApi {
  const upstream = piUpstream(options, env);
  return {
    hosts: [apiHostRule(upstream)],
    gateway: { name: "openai", upstream, keyEnv: options.envKey, headers: (key: string) => ({ authorization: `Bearer ${key}` }) },
  };
}
