import type { PluginKind } from "./plugin.js";

/**
 * The first-party plugins: which package provides which name. Data only — core depends on none
 * of them. Used to find installed plugins and to say exactly what to install when one is missing.
 */
export const FIRST_PARTY_PLUGINS: Readonly<Record<PluginKind, Readonly<Record<string, string>>>> = {
  agent: { claude: "@corral/agent-claude", codex: "@corral/agent-codex", copilot: "@corral/agent-copilot", gemini: "@corral/agent-gemini", opencode: "@corral/agent-opencode", pi: "@corral/agent-pi" },
  sandbox: { bwrap: "@corral/sandbox-bwrap", podman: "@corral/sandbox-podman", docker: "@corral/sandbox-docker" },
  isolation: { worktree: "@corral/worktree-git" },
};

/** The command that installs a plugin package, for hints. */
export function installCommand(packageName: string): string {
  return `npm install ${packageName}`;
}
