import { existsSync, readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processesMatching, tempDir, tempRepo, waitFor } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Agent, AgentEvent } from "./agent.js";
import { commandAgent } from "./builtins/command-agent.js";
import { hostSandbox } from "./builtins/host.js";
import { inPlaceIsolation } from "./builtins/in-place.js";
import {
  AbortError,
  AgentExecutionError,
  IdleTimeoutError,
  PromptExpansionError,
  PromptTemplateError,
  SandboxError,
  StructuredOutputError,
  UsageError,
} from "./errors.js";
import { agentEventsOf, type RunEvent } from "./events.js";
import type { Isolation } from "./isolation.js";
import { CUT_MARKER } from "./lines.js";
import { Output } from "./output.js";
import { run, type RunOptions } from "./run.js";
import type { Sandbox, SandboxHandle } from "./sandbox.js";

/** The command agent running a shell script; `$0` is the prompt. */
const sh = (script: string) => commandAgent.configure({ argv: ["sh", "-c", script, "{prompt}"] });

async function runIn(cwd: string, options: Partial<RunOptions<any>> & Pick<RunOptions<any>, "agent">) {
  const events: RunEvent[] = [];
  const promise = run({ cwd, prompt: "do it", handleProcessSignals: false, onEvent: (e) => events.push(e), ...options });
  return { promise, events };
}

/** A `sleep` whose process name is the marker, so the process table shows exactly it. */
const markedSleep = (marker: string) => `ln -sf "$(command -v sleep)" ./${marker}; ./${marker} 300`;

function homesNow(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith("corral-home-"));
}

