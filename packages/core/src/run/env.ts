import type { Agent } from "../agent.js";
import type { Redactor } from "../redact.js";

/** The PATH a run uses when neither its env nor the host's names one. */
export const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * The env for the sandbox: basics, the variables the agent declares (read from the host env),
 * then the run's explicit env. The host env is never passed whole. Secret values join the redactor.
 */
export function buildEnv(options: { env?: Record<string, string>; secretEnv?: string[] }, agent: Agent, hostEnv: Record<string, string | undefined>, redactor: Redactor): Record<string, string> {
  const env: Record<string, string> = {
    PATH: hostEnv.PATH ?? DEFAULT_PATH,
    LANG: hostEnv.LANG ?? "C.UTF-8",
    TERM: "dumb",
    NO_COLOR: "1",
  };
  const declared = [...(agent.env?.credentials ?? []), ...(agent.env?.passthrough ?? [])];
  for (const name of declared) {
    const value = hostEnv[name];
    if (value !== undefined && value !== "") env[name] = value;
  }
  Object.assign(env, options.env ?? {});
  const secretNames = new Set([...(agent.env?.credentials ?? []), ...(options.secretEnv ?? [])]);
  redactor.addSecrets([...secretNames].map((name) => env[name]));
  return env;
}

/** The host env for host-side hooks: the user's own commands on the user's own machine. */
export function definedEnv(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
