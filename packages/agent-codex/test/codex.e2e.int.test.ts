import { describeCorralAgentEndToEnd } from "@corral/agent-e2e";
import { codex } from "../src/index.js";
import { API_KEY, BIN_DIR, PACKAGE_DIR, nativeCodex } from "./harness.js";

// The real Codex CLI through the agent end-to-end kit: host, bwrap, docker, podman and `corral run`.
describeCorralAgentEndToEnd({
  name: "codex",
  agent: ({ model, api }) => codex({ model, baseUrl: `${api.url}/v1`, maxRetries: 0 }),
  modelPrefix: "gpt-e2e",
  credential: { name: "OPENAI_API_KEY", value: API_KEY },
  apiEnv: () => ({}),
  sentKey: (request) => (request.headers.authorization as string | undefined)?.replace(/^Bearer /, ""),
  conversationText: (request) => JSON.stringify(request.body?.input),
  // The Node wrapper and the native binary it starts.
  cli: { binDir: BIN_DIR, command: "codex", processes: 2 },
  expects: {
    shellCall: "shell",
    shellResult: { output: "committed\n", exitCode: 0 },
    // codex reports the cached part of the input apart, and no cache writes.
    usage: (turn) => ({ inputTokens: turn.inputTokens, outputTokens: turn.outputTokens, cacheReadTokens: turn.cacheReadTokens, cacheWriteTokens: 0 }),
    costUsd: false,
    sessionId: /^\S+$/,
    apiErrors: [
      { status: 400, message: "Invalid model (mock 400)", contains: "Invalid model (mock 400)" },
      // For 5xx codex shows its own text instead of the body; the run still fails with it.
      { status: 500, message: "overloaded (mock)", contains: "high demand" },
    ],
    deniedHosts: [],
  },
  packageDir: PACKAGE_DIR,
  packageName: "@corral/agent-codex",
  containerBinary: nativeCodex(),
  containerUnavailable: "the Codex native binary is not installed (pnpm install, with optional dependencies)",
  corralArgs: ["--model", "gpt-5-codex"],
  corralEnv: (api) => ({ OPENAI_BASE_URL: `${api.url}/v1` }),
});
