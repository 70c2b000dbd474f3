import { gitIn, processesMatching, tempRepo, removeDir } from "@corral/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Agent } from "../agent.js";
import { inPlaceIsolation } from "../builtins/in-place.js";
import { BudgetExceededError } from "./budget.js";
import type { RunEvent } from "../events.js";
import { Output } from "../output.js";
import { run, type RunOptions } from "../run.js";

const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await removeDir(dir);
});

/**
 * An agent that commits, then reports 100 tokens every 0.1 s for half a minute (as claude's
 * stream-json reports usage per message), its process named by `marker` so the test can see it end.
 */
function streamingSpender(marker: string): Agent {
  const script = [
    'echo work > work.txt && git add work.txt && git -c user.name=a -c user.email=a@b commit -qm "the agent\'s work"',
    `ln -sf "$(command -v sleep)" ./${marker}`,
    `i=0; while [ $i -lt 300 ]; do echo "usage 100"; ./${marker} 0.1; i=$((i+1)); done`,
  ].join("; ");
  return {
    name: "spender",
    command: () => ({ argv: ["sh", "-c", script] }),
    parser: () => ({
      parse: (line) => (line.startsWith("usage ") ? [{ type: "usage", usage: { inputTokens: 0, outputTokens: Number(line.slice(6)), cacheReadTokens: 0, cacheWriteTokens: 0 } }] : [{ type: "text", text: line }]),
    }),
  };
}

async function budgetRun(options: Partial<RunOptions<any>> & Pick<RunOptions<any>, "agent">) {
  const dir = await tempRepo();
  cleanup.push(dir);
  const events: RunEvent[] = [];
  const started = Date.now();
  const result = await run({ cwd: dir, prompt: "spend", isolation: inPlaceIsolation.create({}), handleProcessSignals: false, onEvent: (e) => events.push(e), ...options }).catch((e: unknown) => e);
  return { dir, events, result, seconds: (Date.now() - started) / 1000 };
}

describe("budgets", () => {
  it("a token budget stops the agent while it streams: incomplete, stopped by it, the work kept, no process left", async () => {
    const { dir, events, result, seconds } = await budgetRun({ agent: streamingSpender("corral-budget-spender"), budget: { tokens: 500 } });
    expect(result).toMatchObject({ status: "incomplete", stoppedBy: { budget: "tokens", limit: 500, spent: 500, scope: "run" }, iterations: 1 });
    // stopped long before the agent's 30 s were up
    expect(seconds).toBeLessThan(20);
    expect(await gitIn(dir, "log", "-1", "--format=%s")).toBe("the agent's work");
    const finished = events.find((e) => e.type === "run.finished");
    expect(finished).toMatchObject({ status: "incomplete", stoppedBy: { budget: "tokens" } });
    expect(await processesMatching("corral-budget-spender")).toEqual([]);
  });

  it("(twin) a budget not reached changes nothing", async () => {
    const agent: Agent = { ...streamingSpender("corral-budget-twin"), command: () => ({ argv: ["sh", "-c", "echo 'usage 100'; echo 'usage 100'; echo '<promise>COMPLETE</promise>'"] }) };
    const { result } = await budgetRun({ agent, budget: { tokens: 500, costUsd: 1, iterations: 2, wallSeconds: 60 } });
    expect(result).toMatchObject({ status: "succeeded", usage: { outputTokens: 200 } });
    expect(result).not.toHaveProperty("stoppedBy");
  });

  it("an iteration budget ends the loop before maxIterations, and says so", async () => {
    const agent: Agent = { name: "idler", command: () => ({ argv: ["true"] }), parser: () => ({ parse: () => [] }) };
    const { result, events } = await budgetRun({ agent, maxIterations: 5, budget: { iterations: 2 } });
    expect(result).toMatchObject({ status: "incomplete", iterations: 2, stoppedBy: { budget: "iterations", limit: 2, spent: 3 } });
    expect(events.filter((e) => e.type === "iteration.started")).toHaveLength(2);
  });

  it("a wall-clock budget stops a quiet agent cleanly (no idle timeout needed)", async () => {
    const agent: Agent = { name: "sleeper", command: () => ({ argv: ["sh", "-c", 'ln -sf "$(command -v sleep)" ./corral-budget-sleeper; ./corral-budget-sleeper 60'] }), parser: () => ({ parse: () => [] }) };
    const { result, seconds } = await budgetRun({ agent, budget: { wallSeconds: 1 } });
    expect(result).toMatchObject({ status: "incomplete", stoppedBy: { budget: "wallSeconds", limit: 1 } });
    expect(seconds).toBeLessThan(30);
    expect(await processesMatching("corral-budget-sleeper")).toEqual([]);
  });

  it("a cost budget counts the cost the agent reports in its result", async () => {
    const agent: Agent = {
      name: "coster",
      command: () => ({ argv: ["sh", "-c", "echo cost; sleep 30"] }),
      parser: () => ({ parse: (line) => (line === "cost" ? [{ type: "result", isError: false, costUsd: 0.75 }] : []) }),
    };
    const { result } = await budgetRun({ agent, budget: { costUsd: 0.5 } });
    expect(result).toMatchObject({ status: "incomplete", stoppedBy: { budget: "costUsd", limit: 0.5, spent: 0.75 } });
  });

  it("a run that must give a structured answer fails with E_BUDGET_EXCEEDED instead", async () => {
    const { result } = await budgetRun({ agent: streamingSpender("corral-budget-output"), prompt: "answer in <answer>", budget: { tokens: 200 }, output: Output.object("answer", z.object({ ok: z.boolean() })) });
    expect(result).toBeInstanceOf(BudgetExceededError);
    expect((result as BudgetExceededError).code).toBe("E_BUDGET_EXCEEDED");
    expect((result as BudgetExceededError).message).toContain("token budget (200 tokens) was reached");
  });

  it("a bad budget is refused before anything starts", async () => {
    const { result, events } = await budgetRun({ agent: streamingSpender("corral-budget-bad"), budget: { tokens: -1 } });
    expect(result).toMatchObject({ code: "E_USAGE", message: expect.stringContaining("budget.tokens must be a positive whole number") });
    expect(events).toEqual([]);
  });
});
