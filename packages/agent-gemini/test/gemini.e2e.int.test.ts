import { describeCorralAgentEndToEnd } from "@corral/agent-e2e";
import { gemini } from "../src/index.js";
import { API_KEY, BIN_DIR, PACKAGE_DIR, containerMounts } from "./harness.js";

// The real Gemini CLI through the agent end-to-end kit: host, bwrap, docker, podman and `corral run`.
describeCorralAgentEndToEnd({
  name: "gemini",
  agent: ({ model }) => gemini({ model }),
  modelPrefix: "gemini-e2e",
  credential: { name: "GEMINI_API_KEY", value: API_KEY },
  apiEnv: (api) => ({ GOOGLE_GEMINI_BASE_URL: api.url }),
  sentKey: (request) => request.headers["x-goog-api-key"] as string | undefined,
  conversationText: (request) => JSON.stringify(request.body?.contents),
  cli: { binDir: BIN_DIR, command: "gemini" },
  expects: {
    shellCall: "run_shell_command",
    shellResult: { output: "committed" },
    // Gemini reports no cache writes and no cost.
    usage: (turn) => ({ inputTokens: turn.inputTokens, outputTokens: turn.outputTokens, cacheReadTokens: turn.cacheReadTokens, cacheWriteTokens: 0 }),
    costUsd: false,
    sessionId: /^[0-9a-f-]{36}$/,
    apiErrors: [{ status: 400, message: "API key not valid (mock 400)", contains: "API key not valid (mock 400)" }],
    deniedHosts: [],
  },
  packageDir: PACKAGE_DIR,
  packageName: "@corral/agent-gemini",
  containerBinary: undefined,
  containerMounts: containerMounts(),
  containerUnavailable: "the host's node is not /usr/bin/node (glibc), or Gemini CLI is not installed",
  // Without a model Gemini CLI routes each turn through a classifier request, which it counts too.
  corralArgs: ["--model", "gemini-2.5-pro"],
});