describe("run loop with real processes", () => {
  it("runs up to maxIterations and stops early on the completion signal", async () => {
    const dir = await tempDir();
    const script = `n=$(($(cat count 2>/dev/null || echo 0)+1)); echo $n > count; echo "iteration $n"; [ $n -ge 2 ] && echo "done <promise>COMPLETE</promise>"; true`;
    const { promise, events } = await runIn(dir, { agent: sh(script), maxIterations: 5 });
    const result = await promise;
    expect(result.iterations).toBe(2);
    expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
    expect(await readFile(join(dir, "count"), "utf8")).toBe("2\n");
    expect(events.filter((e) => e.type === "iteration.started")).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "succeeded", iterations: 2 });
  });

  it("runs every iteration when the signal never comes", async () => {
    const dir = await tempDir();
    const result = await (await runIn(dir, { agent: sh("echo x >> log"), maxIterations: 3 })).promise;
    expect(result.iterations).toBe(3);
    expect(result.completionSignal).toBeUndefined();
    expect(await readFile(join(dir, "log"), "utf8")).toBe("x\nx\nx\n");
  });

  it("matches the signal only in the agent's own text, never in tool output or stderr", async () => {
    const dir = await tempDir();
    // The command agent treats stderr as raw output, not agent text.
    const viaStderr = await (await runIn(dir, { agent: sh("echo '<promise>COMPLETE</promise>' >&2"), maxIterations: 2 })).promise;
    expect(viaStderr.iterations).toBe(2);
    // An agent whose parser reports the signal inside a tool result (e.g. it read a file containing it).
    const reader: Agent = {
      name: "reader",
      command: () => ({ argv: ["sh", "-c", "echo '<promise>COMPLETE</promise>'"] }),
      parser: () => ({ parse: (line) => [{ type: "tool-result", output: line }] }),
    };
    const viaTool = await (await runIn(dir, { agent: reader, maxIterations: 2 })).promise;
    expect(viaTool.iterations).toBe(2);
    expect(viaTool.completionSignal).toBeUndefined();
  });

  it("accepts several completion signals and reports which one matched", async () => {
    const dir = await tempDir();
    const result = await (await runIn(dir, { agent: sh("echo 'ALL DONE'"), maxIterations: 3, completionSignal: ["FINISHED", "ALL DONE"] })).promise;
    expect(result).toMatchObject({ iterations: 1, completionSignal: "ALL DONE" });
  });

  it("stops a silent agent with IdleTimeoutError and leaves no process behind", async () => {
    const dir = await tempDir();
    const marker = `idle-marker-${process.pid}-${Date.now()}`;
    const started = Date.now();
    const { promise } = await runIn(dir, { agent: sh(`echo start; ${markedSleep(marker)}`), idleTimeout: 0.5 });
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdleTimeoutError);
    expect((error as IdleTimeoutError).code).toBe("E_IDLE_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(10_000);
    await waitFor(async () => (await processesMatching(marker)).length === 0, 5000, "the idle agent to be gone");
  });

  it("every output line resets the idle timer", async () => {
    const dir = await tempDir();
    const script = "for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.25; done";
    const result = await (await runIn(dir, { agent: sh(script), idleTimeout: 0.8 })).promise;
    expect(result.iterations).toBe(1);
  });

  it("after the signal, a grace window ends a lingering agent successfully", async () => {
    const dir = await tempDir();
    const marker = `grace-marker-${process.pid}-${Date.now()}`;
    const started = Date.now();
    const { promise, events } = await runIn(dir, {
      agent: sh(`echo '<promise>COMPLETE</promise>'; ${markedSleep(marker)}`),
      completionTimeout: 0.5,
      idleTimeout: 0.2, // replaced by the grace window once the signal is seen
      maxIterations: 3,
    });
    const result = await promise;
    expect(result).toMatchObject({ iterations: 1, completionSignal: "<promise>COMPLETE</promise>" });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(events.some((e) => e.type === "completion.detected")).toBe(true);
    await waitFor(async () => (await processesMatching(marker)).length === 0, 5000, "the lingering agent to be gone");
  });

  it("aborting mid-iteration kills the agent's whole process tree and rejects with AbortError", async () => {
    const dir = await tempDir();
    const marker = `abort-marker-${process.pid}-${Date.now()}`;
    const controller = new AbortController();
    // The agent starts a child and a grandchild (in the background) that would outlive a naive kill.
    const script = `ln -sf "$(command -v sleep)" ./${marker}; sh -c './${marker} 301' & ./${marker} 302 & echo started; wait`;
    const { promise } = await runIn(dir, { agent: sh(script), signal: controller.signal, maxIterations: 3 });
    await waitFor(async () => (await processesMatching(marker)).length >= 2, 10_000, "the agent's children to start");
    controller.abort();
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    await waitFor(async () => (await processesMatching(marker)).length === 0, 5000, "every process of the agent to be gone");
  });

  it("an already-aborted signal runs nothing and creates nothing", async () => {
    const dir = await tempDir();
    const before = homesNow();
    const controller = new AbortController();
    controller.abort();
    const { promise, events } = await runIn(dir, { agent: sh("touch ran"), signal: controller.signal });
    await expect(promise).rejects.toBeInstanceOf(AbortError);
    expect(existsSync(join(dir, "ran"))).toBe(false);
    expect(homesNow()).toEqual(before);
    expect(events.map((e) => e.type)).toEqual(["run.finished"]);
    expect(events[0]).toMatchObject({ status: "aborted" });
  });

  it("a non-zero exit is an AgentExecutionError with the code and the output tail, secrets redacted", async () => {
    const dir = await tempDir();
    const secret = "super-secret-value-1234567";
    const script = `for i in $(seq 1 80); do echo "line $i"; done; echo "key is $MY_API_VALUE"; echo "ANTHROPIC_API_KEY=$MY_API_VALUE" >&2; echo "sk-ant-api03-leakedleakedleaked"; exit 3`;
    const { promise, events } = await runIn(dir, { agent: sh(script), env: { MY_API_VALUE: secret }, secretEnv: ["MY_API_VALUE"] });
    const error = (await promise.catch((e: unknown) => e)) as AgentExecutionError;
    expect(error).toBeInstanceOf(AgentExecutionError);
    expect(error.exitCode).toBe(3);
    expect(error.outputTail).toHaveLength(50);
    expect(error.outputTail).toContain("line 80");
    expect(error.outputTail).not.toContain("line 20");
    const everything = `${error.message}\n${error.outputTail.join("\n")}\n${JSON.stringify(events)}`;
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain("leakedleakedleaked");
    expect(error.message).toContain("key is ***");
  });

  it("a failing agent's tail reads its tool calls and results as displays do, the long ones cut, secrets redacted", async () => {
    const dir = await tempDir();
    const secret = "tool-tail-secret-0123456";
    const agent: Agent = {
      name: "tools",
      command: () => ({ argv: ["sh", "-c", `echo "CALL ls $TAIL_VALUE"; echo "RESULT two  files"; echo "CALL $(head -c 20000 /dev/zero | tr '\\0' y)"; echo "RESULT"; exit 3`] }),
      parser: () => ({
        parse: (line) => (line.startsWith("CALL ") ? [{ type: "tool-call", name: "Bash", input: { command: line.slice(5) } }] : line.startsWith("RESULT") ? [{ type: "tool-result", output: line.slice(7) }] : []),
      }),
    };
    const { promise } = await runIn(dir, { agent, env: { TAIL_VALUE: secret }, secretEnv: ["TAIL_VALUE"] });
    const error = (await promise.catch((e: unknown) => e)) as AgentExecutionError;
    expect(error).toMatchObject({ code: "E_AGENT_EXECUTION", exitCode: 3 });
    expect(error.outputTail).toEqual(['→ Bash {"command":"ls ***"}', "← two files", `→ Bash {"command":"${"y".repeat(159 - 12)}…`, "← (no output)"]);
  });

  it("a line's event is redacted field by field; a field its type does not have is not carried, so no secret rides on it", async () => {
    const dir = await tempDir();
    const secret = "extra-field-secret-98765";
    // A parser that adds a field outside the AgentEvent contract to its text events.
    const agent: Agent = {
      name: "noted",
      command: () => ({ argv: ["sh", "-c", `echo "out $TOKEN_VALUE"; echo "err $TOKEN_VALUE" >&2; echo plain`] }),
      parser: () => ({ parse: (line, stream) => (stream === "stdout" ? [{ type: "text", text: line, note: secret } as AgentEvent] : [{ type: "raw", line, stream }]) }),
    };
    const { promise, events } = await runIn(dir, { agent, env: { TOKEN_VALUE: secret }, secretEnv: ["TOKEN_VALUE"] });
    await promise;
    expect(JSON.stringify(events)).not.toContain(secret);
    const lines = events.flatMap((e) => agentEventsOf(e).map((event) => ({ type: "agent", iteration: (e as { iteration: number }).iteration, event })));
    // stdout and stderr are two pipes: their lines may interleave either way.
    expect(lines).toHaveLength(3);
    expect(lines).toEqual(
      expect.arrayContaining([
        { type: "agent", iteration: 1, event: { type: "text", text: "out ***" } },
        { type: "agent", iteration: 1, event: { type: "raw", line: "err ***", stream: "stderr" } },
        { type: "agent", iteration: 1, event: { type: "text", text: "plain" } },
      ]),
    );
  });

  it("an agent-reported error result fails the run even with exit code 0", async () => {
    const dir = await tempDir();
    const agent: Agent = {
      name: "fails-politely",
      command: () => ({ argv: ["sh", "-c", "echo RESULT_ERROR rate limited"] }),
      parser: () => ({ parse: (line) => (line.startsWith("RESULT_ERROR") ? [{ type: "result", isError: true, text: line.slice(13) }] : []) }),
    };
    const error = (await (await runIn(dir, { agent })).promise.catch((e: unknown) => e)) as AgentExecutionError;
    expect(error).toBeInstanceOf(AgentExecutionError);
    expect(error.message).toContain("rate limited");
  });

  it("sums usage over iterations and prefixes every event with the run name", async () => {
    const dir = await tempDir();
    const agent: Agent = {
      name: "counter",
      command: () => ({ argv: ["sh", "-c", "echo 'usage 10 4'"] }),
      parser: () => ({
        parse: (line) => {
          const [, input, output] = line.split(" ");
          return [{ type: "usage", usage: { inputTokens: Number(input), outputTokens: Number(output), cacheReadTokens: 1, cacheWriteTokens: 0 } }];
        },
      }),
    };
    const { promise, events } = await runIn(dir, { agent, maxIterations: 3, name: "usage-run" });
    const result = await promise;
    expect(result.usage).toEqual({ inputTokens: 30, outputTokens: 12, cacheReadTokens: 3, cacheWriteTokens: 0 });
    expect(events.length).toBeGreaterThan(5);
    expect(events.every((e) => e.name === "usage-run" && e.runId === result.runId)).toBe(true);
  });

  it("an exec report (a file the CLI writes in HOME) counts as the exec's own: read as data after each exec it changed, with the one before it", async () => {
    const dir = await tempDir();
    const seen: Array<[string, string | undefined]> = [];
    // The CLI writes its session's running total (as Copilot CLI does): the agent reports the difference.
    const agent: Agent = {
      name: "reporter",
      execReport: {
        file: ".usage.json",
        parse: (after, before) => {
          seen.push([after, before]);
          const total = (text: string | undefined) => (text === undefined ? 0 : (JSON.parse(text) as { tokens: number }).tokens);
          return [{ type: "usage", usage: { inputTokens: total(after) - total(before), outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 } }];
        },
      },
      command: (input) => ({ argv: ["sh", "-c", `n=$(cat "$0" 2>/dev/null | tr -dc 0-9); printf '{"tokens": %d}\\n' $(( \${n:-0} + 5 )) > "$0"; echo done`, `${input.home}/.usage.json`] }),
      parser: () => ({ parse: () => [] }),
    };
    const result = await (await runIn(dir, { agent, maxIterations: 3 })).promise;
    expect(result.usage.inputTokens).toBe(15);
    expect(seen).toEqual([['{"tokens": 5}\n', undefined], ['{"tokens": 10}\n', '{"tokens": 5}\n'], ['{"tokens": 15}\n', '{"tokens": 10}\n']]);
  });

  it("an exec report that is a symlink is never followed, an exec that left it as it was reports nothing, a name with a folder is refused", async () => {
    const dir = await tempDir();
    const outside = join(await tempDir(), "host-file.json");
    await writeFile(outside, '{"tokens": 1000}');
    const parsed: string[] = [];
    const agent = (file: string, script: string): Agent => ({
      name: "reporter",
      execReport: { file, parse: (after) => (parsed.push(after), [{ type: "usage", usage: { inputTokens: 1000, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 } }]) },
      command: (input) => ({ argv: ["sh", "-c", script, input.home, outside] }),
      parser: () => ({ parse: () => [] }),
    });
    // The agent points the report at a host file: corral opens it with O_NOFOLLOW, so it reads nothing.
    const linked = await (await runIn(dir, { agent: agent(".usage.json", 'ln -sf "$1" "$0/.usage.json"; echo done') })).promise;
    expect(linked.usage.inputTokens).toBe(0);
    // The twin of "changed": an exec that writes nothing new reports nothing (here: never wrote one).
    const quiet = await (await runIn(dir, { agent: agent(".usage.json", "echo done") })).promise;
    expect(quiet.usage.inputTokens).toBe(0);
    expect(parsed).toEqual([]);
    const refused = await (await runIn(dir, { agent: agent("../escape.json", "echo done") })).promise.catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "E_PLUGIN_INVALID" });
  });

  it("passes only the env the run gives: no host env leaks, HOME is a private per-run folder removed afterwards", async () => {
    const dir = await tempDir();
    process.env.CORRAL_TEST_SECRET = "host-only-value";
    try {
      const result = await (await runIn(dir, { agent: sh('env > env.txt; stat -c %a "$HOME" > home-mode.txt; echo "$HOME" > home.txt'), env: { GIVEN: "yes" } })).promise;
      const env = await readFile(join(dir, "env.txt"), "utf8");
      expect(env).toContain("GIVEN=yes");
      expect(env).not.toContain("CORRAL_TEST_SECRET");
      expect((await readFile(join(dir, "home-mode.txt"), "utf8")).trim()).toBe("700");
      const home = (await readFile(join(dir, "home.txt"), "utf8")).trim();
      expect(home).toContain("corral-home-");
      expect(existsSync(home)).toBe(false);
      expect(result.iterations).toBe(1);
    } finally {
      delete process.env.CORRAL_TEST_SECRET;
    }
  });

  it("an onEvent that throws never breaks the run nor skips its cleanup", async () => {
    const dir = await tempDir();
    const before = homesNow();
    const sigintListeners = process.listenerCount("SIGINT");
    const result = await run({
      cwd: dir,
      prompt: "x",
      agent: sh("echo hi"),
      onEvent: () => {
        throw new Error("observer bug");
      },
    });
    expect(result.iterations).toBe(1);
    expect(homesNow()).toEqual(before);
    expect(process.listenerCount("SIGINT")).toBe(sigintListeners);
  });

  it("the host sandbox refuses a network policy or limits it cannot enforce (fail closed)", async () => {
    const dir = await tempDir();
    const none = await (await runIn(dir, { agent: sh("touch ran"), network: "none" })).promise.catch((e: unknown) => e);
    expect(none).toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", message: expect.stringContaining('network policy "none"') });
    const allowlist = await (await runIn(dir, { agent: sh("touch ran"), network: { allow: ["example.com"] } })).promise.catch((e: unknown) => e);
    expect(allowlist).toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", message: expect.stringContaining("cannot enforce the network allowlist") });
    const limited = await (await runIn(dir, { agent: sh("touch ran"), limits: { memoryMb: 64, wallSeconds: 5 } })).promise.catch((e: unknown) => e);
    expect(limited).toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", message: expect.stringContaining("limits.memoryMb, limits.wallSeconds") });
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });

  it("closes the sandbox and releases the workspace on success, failure and abort", async () => {
    const dir = await tempRepo();
    for (const outcome of ["succeeded", "failed", "aborted"] as const) {
      const calls: string[] = [];
      const inner = hostSandbox.create({});
      const sandbox: Sandbox = {
        name: "recording",
        check: () => inner.check(),
        create: async (spec) => {
          const handle = await inner.create(spec);
          return { id: handle.id, exec: (a, o) => handle.exec(a, o), close: async () => { calls.push("close"); await handle.close(); }, [Symbol.asyncDispose]: () => handle.close() };
        },
      };
      const base = inPlaceIsolation.create({});
      const isolation: Isolation = { ...base, name: "recording", release: async (ws, o) => { calls.push(`release:${o.outcome}`); return base.release(ws, o); } };
      const controller = new AbortController();
      const script = outcome === "failed" ? "exit 1" : outcome === "aborted" ? "echo go; sleep 30" : "echo '<promise>COMPLETE</promise>'";
      const { promise } = await runIn(dir, { agent: sh(script), sandbox, isolation, signal: controller.signal, onEvent: (e) => { if (outcome === "aborted" && agentEventsOf(e).length) controller.abort(); } });
      await promise.catch(() => undefined);
      expect(calls).toEqual(["close", `release:${outcome}`]);
    }
  });

  it("a sandbox whose close() fails: the run says its teardown did not complete, whatever its status; twin: a close that works says nothing", async () => {
    const dir = await tempRepo();
    for (const [script, closeFails, status] of [["echo '<promise>COMPLETE</promise>'", true, "failed"], ["exit 1", true, "failed"], ["echo '<promise>COMPLETE</promise>'", false, "succeeded"]] as const) {
      const inner = hostSandbox.create({});
      const sandbox: Sandbox = {
        name: "flaky-engine",
        check: () => inner.check(),
        create: async (spec) => {
          const handle = await inner.create(spec);
          const close = async () => {
            await handle.close();
            if (closeFails) throw new SandboxError("Could not remove the container corral-x: engine gone", { code: "E_SANDBOX_CLOSE" });
          };
          return { id: handle.id, exec: (a, o) => handle.exec(a, o), close, [Symbol.asyncDispose]: close };
        },
      };
      const { promise, events } = await runIn(dir, { agent: sh(script), sandbox });
      const error = await promise.then(() => undefined, (e: unknown) => e);
      const finished = events.find((e) => e.type === "run.finished");
      expect(finished).toMatchObject({ status });
      if (closeFails) {
        expect(finished).toMatchObject({ teardownIncomplete: ["Could not remove the container corral-x: engine gone"] });
        // A run that had succeeded fails with the close's error; one that had failed keeps its own.
        expect(error).toMatchObject({ code: script === "exit 1" ? expect.not.stringMatching(/^E_SANDBOX_CLOSE$/) : "E_SANDBOX_CLOSE" });
      } else {
        expect(error).toBeUndefined();
        expect(finished).not.toHaveProperty("teardownIncomplete");
      }
    }
  });
});

