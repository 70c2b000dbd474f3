import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AbortError, isEvent, type RunEvent } from "@corral/core";
import { GATEWAY_PLACEHOLDER } from "@corral/core/plugin-kit";
import { startMockModelApi, type MockModelApi } from "@corral/mock-model-api";
import { bwrap, bwrapSandbox } from "@corral/sandbox-bwrap";
import { gitIn, processesMatching, removeDir, requireTool, tempRepo, waitFor } from "@corral/test-support";
import { worktree } from "@corral/worktree-git";
import { afterEach, describe, expect, it } from "vitest";
import { API_KEY, BIN_DIR, COMMIT_SCRIPT, havePi, runPi, uniqueModel } from "./harness.js";

// The CLI lives under the repo's node_modules, which the bwrap sandbox does not show by default.
const NODE_MODULES = [fileURLToPath(new URL("../node_modules", import.meta.url)), fileURLToPath(new URL("../../../node_modules", import.meta.url))];
const mounts = NODE_MODULES.map((host) => ({ host, readonly: true }));

const bwrapCheck = await bwrapSandbox.create(bwrapSandbox.configure({}).options).check();
const ready =
  requireTool(havePi(), `the pi CLI is not installed in ${BIN_DIR} (run pnpm install)`) &&
  requireTool(bwrapCheck.available, `bwrap is not usable here: ${bwrapCheck.available ? "" : bwrapCheck.reason}`);

describe.runIf(ready)("pi agent, real CLI, bwrap sandbox, git worktree", () => {
  let api: MockModelApi | undefined;
  let repo: string | undefined;
  afterEach(async () => {
    await api?.close();
    if (repo) await removeDir(repo);
    api = repo = undefined;
  });

  it("the bash call commits on the run's branch inside the sandbox; the commit, completion and usage are reported", async () => {
    api = await startMockModelApi({
      script: [{ text: "Writing the file.", toolCalls: [{ shell: COMMIT_SCRIPT }] }, { text: "Done. <promise>COMPLETE</promise>" }],
    });
    repo = await tempRepo();
    const events: RunEvent[] = [];
    const result = await runPi(api, { cwd: repo, name: "pi-bwrap", sandbox: bwrap(), isolation: worktree(), mounts, maxIterations: 2 }, events);

    expect(events.find((e) => isEvent(e, "sandbox.ready"))).toMatchObject({ sandbox: "bwrap" });
    expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
    expect(result.commits.map((c) => [c.subject, c.files])).toEqual([["agent: add hello.txt", ["hello.txt"]]]);
    // The commit is on the run's branch in the real repository, and the main checkout is untouched.
    expect(await gitIn(repo, "log", "-1", "--format=%s", result.branch!)).toBe("agent: add hello.txt");
    expect(await gitIn(repo, "show", `${result.branch!}:hello.txt`)).toBe("hello from the agent");
    expect(existsSync(join(repo, "hello.txt"))).toBe(false);
    expect(result.usage).toMatchObject({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 20 });
  });

  it("an aborted run leaves no pi process behind", async () => {
    api = await startMockModelApi({ script: [{ stall: true }] });
    repo = await tempRepo();
    const model = uniqueModel();
    const controller = new AbortController();
    const running = runPi(api, { cwd: repo, sandbox: bwrap(), isolation: worktree(), mounts, signal: controller.signal, pi: { model } });
    await api.waitForConversation(1, 120_000);
    expect((await processesMatching(model)).length).toBeGreaterThan(0);
    controller.abort("test abort");
    await expect(running).rejects.toBeInstanceOf(AbortError);
    await waitFor(async () => (await processesMatching(model)).length === 0, 20_000, "pi processes to exit");
  });
});

describe.runIf(ready)("pi agent, real CLI, bwrap sandbox, network allowlist", () => {
  let api: MockModelApi | undefined;
  let repo: string | undefined;
  afterEach(async () => {
    await api?.close();
    if (repo) await removeDir(repo);
    api = repo = undefined;
  });

  // Put together at run time, so that the command itself (in pi's session files under HOME) does not hold the key.
  const [head, tail] = [API_KEY.slice(0, 8), API_KEY.slice(8)];
  const HUNT = `k="${head}"; k="\${k}${tail}"; echo "env-hits:$(cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c "$k")"; echo "home-hits:$(grep -rs "$k" "$HOME" | wc -l)"; echo "key-var:$OPENAI_API_KEY"`;

  it("credentials: gateway — the mock API sees the real key, the sandbox never holds it; pi (PI_OFFLINE) reaches for nothing else", async () => {
    api = await startMockModelApi({
      script: [{ text: "Looking around.", toolCalls: [{ shell: `${HUNT} && ${COMMIT_SCRIPT}` }] }, { text: "Done. <promise>COMPLETE</promise>" }],
    });
    repo = await tempRepo();
    const events: RunEvent[] = [];
    const result = await runPi(api, { cwd: repo, sandbox: bwrap(), isolation: worktree(), mounts, maxIterations: 2, network: { allow: [] }, credentials: "gateway" }, events);
    expect(result.commits.map((c) => c.subject)).toEqual(["agent: add hello.txt"]);
    expect(api.requests.length).toBeGreaterThan(0);
    expect(api.requests.every((r) => r.headers.authorization === `Bearer ${API_KEY}`)).toBe(true);
    const toolResult = JSON.stringify(api.conversation().at(-1)?.body).match(/env-hits:[^"]*committed/)?.[0];
    expect(toolResult).toBe(`env-hits:0\\nhome-hits:0\\nkey-var:${GATEWAY_PLACEHOLDER}\\ncommitted`);
    expect(api.requests.some((r) => JSON.stringify(r.body ?? "").includes(API_KEY))).toBe(false);
    expect(JSON.stringify(events)).not.toContain(API_KEY);
    const denied = events.filter((e) => e.type === "network.denied").map((e) => (e as { host: string }).host);
    expect(denied).toEqual([]);
  });
});
