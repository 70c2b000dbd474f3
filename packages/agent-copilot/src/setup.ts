import { MissingCredentialsError, type AgentApi, type AgentSetupInput } from "@corral/core";
import { apiHostRule } from "@corral/core/plugin-kit";
import { KEY_ENV, OPENAI_BASE_URL, type CopilotOptions } from "./options.js";

/**
 * What keeps Copilot CLI unattended and quiet, unless the run sets them: offline mode (no GitHub
 * login, telemetry, web tools, GitHub MCP server or update check: Copilot talks to the configured
 * provider only), no auto-update, no desktop notification, no terminal title.
 */
const UNATTENDED_ENV: Record<string, string> = {
  COPILOT_OFFLINE: "true",
  COPILOT_AUTO_UPDATE: "false",
  COPILOT_DISABLE_DESKTOP_NOTIFICATIONS: "1",
  COPILOT_DISABLE_TERMINAL_TITLE: "1",
};

/** The API Copilot CLI talks to: the `baseUrl` option, else COPILOT_PROVIDER_BASE_URL, else OPENAI_BASE_URL (openai only), else OpenAI's. */
export function copilotUpstream(options: CopilotOptions, env: Record<string, string>): string {
  return options.baseUrl ?? env.COPILOT_PROVIDER_BASE_URL ?? (options.provider === "openai" ? env.OPENAI_BASE_URL : undefined) ?? OPENAI_BASE_URL;
}

/**
 * Checks the key before anything is spawned and returns the env every exec gets: Copilot CLI's
 * bring-your-own-key provider (base URL, type, wire API, model) and the quiet env. Nothing is
 * written: Copilot keeps its state in `~/.copilot` of the per-run HOME, so your own is never read.
 */
export function copilotSetup(options: CopilotOptions, { env, apiBaseUrl }: AgentSetupInput): Record<string, string> {
  if (!env[KEY_ENV]) {
    throw new MissingCredentialsError(`The copilot agent needs the provider's API key in ${KEY_ENV}, but it is not set.`, {
      hint: `Export ${KEY_ENV} before running corral (corral runs Copilot CLI with your own provider key, never a GitHub login).`,
    });
  }
  // With the credentials gateway, Copilot talks to corral's gateway, which holds the key and knows the real API.
  const extra: Record<string, string> = {
    COPILOT_PROVIDER_BASE_URL: apiBaseUrl ?? copilotUpstream(options, env),
    COPILOT_PROVIDER_TYPE: options.provider,
    COPILOT_MODEL: options.model,
  };
  if (options.provider === "openai") extra.COPILOT_PROVIDER_WIRE_API = options.wireApi;
  for (const [name, value] of Object.entries(UNATTENDED_ENV)) if (env[name] === undefined) extra[name] = value;
  return extra;
}

/** Copilot CLI's API: the host a network allowlist must let through, and a gateway that keeps its key on the host. */
export function copilotApi(options: CopilotOptions, env: Record<string, string>): AgentApi {
  const upstream = copilotUpstream(options, env);
  const headers =
    options.provider === "anthropic"
      ? (key: string) => ({ "x-api-key": key })
      : options.provider === "azure"
        ? (key: string) => ({ "api-key": key })
        : (key: string) => ({ authorization: `Bearer ${key}` });
  return {
    hosts: [apiHostRule(upstream)],
    gateway: { name: "copilot", upstream, keyEnv: KEY_ENV, baseUrlEnv: "COPILOT_PROVIDER_BASE_URL", headers },
  };
}
