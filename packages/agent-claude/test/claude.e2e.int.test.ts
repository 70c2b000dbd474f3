import { describeCorralAgentEndToEnd } from "@corral/agent-e2e";
import { claude } from "../src/index.js";
import { API_KEY, BIN_DIR, PACKAGE_DIR, nativeClaude } from "./harness.js";

// The real Claude Code CLI through the agent end-to-end kit: host, bwrap, docker, podman and `corral run`.
describeCorralAgentEndToEnd({
  name: "claude",
  agent: ({ model }) => claude({ model }),
  modelPrefix: "claude-e2e",
  credential: { name: "ANTHROPIC_API_KEY", value: API_KEY },
  apiEnv: (api) => ({ ANTHROPIC_BASE_URL: api.url }),
  env: { CLAUDE_CODE_MAX_RETRIES: "0" },
  sentKey: (request) => request.headers["x-api-key"] as string | undefined,
  conversationText: (request) => JSON.stringify(request.body?.messages),
  cli: { binDir: BIN_DIR, command: "claude" },
  expects: {
    shellCall: "Bash",
    shellResult: { output: "committed" },
    usage: (turn) => turn,
    costUsd: true,
    sessionId: /^[0-9a-f-]{36}$/,
    apiErrors: [{ status: 500, message: "Internal server error: overloaded (mock)", contains: "Internal server error: overloaded (mock)" }],
    deniedHosts: [],
  },
  packageDir: PACKAGE_DIR,
  packageName: "@corral/agent-claude",
  containerBinary: nativeClaude(),
  containerUnavailable: "the Claude Code native binary is not installed (pnpm install, with its postinstall)",
});