describe("prompts", () => {
  it("fills a template with args and built-ins, then expands !`cmd` inside the sandbox", async () => {
    const repo = await tempRepo();
    await writeFile(join(repo, "prompt.md"), "Issue {{issue}} on {{branch}}, iteration {{iteration}}.\nLog: !`git log --format=%s -1`\n");
    const { promise, events } = await runIn(repo, { prompt: undefined, promptFile: "prompt.md", promptArgs: { issue: "42" }, agent: sh('printf "%s\\n" "$0"') });
    await promise;
    const text = events.flatMap((e) => agentEventsOf(e).flatMap((a) => (a.type === "text" ? [a.text] : [])));
    expect(text).toEqual(["Issue 42 on main, iteration 1.", "Log: initial", ""]);
  });

  it("a failing !`cmd` is a PromptExpansionError, and the agent never runs", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "p.md"), "Context: !`echo partial; echo broken >&2; exit 7`\n");
    const error = (await (await runIn(dir, { prompt: undefined, promptFile: "p.md", agent: sh("touch ran") })).promise.catch((e: unknown) => e)) as PromptExpansionError;
    expect(error).toBeInstanceOf(PromptExpansionError);
    expect(error.exitCode).toBe(7);
    expect(error.message).toContain("broken");
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });

  it("errors that leave the run carry no secret value of the run (message, output tail, stack)", async () => {
    const dir = await tempDir();
    const secret = "plain-looking-value-31337";
    await writeFile(join(dir, "p.md"), "Context: !`echo \"connecting with $DB_PASS\" >&2; exit 1`\n");
    const error = (await (await runIn(dir, { prompt: undefined, promptFile: "p.md", agent: sh("true"), env: { DB_PASS: secret }, secretEnv: ["DB_PASS"] })).promise.catch((e: unknown) => e)) as PromptExpansionError;
    expect(error).toBeInstanceOf(PromptExpansionError);
    expect(error.message).toContain("connecting with ***");
    expect(`${error.message}\n${error.stack}\n${JSON.stringify(error)}`).not.toContain(secret);
  });

  it("a !`cmd` that hangs times out with PromptExpansionError", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "p.md"), "Context: !`sleep 30`\n");
    const error = await (await runIn(dir, { prompt: undefined, promptFile: "p.md", promptCommandTimeout: 0.3, agent: sh("true") })).promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromptExpansionError);
    expect((error as Error).message).toMatch(/did not finish/);
  });

  it.each([
    ["a {{KEY}} with no value", { promptFile: "p.md" }, "Fix {{issue}}", PromptTemplateError, /\{\{issue\}\}/],
    ["args with an inline prompt", { prompt: "hi", promptArgs: { a: "1" } }, "", PromptTemplateError, /inline prompt/],
    ["an arg shadowing a built-in", { promptFile: "p.md", promptArgs: { branch: "x" } }, "{{branch}}", PromptTemplateError, /shadow/],
    ["an unreadable prompt file", { promptFile: "missing.md" }, "", UsageError, /Cannot read the prompt file/],
    ["both prompt and prompt file", { prompt: "a", promptFile: "p.md" }, "x", UsageError, /not both/],
    ["no prompt at all", {}, "", UsageError, /No prompt/],
  ] as const)("refuses %s before anything runs", async (_label, opts, template, type, message) => {
    const dir = await tempDir();
    if (template) await writeFile(join(dir, "p.md"), template);
    const before = homesNow();
    const events: RunEvent[] = [];
    const error = await run({ cwd: dir, agent: sh("touch ran"), handleProcessSignals: false, onEvent: (e) => events.push(e), ...(opts as object) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
    expect(events).toEqual([]);
    expect(existsSync(join(dir, "ran"))).toBe(false);
    expect(homesNow()).toEqual(before);
  });
});

