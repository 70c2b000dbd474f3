import { describeCorralAgentEndToEnd } from "@corral/agent-e2e";
import { copilot } from "../src/index.js";
import { API_KEY, BIN_DIR, PACKAGE_DIR, containerMounts } from "./harness.js";

const mounts = containerMounts();

// The real GitHub Copilot CLI (bring your own key, offline) through the agent end-to-end kit: host, bwrap, docker, podman and `corral run`.
describeCorralAgentEndToEnd({
  name: "copilot",
  agent: ({ model, api }) => copilot({ model, baseUrl: `${api.url}/v1` }),
  modelPrefix: "cp-e2e",
  credential: { name: "COPILOT_PROVIDER_API_KEY", value: API_KEY },
  apiEnv: () => ({}),
  sentKey: (request) => (request.headers.authorization as string | undefined)?.replace(/^Bearer /, ""),
  conversationText: (request) => JSON.stringify(request.body?.messages),
  // npm-loader.js (node) and the native binary it starts both carry the argv.
  cli: { binDir: BIN_DIR, command: "copilot" },
  expects: {
    shellCall: "bash",
    // Copilot's `<shellId: …>` trailer is cut off; the exit code is reported apart.
    shellResult: { output: "committed", exitCode: 0 },
    // Copilot CLI 1.0.102 prints no token counts on stdout: they come from its --usage-output-file (Agent.execReport).
    usage: (turn) => ({ inputTokens: turn.inputTokens, outputTokens: turn.outputTokens, cacheReadTokens: turn.cacheReadTokens, cacheWriteTokens: 0 }),
    costUsd: false,
    sessionId: /^[0-9a-f-]{36}$/,
    // A 400 is not retried and carries the API's message (a 401 is retried twice, then reported as "Authentication failed … (HTTP 401)").
    apiErrors: [{ status: 400, message: "Bad request (mock 400)", contains: "400 Bad request (mock 400)" }],
    deniedHosts: [],
    // Copilot strips COPILOT_PROVIDER_API_KEY from its shell tool's env: the tool sees no key variable at all.
    shellKeyVar: "stripped",
  },
  packageDir: PACKAGE_DIR,
  packageName: "@corral/agent-copilot",
  containerBinary: undefined,
  ...(mounts ? { containerMounts: mounts } : {}),
  containerUnavailable: "the Copilot CLI native binary (or libstdc++/libgcc_s on the host) is not installed",
  corralArgs: ["--model", "gpt-5"],
  corralEnv: (api) => ({ COPILOT_PROVIDER_BASE_URL: `${api.url}/v1` }),
});
