import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MissingCredentialsError, type AgentApi, type AgentSetupInput } from "@corral/core";
import { apiHostRule } from "@corral/core/plugin-kit";
import type { ClaudeOptions } from "./options.js";

/** Env vars Claude Code authenticates with; any one is enough. Their values are redacted everywhere. */
export const CLAUDE_CREDENTIALS = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"] as const;

/** Not secret, taken from the host env when set: a gateway or proxy in front of the API. */
export const CLAUDE_PASSTHROUGH = ["ANTHROPIC_BASE_URL"] as const;

/**
 * Env that makes Claude Code fit for unattended runs: no telemetry, error reports or
 * auto-update (they reach for the network and can stall a run). A value the run sets wins.
 */
const UNATTENDED_ENV: Record<string, string> = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  DISABLE_TELEMETRY: "1",
  DISABLE_ERROR_REPORTING: "1",
  DISABLE_AUTOUPDATER: "1",
};

/** Checks credentials before anything is spawned and returns the env every exec gets. */
export function claudeSetup(options: ClaudeOptions, { env, home }: AgentSetupInput): Record<string, string> {
  if (!CLAUDE_CREDENTIALS.some((name) => env[name])) {
    throw new MissingCredentialsError(`The claude agent needs credentials, but none of ${CLAUDE_CREDENTIALS.join(", ")} is set.`, {
      hint: "Export ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN, or CLAUDE_CODE_OAUTH_TOKEN from `claude setup-token`) before running corral.",
    });
  }
  const extra: Record<string, string> = {};
  for (const [name, value] of Object.entries(UNATTENDED_ENV)) if (env[name] === undefined) extra[name] = value;
  // Claude Code refuses bypass mode as root unless told it is sandboxed; corral's sandbox is that sandbox.
  if (options.permissionMode === "bypassPermissions" && env.IS_SANDBOX === undefined) extra.IS_SANDBOX = "1";
  if (options.maxRetries !== undefined) extra.CLAUDE_CODE_MAX_RETRIES = String(options.maxRetries);
  markOnboarded(home);
  return extra;
}

/**
 * Claude Code's TUI (`corral run --interactive`) starts with first-run dialogs in a new HOME, and
 * its onboarding check calls api.anthropic.com, which an allowlist refuses: the per-run HOME says
 * onboarding is done, as a user's own ~/.claude.json would. Created only where none is (O_EXCL, so
 * never through a link); print mode does not read it. Best effort: only the TUI's dialogs depend on it.
 */
function markOnboarded(home: string): void {
  try {
    writeFileSync(join(home, ".claude.json"), `${JSON.stringify({ hasCompletedOnboarding: true })}\n`, { flag: "wx", mode: 0o600 });
  } catch {
    // A HOME that already has one (a resumed session's), or none to write to: nothing to do.
  }
}

/** Where Claude Code sends its requests when ANTHROPIC_BASE_URL does not say otherwise. */
export const ANTHROPIC_API = "https://api.anthropic.com";

/**
 * Claude Code's API: the host a network allowlist must let through, and, for an API key or auth
 * token (not an OAuth login), a gateway that keeps it on the host (`x-api-key`, or a bearer token).
 */
export function claudeApi(env: Record<string, string>): AgentApi {
  const upstream = env.ANTHROPIC_BASE_URL || ANTHROPIC_API;
  const keyEnv = env.ANTHROPIC_API_KEY ? "ANTHROPIC_API_KEY" : env.ANTHROPIC_AUTH_TOKEN ? "ANTHROPIC_AUTH_TOKEN" : undefined;
  return {
    hosts: [apiHostRule(upstream)],
    ...(keyEnv
      ? {
          gateway: {
            name: "anthropic",
            upstream,
            keyEnv,
            baseUrlEnv: "ANTHROPIC_BASE_URL",
            headers: (key: string): Record<string, string> => (keyEnv === "ANTHROPIC_API_KEY" ? { "x-api-key": key } : { authorization: `Bearer ${key}` }),
          },
        }
      : {}),
  };
}