describe("structured output", () => {
  const schema = z.object({ verdict: z.enum(["pass", "fail"]), findings: z.number() });

  it("returns the schema-checked object from the last tag", async () => {
    const dir = await tempDir();
    const script = `echo '<result>{"verdict":"fail","findings":9}</result>'; echo 'final:'; echo '<result>'; echo '{"verdict":"pass","findings":2}'; echo '</result>'`;
    const result = await (await runIn(dir, { prompt: "Answer in <result>", output: Output.object("result", schema), agent: sh(script) })).promise;
    expect(result.output).toEqual({ verdict: "pass", findings: 2 });
  });

  it("fails with StructuredOutputError carrying the tag and raw text when the block is invalid", async () => {
    const dir = await tempDir();
    const error = (await (await runIn(dir, { prompt: "Answer in <result>", output: Output.object("result", schema), agent: sh(`echo '<result>{"verdict":"maybe"}</result>'`) })).promise.catch((e: unknown) => e)) as StructuredOutputError;
    expect(error).toBeInstanceOf(StructuredOutputError);
    expect(error.tag).toBe("result");
    expect(error.raw).toBe('{"verdict":"maybe"}');
  });

  it("needs maxIterations 1 and the tag in the prompt, checked before the agent runs", async () => {
    const dir = await tempDir();
    await expect(run({ cwd: dir, prompt: "Answer in <result>", maxIterations: 2, output: Output.string("result"), agent: sh("touch ran"), handleProcessSignals: false })).rejects.toThrow(/maxIterations 1/);
    await expect(run({ cwd: dir, prompt: "Answer please", output: Output.string("result"), agent: sh("touch ran"), handleProcessSignals: false })).rejects.toThrow(/never mentions <result>/);
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });

  it("retries by resuming the agent's session with feedback about what was wrong", async () => {
    const dir = await tempDir();
    const prompts: string[] = [];
    const agent: Agent = {
      name: "resumable",
      command: ({ prompt, resumeSessionId }) => {
        prompts.push(`${resumeSessionId ?? "new"}: ${prompt}`);
        const answer = resumeSessionId ? '<result>{"verdict":"pass","findings":0}</result>' : "<result>not json</result>";
        return { argv: ["sh", "-c", `echo SESSION s-1; echo '${answer}'`] };
      },
      parser: () => ({ parse: (line) => (line.startsWith("SESSION ") ? [{ type: "session", sessionId: line.slice(8) }] : [{ type: "text", text: line }]) }),
    };
    const result = await (await runIn(dir, { prompt: "Answer in <result>", output: Output.object("result", schema, { maxRetries: 1 }), agent })).promise;
    expect(result.output).toEqual({ verdict: "pass", findings: 0 });
    expect(prompts).toHaveLength(2);
    expect(prompts[1]).toMatch(/^s-1: Your answer could not be used: .*not valid JSON/);
  });
});

