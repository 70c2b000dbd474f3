import { MissingCredentialsError, type AgentSetupInput } from "@corral/core";
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
export function claudeSetup(options: ClaudeOptions, { env }: AgentSetupInput): Record<string, string> {
  if (!CLAUDE_CREDENTIALS.some((name) => env[name])) {
    throw new MissingCredentialsError(`The claude agent needs credentials, but none of ${CLAUDE_CREDENTIALS.join(", ")} is set.`, {
      hint: "Export ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN, or CLAUDE_CODE_OAUTH_TOKEN from `claude setup-token`) before running corral.",
    });
  }
  const extra: Record<string, string> = {};
  for (const [name, value] of Object.entries(UNATTENDED_ENV)) if (env[name] === undefined) extra[name] = value;
  // Claude Code refuses bypass mode as root unless told it is sandboxed; corral's sandbox is that sandbox.
  if (options.permissionMode === "bypassPermissions" && env.IS_SANDBOX === undefined) extra.IS_SANDBOX = "1";
  return extra;
}
