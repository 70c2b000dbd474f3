import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { removeDir, tempDir, tempRepo } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { commandAgent } from "../builtins/command-agent.js";
import { inPlaceIsolation } from "../builtins/in-place.js";
import type { RunEvent } from "../events.js";
import { run } from "../run.js";

const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await removeDir(dir);
});
const sh = (script: string) => commandAgent.configure({ argv: ["sh", "-c", script, "{prompt}"] });
const COMMIT = 'echo x > x.txt && git add x.txt && git -c user.name=a -c user.email=a@b commit -qm "subject $(echo from the agent)"';

describe("hooks.onRunFinished", () => {
  it("gets the run's end as JSON on stdin and CORRAL_RUN_* env, on the host, before run.finished", async () => {
    const repo = await tempRepo();
    const out = await tempDir();
    cleanup.push(repo, out);
    const events: RunEvent[] = [];
    const notify = `cat > ${join(out, "stdin.json")}; env | grep '^CORRAL_RUN_' | sort > ${join(out, "env.txt")}; pwd > ${join(out, "pwd.txt")}`;
    const result = await run({ cwd: repo, name: "told", prompt: "go", agent: sh(`${COMMIT} && echo '<promise>COMPLETE</promise>'`), isolation: inPlaceIsolation.create({}), handleProcessSignals: false, hooks: { onRunFinished: notify }, onEvent: (e) => events.push(e) });
    const told = JSON.parse(await readFile(join(out, "stdin.json"), "utf8")) as RunEvent;
    expect(told).toMatchObject({ type: "run.finished", runId: result.runId, name: "told", status: "succeeded", commits: [{ subject: "subject from the agent" }] });
    const env = await readFile(join(out, "env.txt"), "utf8");
    expect(env).toContain(`CORRAL_RUN_ID=${result.runId}\n`);
    expect(env).toContain("CORRAL_RUN_STATUS=succeeded\n");
    expect(env).toContain("CORRAL_RUN_COMMITS=1\n");
    expect(env).toContain("CORRAL_RUN_NAME=told\n");
    expect(env).not.toContain("subject from the agent");
    expect((await readFile(join(out, "pwd.txt"), "utf8")).trim()).toBe(repo);
    expect(events.at(-1)?.type).toBe("run.finished");
  });

  it("a failed run and a failing notifier: the hook still runs, its failure is a warning, the result stands", async () => {
    const repo = await tempRepo();
    const out = await tempDir();
    cleanup.push(repo, out);
    const events: RunEvent[] = [];
    const error = await run({
      cwd: repo,
      prompt: "go",
      agent: sh("exit 7"),
      isolation: inPlaceIsolation.create({}),
      handleProcessSignals: false,
      hooks: { onRunFinished: [`env | grep CORRAL_RUN_ERROR_CODE > ${join(out, "env.txt")}`, "exit 4"] },
      onEvent: (e) => events.push(e),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "E_AGENT_EXECUTION" });
    expect(await readFile(join(out, "env.txt"), "utf8")).toBe("CORRAL_RUN_ERROR_CODE=E_AGENT_EXECUTION\n");
    const warning = events.find((e) => e.type === "log" && e.level === "warn" && e.message.includes("onRunFinished"));
    expect(warning).toMatchObject({ message: expect.stringContaining("failed with exit code 4") });
    expect(events.indexOf(warning!)).toBeLessThan(events.findIndex((e) => e.type === "run.finished"));
  });

  it("an aborted run is told too (the hook has its own signal)", async () => {
    const repo = await tempRepo();
    const out = await tempDir();
    cleanup.push(repo, out);
    const controller = new AbortController();
    const pending = run({ cwd: repo, prompt: "go", agent: sh("echo started; sleep 30"), isolation: inPlaceIsolation.create({}), handleProcessSignals: false, signal: controller.signal, hooks: { onRunFinished: `sleep 0.2; cat > ${join(out, "stdin.json")}` }, onEvent: (e) => (e.type === "agent" || e.type === "agent.output") && controller.abort() });
    await expect(pending).rejects.toMatchObject({ code: "E_ABORTED" });
    expect(JSON.parse(await readFile(join(out, "stdin.json"), "utf8"))).toMatchObject({ type: "run.finished", status: "aborted" });
  });
});