describe("the default network", () => {
  /** A sandbox that declares `capabilities` and records the network it was asked for (it runs on the host). */
  function declaring(capabilities: Sandbox["capabilities"]) {
    const asked: unknown[] = [];
    const inner = hostSandbox.create({});
    const sandbox: Sandbox = {
      name: "declaring",
      ...(capabilities ? { capabilities } : {}),
      check: () => inner.check(),
      create: async (spec) => {
        asked.push(spec.network);
        return inner.create({ ...spec, network: "host" });
      },
    };
    return { sandbox, asked };
  }
  const warnings = (events: RunEvent[]) => events.flatMap((e) => (e.type === "log" && e.level === "warn" ? [e.message] : []));

  it("is the allowlist (the agent's API only) where the sandbox enforces one", async () => {
    const dir = await tempRepo();
    const { sandbox, asked } = declaring({ filesystem: "isolated", network: ["host", "none", "proxy"] });
    const { promise, events } = await runIn(dir, { agent: sh("true"), sandbox, isolation: inPlaceIsolation.create({}) });
    await promise;
    expect(asked).toEqual([expect.objectContaining({ mode: "proxy", ports: { http: 3128, socks: 1080 } })]);
    expect(warnings(events).join("\n")).not.toContain("cannot restrict the network");
    // The twin: an explicit host network is what the user asked for.
    const explicit = declaring({ filesystem: "isolated", network: ["host", "none", "proxy"] });
    await (await runIn(dir, { agent: sh("true"), sandbox: explicit.sandbox, isolation: inPlaceIsolation.create({}), network: "host" })).promise;
    expect(explicit.asked).toEqual(["host"]);
  });

  it("stays the host's where the sandbox cannot enforce one, and the run says why and what to do", async () => {
    const dir = await tempRepo();
    const { sandbox, asked } = declaring({ filesystem: "isolated", network: ["host", "none"], proxyUnavailable: { reason: "socat is missing", hint: "Install socat" } });
    const { promise, events } = await runIn(dir, { agent: sh("true"), sandbox, isolation: inPlaceIsolation.create({}) });
    await promise;
    expect(asked).toEqual(["host"]);
    expect(warnings(events)).toContainEqual(expect.stringMatching(/^The declaring sandbox cannot restrict the network here \(socat is missing\).*Install socat, or pass --network none/));
    // Asked for explicitly, the allowlist fails closed, with the same reason.
    const refused = await (await runIn(dir, { agent: sh("touch ran"), sandbox, isolation: inPlaceIsolation.create({}), network: { allow: ["example.com"] } })).promise.catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "E_SANDBOX_UNAVAILABLE", message: expect.stringContaining("here: socat is missing"), hint: expect.stringContaining("Install socat") });
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });
});

