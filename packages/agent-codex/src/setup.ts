import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MissingCredentialsError, type AgentApi, type AgentSetupInput } from "@corral/core";
import { apiHostRule } from "@corral/core/plugin-kit";
import { OPENAI_BASE_URL, type CodexOptions } from "./options.js";

/** The provider id corral writes into the per-run config.toml. */
export const PROVIDER_ID = "corral";

/**
 * The per-run `config.toml`: one explicit provider that reads its key from the env (never from a
 * file), and everything that phones home switched off. Without `unbounded_connection_retries =
 * false` an unreachable API is retried forever.
 */
export function codexConfig(options: CodexOptions, baseUrl: string): string {
  const retries = options.maxRetries === undefined ? [] : [`request_max_retries = ${options.maxRetries}`, `stream_max_retries = ${options.maxRetries}`];
  return [
    "# Written by corral for one run; removed with the run's HOME.",
    `model_provider = "${PROVIDER_ID}"`,
    "",
    `[model_providers.${PROVIDER_ID}]`,
    `name = "corral (${tomlEscape(new URL(baseUrl).host)})"`,
    `base_url = ${JSON.stringify(baseUrl)}`,
    `env_key = ${JSON.stringify(options.envKey)}`,
    `wire_api = "responses"`,
    ...retries,
    "",
    "[features]",
    "plugins = false",
    "unbounded_connection_retries = false",
    "",
    "[analytics]",
    "enabled = false",
    "",
    "[otel]",
    `exporter = "none"`,
    `trace_exporter = "none"`,
    "",
  ].join("\n");
}

/**
 * Checks the key before anything is spawned, writes CODEX_HOME/config.toml (0600) into the
 * per-run HOME and returns the env every exec gets. TMPDIR moves inside the HOME too: codex
 * refuses to set up its helpers when CODEX_HOME lies under TMPDIR (as /tmp/corral-home-… would).
 */
export async function codexSetup(options: CodexOptions, { env, home, apiBaseUrl }: AgentSetupInput): Promise<Record<string, string>> {
  if (!env[options.envKey]) {
    throw new MissingCredentialsError(`The codex agent needs an API key in ${options.envKey}, but it is not set.`, {
      hint: `Export ${options.envKey} before running corral${options.envKey === "OPENAI_API_KEY" ? "" : " (the envKey option names it)"}.`,
    });
  }
  // With the credentials gateway, codex talks to corral's gateway, which holds the key and knows the real API.
  const baseUrl = apiBaseUrl ?? codexUpstream(options, env);
  const codexHome = join(home, ".codex");
  const tmp = join(home, "tmp");
  await mkdir(codexHome, { recursive: true, mode: 0o700 });
  await mkdir(tmp, { recursive: true, mode: 0o700 });
  await writeFile(join(codexHome, "config.toml"), codexConfig(options, baseUrl), { mode: 0o600 });
  return { CODEX_HOME: codexHome, TMPDIR: tmp };
}

function tomlEscape(text: string): string {
  return text.replace(/["\\]/g, "");
}

/** The API codex talks to: the `baseUrl` option, else OPENAI_BASE_URL, else OpenAI's. */
export function codexUpstream(options: CodexOptions, env: Record<string, string>): string {
  return options.baseUrl ?? env.OPENAI_BASE_URL ?? OPENAI_BASE_URL;
}

/** Codex's API: the host a network allowlist must let through, and a gateway that keeps its key on the host (a bearer token). */
export function codexApi(options: CodexOptions, env: Record<string, string>): AgentApi {
  const upstream = codexUpstream(options, env);
  return {
    hosts: [apiHostRule(upstream)],
    gateway: { name: "openai", upstream, keyEnv: options.envKey, headers: (key: string) => ({ authorization: `Bearer ${key}` }) },
  };
}
