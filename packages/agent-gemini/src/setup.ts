import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MissingCredentialsError, type AgentApi, type AgentSetupInput } from "@corral/core";
import { apiHostRule } from "@corral/core/plugin-kit";
import { GEMINI_BASE_URL, type GeminiOptions } from "./options.js";

/**
 * The per-run `~/.gemini/settings.json`: the API-key auth chosen explicitly (with a base URL set,
 * Gemini CLI would otherwise pick its "gateway" auth, which headless mode refuses), and everything
 * that phones home or waits for a person switched off.
 */
export function geminiSettings(): string {
  return `${JSON.stringify(
    {
      security: { auth: { selectedType: "gemini-api-key" } },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      ide: { enabled: false },
    },
    null,
    2,
  )}\n`;
}

/**
 * Checks the key before anything is spawned, writes ~/.gemini/settings.json (0600) into the
 * per-run HOME and returns the env every exec gets: where the API is, and no relaunch (Gemini CLI
 * otherwise restarts itself in a second Node process to raise its heap limit).
 */
export async function geminiSetup(options: GeminiOptions, { env, home, apiBaseUrl }: AgentSetupInput): Promise<Record<string, string>> {
  if (!env[options.envKey]) {
    throw new MissingCredentialsError(`The gemini agent needs an API key in ${options.envKey}, but it is not set.`, {
      hint: `Export ${options.envKey} before running corral${options.envKey === "GEMINI_API_KEY" ? "" : " (the envKey option names it)"}.`,
    });
  }
  const dir = join(home, ".gemini");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, "settings.json"), geminiSettings(), { mode: 0o600 });
  return {
    ...(await identityEnv(home)),
    // With the credentials gateway, Gemini CLI talks to corral's gateway, which holds the key and knows the real API.
    GOOGLE_GEMINI_BASE_URL: apiBaseUrl ?? geminiUpstream(options, env),
    ...(options.envKey === "GEMINI_API_KEY" ? {} : { GEMINI_API_KEY: env[options.envKey]! }),
    // Gemini CLI tunnels even a 127.0.0.1 URL through the proxy (CONNECT), which the proxy refuses for
    // its own address: the gateway, on the sandbox's loopback, is reached directly.
    ...(apiBaseUrl ? { NO_PROXY: "localhost,127.0.0.1", no_proxy: "localhost,127.0.0.1" } : {}),
    GEMINI_CLI_NO_RELAUNCH: "true",
    NO_COLOR: "1",
  };
}

/**
 * Gemini CLI runs its shell commands with `GIT_CONFIG_GLOBAL=/dev/null`, so the identity corral
 * writes into the run's ~/.gitconfig is not seen there and `git commit` fails ("Author identity
 * unknown"). The same identity goes in as GIT_AUTHOR_* / GIT_COMMITTER_*, which that shell keeps.
 * The file is corral's own (written before the agent ever ran), in the format core writes.
 */
export async function identityEnv(home: string): Promise<Record<string, string>> {
  const text = await readFile(join(home, ".gitconfig"), "utf8").catch(() => "");
  const value = (key: string) => new RegExp(`^\\t${key} = "((?:[^"\\\\]|\\\\.)*)"$`, "m").exec(text)?.[1]?.replace(/\\(.)/g, "$1");
  const name = value("name");
  const email = value("email");
  if (!name || !email) return {};
  return { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email };
}

/** The API Gemini CLI talks to: the `baseUrl` option, else GOOGLE_GEMINI_BASE_URL, else Google's. */
export function geminiUpstream(options: GeminiOptions, env: Record<string, string>): string {
  return options.baseUrl ?? env.GOOGLE_GEMINI_BASE_URL ?? GEMINI_BASE_URL;
}

/** Gemini's API: the host a network allowlist must let through, and a gateway that keeps its key on the host (`x-goog-api-key`). */
export function geminiApi(options: GeminiOptions, env: Record<string, string>): AgentApi {
  const upstream = geminiUpstream(options, env);
  return {
    hosts: [apiHostRule(upstream)],
    gateway: { name: "gemini", upstream, keyEnv: options.envKey, headers: (key: string) => ({ "x-goog-api-key": key }) },
  };
}
