import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MissingCredentialsError, type AgentApi, type AgentSetupInput } from "@corral/core";
import { apiHostRule } from "@corral/core/plugin-kit";
import { OPENAI_BASE_URL, type OpencodeOptions } from "./options.js";

/** The provider id corral writes into the per-run config; models are named `corral/<model>`. */
export const PROVIDER_ID = "corral";

/**
 * Env that keeps OpenCode quiet unattended: no self-update, no models.dev catalogue download, no
 * LSP server downloads, no external plugins (`OPENCODE_PURE`; a plugin is npm-installed at start).
 * A value the run sets wins.
 */
const UNATTENDED_ENV: Record<string, string> = {
  OPENCODE_DISABLE_AUTOUPDATE: "1",
  OPENCODE_DISABLE_MODELS_FETCH: "1",
  OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
  OPENCODE_PURE: "1",
};

/**
 * The per-run OpenCode config: one explicit OpenAI-compatible provider whose key OpenCode reads
 * from the env (`{env:NAME}`, never written to a file), used for the title model too, with
 * auto-update and sharing off.
 */
export function opencodeConfig(options: OpencodeOptions, baseUrl: string): string {
  const config = {
    $schema: "https://opencode.ai/config.json",
    provider: {
      [PROVIDER_ID]: {
        npm: "@ai-sdk/openai-compatible",
        name: `corral (${new URL(baseUrl).host})`,
        options: { baseURL: baseUrl, apiKey: `{env:${options.envKey}}` },
        models: { [options.model]: { name: options.model } },
      },
    },
    model: `${PROVIDER_ID}/${options.model}`,
    small_model: `${PROVIDER_ID}/${options.model}`,
    autoupdate: false,
    share: "disabled",
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The API OpenCode talks to: the `baseUrl` option, else OPENAI_BASE_URL, else OpenAI's. */
export function opencodeUpstream(options: OpencodeOptions, env: Record<string, string>): string {
  return options.baseUrl ?? env.OPENAI_BASE_URL ?? OPENAI_BASE_URL;
}

/**
 * Checks the key before anything is spawned, writes the config (0600) into the per-run HOME and
 * returns the env every exec gets: OPENCODE_CONFIG names that file, and OpenCode's data (its
 * sessions, which `--session` resumes) stays in the per-run HOME.
 */
export async function opencodeSetup(options: OpencodeOptions, { env, home, apiBaseUrl }: AgentSetupInput): Promise<Record<string, string>> {
  if (!env[options.envKey]) {
    throw new MissingCredentialsError(`The opencode agent needs an API key in ${options.envKey}, but it is not set.`, {
      hint: `Export ${options.envKey} before running corral${options.envKey === "OPENAI_API_KEY" ? "" : " (the envKey option names it)"}.`,
    });
  }
  // With the credentials gateway, OpenCode talks to corral's gateway, which holds the key and knows the real API.
  const baseUrl = apiBaseUrl ?? opencodeUpstream(options, env);
  const dir = join(home, ".config", "opencode");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, "corral.json");
  await writeFile(file, opencodeConfig(options, baseUrl), { mode: 0o600 });
  const extra: Record<string, string> = { OPENCODE_CONFIG: file };
  for (const [name, value] of Object.entries(UNATTENDED_ENV)) if (env[name] === undefined) extra[name] = value;
  return extra;
}

/** OpenCode's API: the host a network allowlist must let through, and a gateway that keeps its key on the host (a bearer token). */
export function opencodeApi(options: OpencodeOptions, env: Record<string, string>): AgentApi {
  const upstream = opencodeUpstream(options, env);
  return {
    hosts: [apiHostRule(upstream)],
    gateway: { name: "openai", upstream, keyEnv: options.envKey, headers: (key: string) => ({ authorization: `Bearer ${key}` }) },
  };
}