describe("the line cap (maxLineChars)", () => {
  const texts = (events: RunEvent[]) => events.flatMap((e) => agentEventsOf(e).flatMap((a) => (a.type === "text" ? [a.text] : [])));

  it("cuts a line longer than the cap there, marks it, and drops its rest up to the newline", async () => {
    const dir = await tempDir();
    // 5000 x's then a newline, then a short line: the cap is 2000.
    const { promise, events } = await runIn(dir, { agent: sh(`head -c 5000 /dev/zero | tr '\\0' x; echo; echo after`), maxLineChars: 2000 });
    await promise;
    expect(texts(events)).toEqual([`${"x".repeat(2000)}${CUT_MARKER}`, "after"]);
  });

  it("leaves a line within the cap whole", async () => {
    const dir = await tempDir();
    const { promise, events } = await runIn(dir, { agent: sh(`head -c 1999 /dev/zero | tr '\\0' x; echo`), maxLineChars: 2000 });
    await promise;
    expect(texts(events)).toEqual(["x".repeat(1999)]);
  });

  it("refuses a cap that is not a whole number of at least 1024, before anything runs", async () => {
    const dir = await tempDir();
    for (const bad of [0, 100, 1.5e4 + 0.5, -1]) {
      await expect(run({ cwd: dir, prompt: "x", agent: sh("touch ran"), handleProcessSignals: false, maxLineChars: bad })).rejects.toThrow(/maxLineChars must be a whole number/);
    }
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });
});

/** The host sandbox with each exec passed through `exec` (which may change its options). */
function hostExecThrough(name: string, exec: (handle: SandboxHandle, ...args: Parameters<SandboxHandle["exec"]>) => ReturnType<SandboxHandle["exec"]>): Sandbox {
  const inner = hostSandbox.create({});
  return {
    name,
    check: () => inner.check(),
    create: async (spec) => {
      const handle = await inner.create(spec);
      return { id: handle.id, exec: (argv, options) => exec(handle, argv, options), close: () => handle.close(), [Symbol.asyncDispose]: () => handle.close() };
    },
  };
}

