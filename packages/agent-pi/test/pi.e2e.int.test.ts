import { describeCorralAgentEndToEnd } from "@corral/agent-e2e";
import { pi } from "../src/index.js";
import { API_KEY, BIN_DIR, PACKAGE_DIR, piContainerMounts } from "./harness.js";

const mounts = piContainerMounts();

// The real pi CLI through the agent end-to-end kit: host, bwrap, docker, podman and `corral run`. pi sets
// process.title, so its argv is gone from /proc: the kit finds its processes by CORRAL_RUN_ID in their env.
describeCorralAgentEndToEnd({
  name: "pi",
  agent: ({ model, api }) => pi({ model, baseUrl: `${api.url}/v1` }),
  modelPrefix: "pi-e2e",
  credential: { name: "OPENAI_API_KEY", value: API_KEY },
  apiEnv: () => ({}),
  sentKey: (request) => (request.headers.authorization as string | undefined)?.replace(/^Bearer /, ""),
  conversationText: (request) => JSON.stringify(request.body?.messages),
  cli: { binDir: BIN_DIR, command: "pi" },
  expects: {
    shellCall: "bash",
    shellResult: { output: "committed\n" },
    // Chat completions report the cached part of the prompt apart and no cache writes.
    usage: (turn) => ({ inputTokens: turn.inputTokens, outputTokens: turn.outputTokens, cacheReadTokens: turn.cacheReadTokens, cacheWriteTokens: 0 }),
    // pi prices a model from its catalogue; corral's provider has none, so it reports 0, which is left out.
    costUsd: false,
    sessionId: /^[0-9a-f-]{36}$/,
    // pi exits 0 on an API error; corral makes it an AgentExecutionError with the status and the API's message.
    apiErrors: [{ status: 401, message: "Invalid key (mock 401)", contains: "401 Invalid key (mock 401)" }],
    deniedHosts: [],
  },
  packageDir: PACKAGE_DIR,
  packageName: "@corral/agent-pi",
  containerBinary: undefined,
  ...(mounts ? { containerMounts: mounts } : {}),
  containerUnavailable: "pi (pnpm install) and a glibc /usr/bin/node with libstdc++ and libgcc_s are needed on the host",
  corralArgs: ["--model", "gpt-5"],
  corralEnv: (api) => ({ OPENAI_BASE_URL: `${api.url}/v1` }),
});
