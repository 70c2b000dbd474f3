import { existsSync } from "node:fs";
import { join } from "node:path";
import { tempRepo } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { commandAgent } from "./builtins/command-agent.js";
import { hostSandbox } from "./builtins/host.js";
import { run } from "./run.js";

const agent = commandAgent.configure({ argv: ["sh", "-c", "echo ran > ran.txt"] });

describe("copied workspaces: what refuses one (fail closed)", () => {
  it("the host sandbox refuses a copied workspace with a typed error, and the agent never runs", async () => {
    const repo = await tempRepo();
    await expect(run({ agent, sandbox: hostSandbox.configure({}), cwd: repo, prompt: "x", workspace: "copy", handleProcessSignals: false })).rejects.toMatchObject({ code: "E_WORKSPACE_COPY_UNSUPPORTED" });
    expect(existsSync(join(repo, "ran.txt"))).toBe(false);
  });

  it("auto on a local engine mounts as before (twin: the run works)", async () => {
    const repo = await tempRepo();
    const result = await run({ agent, sandbox: hostSandbox.configure({}), cwd: repo, prompt: "x", workspace: "auto", handleProcessSignals: false });
    expect(result.status).not.toBe("failed");
    expect(existsSync(join(repo, "ran.txt"))).toBe(true);
  });

  it("an unknown mode is a usage error before anything exists", async () => {
    const repo = await tempRepo();
    await expect(run({ agent, sandbox: hostSandbox.configure({}), cwd: repo, prompt: "x", workspace: "ship" as never, handleProcessSignals: false })).rejects.toMatchObject({ code: "E_USAGE" });
  });
});
