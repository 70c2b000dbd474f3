import { describeCorralAgentEndToEnd } from "@corral/agent-e2e";
import { pi } from "../src/index.js";
import { API_KEY, BIN_DIR, PACKAGE_DIR, PI_SHIM, piContainerMounts } from "./harness.js";

const containerMounts = piContainerMounts();

// The real pi CLI through the agent end-to-end kit: host, bwrap, docker, podman and `corral run`.
describeCorralAgentEndToEnd({
  name: "pi",
  // The shim by its absolute path: the containers show node_modules where the host has it.
  agent: ({ model, api }) => pi({ model, baseUrl: `${api.url}/v1`, executable: PI_SHIM }),
  modelPrefix: "pi-e2e",
  credential: { name: "OPENAI_API_KEY", value: API_KEY },
  apiEnv: () => ({}),
  sentKey: (request) => (request.headers.authorization as string | undefined)?.replace(/^Bearer /, ""),
  conversationText: (request) => JSON.stringify(request.body?.messages),
  cli: { binDir: BIN_DIR, command: "pi" },
  expects: {
    shellCall: "bash",
    // pi reports no exit code apart: a non-zero one is an error result with "Command exited with code N".
    shellResult: { output: "committed\n" },
    usage: (turn) => ({ inputTokens: turn.inputTokens, outputTokens: turn.outputTokens, cacheReadTokens: turn.cacheReadTokens, cacheWriteTokens: 0 }),
    // pi prices a model from its own list; corral's provider has none, so it reports 0, which is left out.
    costUsd: false,
    sessionId: /^[0-9a-f-]{36}$/,
    // pi exits 0 after a failed request: the parser's failed result fails the iteration.
    apiErrors: [{ status: 401, message: "Invalid key (mock 401)", contains: "401 Invalid key (mock 401)" }],
  },
  packageDir: PACKAGE_DIR,
  packageName: "@corral/agent-pi",
  containerBinary: undefined,
  ...(containerMounts ? { containerMounts } : {}),
  containerUnavailable: "pi runs on Node: the host needs /usr/bin/node with libstdc++ and libgcc_s to show it inside the test image",
  corralArgs: ["--model", "gpt-5"],
  corralEnv: (api) => ({ OPENAI_BASE_URL: `${api.url}/v1` }),
});
