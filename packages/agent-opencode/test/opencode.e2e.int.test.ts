import { describeCorralAgentEndToEnd } from "@corral/agent-e2e";
import { opencode } from "../src/index.js";
import { API_KEY, BIN_DIR, PACKAGE_DIR, nativeOpencode } from "./harness.js";

// The real OpenCode CLI through the agent end-to-end kit: host, bwrap, docker, podman and `corral run`.
describeCorralAgentEndToEnd({
  name: "opencode",
  agent: ({ model, api }) => opencode({ model, baseUrl: `${api.url}/v1` }),
  modelPrefix: "oc-e2e",
  credential: { name: "OPENAI_API_KEY", value: API_KEY },
  apiEnv: () => ({}),
  sentKey: (request) => (request.headers.authorization as string | undefined)?.replace(/^Bearer /, ""),
  conversationText: (request) => JSON.stringify(request.body?.messages),
  // OpenCode prints nothing until its first model step: on a loaded machine that start took 30-50 s.
  cli: { binDir: BIN_DIR, command: "opencode", silentStartSeconds: 60 },
  expects: {
    shellCall: "bash",
    shellResult: { output: "committed\n", exitCode: 0 },
    // Chat completions report the cached part of the prompt apart and no cache writes.
    usage: (turn) => ({ inputTokens: turn.inputTokens, outputTokens: turn.outputTokens, cacheReadTokens: turn.cacheReadTokens, cacheWriteTokens: 0 }),
    // OpenCode prices a model from its catalogue; corral's provider has none, so it reports 0, which is left out.
    costUsd: false,
    sessionId: /^ses_\w+$/,
    // 4xx is not retried; OpenCode retries 5xx with growing waits before it gives up.
    apiErrors: [{ status: 401, message: "Invalid key (mock 401)", contains: "APIError 401: Invalid key (mock 401)" }],
    deniedHosts: ["registry.npmjs.org"],
  },
  packageDir: PACKAGE_DIR,
  packageName: "@corral/agent-opencode",
  containerBinary: nativeOpencode(),
  containerUnavailable: "the OpenCode native binary is not installed (pnpm install, with optional dependencies)",
  corralArgs: ["--model", "gpt-5"],
  corralEnv: (api) => ({ OPENAI_BASE_URL: `${api.url}/v1` }),
});