describe("the agent's output, batched (ADR 0712)", () => {
  it("comes as agent.output events holding many lines each, exactly and in order, text apart from raw stderr, the completion after the text that held it", async () => {
    const repo = await tempRepo();
    // 5,000 lines in a few reads, then a stderr line, then the signal: printed as one burst.
    const script = `awk 'BEGIN { for (i = 0; i < 5000; i++) print "line " i }'; echo "oops ü" >&2; sleep 0.2; printf '%s\\n' '<promise>COMPLETE</promise>' '' 'after'`;
    const { promise, events } = await runIn(repo, { agent: sh(script) });
    await promise;
    const output = events.filter((e) => e.type === "agent.output");
    const texts = events.flatMap((e) => agentEventsOf(e).flatMap((a) => (a.type === "text" ? [a.text] : [])));
    expect(texts).toEqual([...Array.from({ length: 5000 }, (_, i) => `line ${i}`), "<promise>COMPLETE</promise>", "", "after"]);
    expect(events.flatMap((e) => agentEventsOf(e).filter((a) => a.type === "raw"))).toEqual([{ type: "raw", line: "oops ü", stream: "stderr" }]);
    // Far fewer events than lines: one per read of the pipe, not one per line.
    expect(output.length).toBeLessThan(100);
    expect(output.every((e) => e.type === "agent.output" && e.lines.length > 0 && e.iteration === 1)).toBe(true);
    expect(output.find((e) => e.type === "agent.output" && e.kind === "raw")).toMatchObject({ stream: "stderr", lines: ["oops ü"] });
    expect(events.some((e) => e.type === "agent")).toBe(false); // the command agent says nothing else
    const signalAt = events.findIndex((e) => e.type === "agent.output" && e.lines.includes("<promise>COMPLETE</promise>"));
    const detectedAt = events.findIndex((e) => e.type === "completion.detected");
    expect(signalAt).toBeGreaterThan(-1);
    expect(detectedAt).toBeGreaterThan(signalAt);
    expect(events.findIndex((e) => e.type === "iteration.finished")).toBeGreaterThan(events.lastIndexOf(output.at(-1)!));
  });

  it("gives the same events from a sandbox that delivers blocks (onLines, ADR 0720) as from one written before it (onLine only)", async () => {
    const repo = await tempRepo();
    const seen = { onLine: 0, onLines: 0 };
    // The host sandbox, with what each exec is given recorded; `linesOnly` takes onLines away, as an older plugin ignores it.
    const sandboxOf = (linesOnly: boolean): Sandbox =>
      hostExecThrough(linesOnly ? "lines-only" : "blocks", (handle, argv, options = {}) => {
        const { onLines, ...rest } = options;
        const counted = { ...rest, onLine: (line: string, stream: "stdout" | "stderr") => (seen.onLine++, options.onLine?.(line, stream)) };
        return handle.exec(argv, linesOnly || !onLines ? counted : { ...counted, onLines: (block, stream) => (seen.onLines++, onLines(block, stream)) });
      });
    // Text and raw stderr interleaved, CRLF, UTF-8, a line past the cap, the signal inside a burst, and a last line without a newline.
    const script = [
      `awk 'BEGIN { for (i = 0; i < 20000; i++) print "line " i }'`,
      `echo "oops ü" >&2`,
      `printf 'crlf\\r\\nhé ✓\\n'`,
      `head -c 3000 /dev/zero | tr '\\0' x; echo`,
      `printf '%s\\n' 'before' '<promise>COMPLETE</promise>' 'after'`,
      `printf 'no newline'`,
    ].join("; ");
    const outputOf = async (linesOnly: boolean) => {
      const { promise, events } = await runIn(repo, { agent: sh(script), sandbox: sandboxOf(linesOnly), maxLineChars: 2000 });
      const result = await promise;
      const agent = events.flatMap((e) => agentEventsOf(e));
      // In order per stream (the two pipes are read apart, so how they interleave is the scheduler's).
      return {
        status: result.status,
        text: agent.filter((a) => a.type === "text"),
        other: agent.filter((a) => a.type !== "text"),
        order: events.filter((e) => e.type === "completion.detected" || (e.type === "agent.output" && (e.lines.includes("before") || e.lines.includes("after")))).map((e) => (e.type === "agent.output" ? e.lines.filter((l) => l === "before" || l === "after").join("+") : e.type)),
      };
    };
    const blocks = await outputOf(false);
    expect(seen.onLines).toBeGreaterThan(0);
    const before = { ...seen };
    const lines = await outputOf(true);
    expect(seen.onLines).toBe(before.onLines);
    expect(seen.onLine).toBeGreaterThan(20000);
    expect(blocks).toEqual(lines);
    const texts = blocks.text.flatMap((a) => (a.type === "text" ? [a.text] : []));
    expect(blocks.other).toEqual([{ type: "raw", line: "oops ü", stream: "stderr" }]);
    expect(texts).toEqual([...Array.from({ length: 20000 }, (_, i) => `line ${i}`), "crlf", "hé ✓", `${"x".repeat(2000)}${CUT_MARKER}`, "before", "<promise>COMPLETE</promise>", "after", "no newline"]);
    expect(blocks.order).toEqual(["before", "completion.detected", "after"]);
  });

  it("looks at a parser's events of a block together: hides a secret in one event among thousands, and one split across two events; twin: the others arrive as parsed, the same from lines", async () => {
    const repo = await tempRepo();
    const secret = "sk-parsed-secret-0123456789";
    // JSON lines: {"call":…} a tool call with that input, {"out":…} a tool result, {"say":…} text.
    const parsed: Agent["parser"] = () => ({
      parse: (line, stream) => {
        if (stream === "stderr" || !line.startsWith("{")) return [{ type: "raw", line, stream }];
        const value = JSON.parse(line) as { call?: unknown; out?: string; say?: string };
        if (value.call !== undefined) return [{ type: "tool-call", name: "run", input: value.call }];
        if (value.out !== undefined) return [{ type: "tool-result", output: value.out }];
        return [{ type: "text", text: value.say ?? "" }];
      },
    });
    const script = [
      `awk 'BEGIN { for (i = 0; i < 3000; i++) printf "{\\"call\\":{\\"n\\":%d}}\\n{\\"out\\":\\"step %d\\"}\\n", i, i }'`,
      `printf '{"call":{"command":"echo %s"}}\\n{"out":"API_KEY=hunter22x"}\\n' "$SECRET"`,
      // The secret's first part ends one event's text and the rest starts the next one's.
      `printf '{"say":"%s"}\\n{"say":"%s"}\\n' "\${SECRET%%-0123456789}" "-0123456789 done"`,
      `awk 'BEGIN { for (i = 0; i < 3000; i++) printf "{\\"say\\":\\"after %d\\"}\\n", i }'`,
    ].join("; ");
    const agent: Agent = { name: "parsed", command: () => ({ argv: ["sh", "-c", script] }), parser: parsed };
    const linesOnly = hostExecThrough("lines-only", (handle, argv, { onLines: _, ...options } = {}) => handle.exec(argv, options));
    const outputs = [];
    for (const sandbox of [hostSandbox.create({}), linesOnly]) {
      const { promise, events } = await runIn(repo, { agent, sandbox, env: { SECRET: secret }, secretEnv: ["SECRET"] });
      await promise;
      const json = JSON.stringify(events);
      expect(json).not.toContain(secret);
      expect(json).not.toContain("sk-parsed-secret");
      expect(json).not.toContain("hunter22x");
      outputs.push(events.flatMap((e) => agentEventsOf(e)));
    }
    expect(outputs[0]).toEqual(outputs[1]);
    expect(outputs[0]).toEqual([
      ...Array.from({ length: 3000 }, (_, i) => [{ type: "tool-call", name: "run", input: { n: i } }, { type: "tool-result", output: `step ${i}` }]).flat(),
      { type: "tool-call", name: "run", input: { command: "echo ***" } },
      { type: "tool-result", output: "API_KEY=***" },
      { type: "text", text: "***" },
      { type: "text", text: "*** done" },
      ...Array.from({ length: 3000 }, (_, i) => ({ type: "text", text: `after ${i}` })),
    ]);
  });

  it("a failing agent's output tail is the same from blocks as from lines", async () => {
    const repo = await tempRepo();
    const inner = hostSandbox.create({});
    const linesOnly = hostExecThrough("lines-only", (handle, argv, { onLines: _, ...options } = {}) => handle.exec(argv, options));
    const script = `seq 1 5000; sleep 0.2; echo "bad thing" >&2; sleep 0.2; seq 1 30; exit 3`;
    const tails = [];
    for (const sandbox of [inner, linesOnly]) {
      const error = await (await runIn(repo, { agent: sh(script), sandbox })).promise.catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "E_AGENT_EXECUTION", exitCode: 3 });
      tails.push((error as { outputTail: string[] }).outputTail);
    }
    expect(tails[0]).toEqual(tails[1]);
    expect(tails[0]!.slice(-31)).toEqual(["stderr: bad thing", ...Array.from({ length: 30 }, (_, i) => String(i + 1))]);
  });

  it("redacts every line of a batch; twin: the lines without a secret arrive as printed", async () => {
    const repo = await tempRepo();
    const secret = "sk-batch-secret-0123456789";
    const { promise, events } = await runIn(repo, { agent: sh(`echo "a $SECRET b"; echo plain; echo "$SECRET" >&2; echo '<promise>COMPLETE</promise>'`), env: { SECRET: secret }, secretEnv: ["SECRET"] });
    await promise;
    expect(JSON.stringify(events)).not.toContain(secret);
    const all = events.flatMap((e) => agentEventsOf(e));
    expect(all).toEqual(expect.arrayContaining([{ type: "text", text: "a *** b" }, { type: "text", text: "plain" }, { type: "raw", line: "***", stream: "stderr" }]));
  });

  it("hides a secret in a block of many short lines, and one split across two lines of a block (ADR 0740); twin: the short lines arrive as printed", async () => {
    const repo = await tempRepo();
    const secret = "sk-block-secret-0123456789";
    // Blocks are whole lines: a line is never split across reads, but a secret printed across two lines of one block is.
    const script = `yes | head -n 20000; echo "a $SECRET b"; echo "API_KEY=hunter22x"; printf '%s\\n%s\\n' "\${SECRET%%-0123456789}" "-0123456789x"; yes n | head -n 20000`;
    const { promise, events } = await runIn(repo, { agent: sh(script), env: { SECRET: secret }, secretEnv: ["SECRET"] });
    await promise;
    const json = JSON.stringify(events);
    expect(json).not.toContain(secret);
    expect(json).not.toContain("hunter22x");
    expect(json).not.toContain("sk-block-secret");
    const texts = events.flatMap((e) => agentEventsOf(e)).flatMap((a) => (a.type === "text" ? [a.text] : []));
    expect(texts).toEqual([...Array.from({ length: 20000 }, () => "y"), "a *** b", "API_KEY=***", "***", "***x", ...Array.from({ length: 20000 }, () => "n")]);
  });
});
