import { fileURLToPath } from "node:url";
import { run, type RunEvent } from "@corral/core";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { bwrap, bwrapSandbox } from "@corral/sandbox-bwrap";
import { removeDir, requireTool, tempRepo } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { afterEach, describe, expect, it } from "vitest";
import { copilot } from "../src/index.js";
import { API_KEY, BIN_DIR } from "./harness.js";

// What Copilot CLI reaches for besides its API, seen by corral's proxy behind an empty allowlist (the kit's
// gateway case checks the key; this one what else goes out, and that the run does not depend on it).
const NODE_MODULES = [fileURLToPath(new URL("../node_modules", import.meta.url)), fileURLToPath(new URL("../../../node_modules", import.meta.url))];
const bwrapCheck = await bwrapSandbox.create(bwrapSandbox.configure({}).options).check();
const ready = requireTool(bwrapCheck.available, `bwrap is not usable here: ${bwrapCheck.available ? "" : bwrapCheck.reason}`);

describe.runIf(ready)("copilot agent, real CLI, bwrap sandbox: unattended and quiet", () => {
  let api: MockModelApi | undefined;
  let repo: string | undefined;
  afterEach(async () => {
    await api?.close();
    if (repo) await removeDir(repo);
    api = repo = undefined;
  });

  it("behind an empty allowlist only the gateway is reached: Copilot (COPILOT_OFFLINE) asks for nothing else: no GitHub, telemetry or update check", async () => {
    api = await startMockModelApi({ script: [{ text: "Done. <promise>COMPLETE</promise>" }] });
    repo = await tempRepo();
    const events: RunEvent[] = [];
    const result = await run({
      agent: copilot({ model: "cp-quiet", baseUrl: `${api.url}/v1` }),
      prompt: "Say done.",
      cwd: repo,
      sandbox: bwrap(),
      isolation: worktree(),
      mounts: NODE_MODULES.map((host) => ({ host, readonly: true })),
      network: { allow: [] },
      credentials: "gateway",
      handleProcessSignals: false,
      idleTimeout: 120,
      hostEnv: { PATH: `${BIN_DIR}:${process.env.PATH ?? "/usr/bin:/bin"}`, COPILOT_PROVIDER_API_KEY: API_KEY },
      onEvent: (event) => events.push(event),
    });
    expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
    const allowed = events.filter((e) => e.type === "network.allowed").map((e) => (e as { protocol: string }).protocol);
    expect(new Set(allowed)).toEqual(new Set(["gateway"]));
    const denied = new Set(events.filter((e) => e.type === "network.denied").map((e) => (e as { host: string }).host));
    expect(denied).toEqual(new Set());
  });
});
