import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, readlink, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { agentEventsOf, isEvent, type RunEvent } from "../events.js";
import { AbortError, AgentExecutionError, CorralError, IdleTimeoutError, MissingCredentialsError } from "../errors.js";
import { GATEWAY_PLACEHOLDER } from "../run/network.js";
import { Output } from "../output.js";
import { spawnStreaming } from "../process.js";
import type { RunOptions, RunResult } from "../run/options.js";
import type { Mount } from "../sandbox.js";
import type { Usage } from "../usage.js";
import { z } from "zod";
import { git } from "../git.js";
import { runProcesses } from "../liveness.js";
import { newRunId, run } from "../run.js";
import { eventually } from "./processes.js";
import { instantiate } from "../plugin.js";

/** Token counts of one scripted model turn. */
export interface EndToEndTurnUsage {
  /** Input tokens, without the cached ones. */
  inputTokens: number;
  /** Output tokens. */
  outputTokens: number;
  /** Input tokens read from the provider's cache. */
  cacheReadTokens: number;
  /** Input tokens written to the provider's cache. */
  cacheWriteTokens: number;
}

/**
 * One scripted turn of the mock model API: a reply (text and/or shell tool calls, with its token
 * counts), a stream that starts and then says nothing, or an HTTP error with the provider's error body.
 */
export type EndToEndTurn =
  | { text?: string; toolCalls?: Array<{ shell: string }>; usage?: Partial<EndToEndTurnUsage> }
  | { stall: true }
  | { status: number; message: string };

/** One request the mock model API received. */
export interface EndToEndRequest {
  /** The HTTP headers, as Node gives them (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body. */
  body: any;
}

/**
 * A running mock of the agent's model API, driven by a script (`@corral/mock-model-api` in corral's
 * own repository is one). The kit only reads what the CLI sent; what "conversation" means (the
 * requests that took a turn of the script) is the mock's.
 */
export interface EndToEndApi {
  /** The base URL the CLI is pointed at (`http://127.0.0.1:<port>`). */
  readonly url: string;
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: readonly EndToEndRequest[];
  /** The requests that took a turn of the script. */
  conversation(): EndToEndRequest[];
  /** Resolves once `count` conversation requests have arrived. */
  waitForConversation(count: number, timeoutMs?: number): Promise<void>;
  /** Stops the server and drops every open connection. */
  close(): Promise<void>;
}

/** One sandbox the scenarios run in, besides the host (which they always run in). */
export interface EndToEndSandbox {
  /** The sandbox's plugin name, as `sandbox.ready` reports it (`bwrap`, `docker`, ...). */
  name: string;
  /** A fresh sandbox for one run. */
  sandbox(): NonNullable<RunOptions["sandbox"]>;
  /** Why the sandbox cannot run here (a missing engine, image, binary); undefined when it can. Skips outside CI, fails in CI. */
  unavailable(): Promise<string | undefined>;
  /** What shows the CLI inside (e.g. its native binary where the image's PATH finds it). Default: none. */
  mounts?: Mount[];
  /** The sandbox's PATH. Default: the CLI's bin folder, then the host's PATH (a sandbox that shows the host's /usr). */
  path?: string;
  /** A TMPDIR for the run's repository and HOME while its cases run (a container's /tmp is its own tmpfs). */
  tmpdir?: string;
  /** The sandbox's processes live in another pid namespace: the abort case checks the CLI ran there. */
  ownPidNamespace?: boolean;
  /** The sandbox enforces a network allowlist: the gateway and allowlist cases run in it. */
  networkPolicy?: boolean;
  /** The sandbox finds a CLI installed in the project's node_modules without mounts: a case runs it without `mounts`. */
  findsInstalledCli?: boolean;
  /** The sandbox's leftovers labelled `corral.run=<id>` (containers): checked empty after every run. */
  leftovers?(runId: string): Promise<string[]>;
}

/** What the agent reports for one model turn of the given token counts. */
export type UsageOf = (turn: EndToEndTurnUsage) => Usage;

/** Everything `describeAgentEndToEnd` needs to know of one agent plugin and its CLI. */
export interface AgentEndToEndOptions {
  /** The agent's plugin name (`claude`): the describes and `corral run --agent` use it. */
  name: string;
  /** The plugin, configured against the mock: `model` is unique to one case. A case finds the CLI's processes by the run id in their env (`CORRAL_RUN_ID`), not by name. */
  agent(input: { model: string; api: EndToEndApi }): RunOptions["agent"];
  /** Model names are `<modelPrefix>-<random>`. */
  modelPrefix: string;
  /** Starts the mock of the agent's model API. */
  startApi(options: { script: EndToEndTurn[] }): Promise<EndToEndApi>;
  /** The API key variable the plugin declares and the fake key the cases use (the kit checks it never shows). */
  credential: { name: string; value: string };
  /** Host env (besides the key) that points the CLI at the mock, e.g. `{ ANTHROPIC_BASE_URL: api.url }`. */
  apiEnv(api: EndToEndApi): Record<string, string>;
  /** Env for the sandbox (e.g. no retries). */
  env?: Record<string, string>;
  /** The key a request authenticated with (the header without any `Bearer `). */
  sentKey(request: EndToEndRequest): string | undefined;
  /** The conversation a request carried, as text: where the prompt and the history are looked for. */
  conversationText(request: EndToEndRequest): string;
  /**
   * The installed CLI: the folder that holds its `command` (put first on the host's PATH), how many processes it
   * runs as, and how long it may say nothing while it starts (the idle case's idle timeout; default 8 s).
   */
  cli: { binDir: string; command: string; processes?: number; silentStartSeconds?: number };
  /** What the agent reports. */
  expects: {
    /** The tool-call name of a shell command, and what its tool-result carries (`{ output: "committed" }`). */
    shellCall: string;
    shellResult: Record<string, unknown>;
    /** One model turn's usage as the agent reports it. */
    usage: UsageOf;
    /** The agent reports a cost in USD. */
    costUsd: boolean;
    sessionId: RegExp;
    /**
     * What the key variable holds in the CLI's shell tool under the credentials gateway: the gateway's
     * placeholder (default), or nothing where the CLI strips its own key variable from its tools' env (Copilot CLI).
     */
    shellKeyVar?: "placeholder" | "stripped";
    /** API errors and the text the run's error must carry for each. */
    apiErrors: Array<{ status: number; message: string; contains: string }>;
    /**
     * The hosts the CLI reaches for besides its API (an update check, a registry look-up, telemetry), which an
     * empty allowlist denies: the gateway case checks it asked for exactly these and still completed. Unchecked when undefined.
     */
    deniedHosts?: string[];
  };
  /** The isolation the sandboxes' cases use (a git worktree: the commit is checked on the run's branch). */
  isolation(): NonNullable<RunOptions["isolation"]>;
  /** The sandboxes besides the host. */
  sandboxes: EndToEndSandbox[];
  /**
   * The `corral` command: `argv` runs it (e.g. `["node", ".../bin.js"]`); the plugin package at
   * `packageDir` is linked into the project's node_modules as `packageName`, as a user installs it.
   */
  corral?: {
    argv: string[];
    packageDir: string;
    packageName: string;
    /** Extra flags for `corral run` (e.g. `--model`). */
    args?: string[];
    /** Extra env for the `corral` process. */
    env?(api: EndToEndApi): Record<string, string>;
    /** Why the command or the package cannot run (not built); the case skips, or fails in CI. */
    unavailable?: string | undefined;
  };
}

/** The shell command the scripted tool call runs: a file, a commit, and a word the model sees. */
export const END_TO_END_COMMIT_SCRIPT =
  "printf 'hello from the agent\\n' > hello.txt && git add hello.txt && git commit -q -m 'agent: add hello.txt' && echo committed";
const PROMPT = "Write hello.txt and commit it. Say <promise>COMPLETE</promise> when done.";
const DONE = "Done. <promise>COMPLETE</promise>";
const TURN: EndToEndTurnUsage = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, cacheWriteTokens: 5 };
const SMALL_TURN: EndToEndTurnUsage = { inputTokens: 7, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 };
const TOKEN_FIELDS = ["inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens"] as const;

/**
 * How long a case waits for the CLI's first model request. Generous on purpose: a CLI's start-up is its own
 * (OpenCode's took 30–50 s on a loaded 2-core machine), and the case only needs the request to have come.
 */
const FIRST_REQUEST_MS = 180_000;
const inCI = () => process.env.CI === "true" || process.env.CI === "1";
const tokens = (usage: Usage | undefined) => Object.fromEntries(TOKEN_FIELDS.map((field) => [field, usage?.[field] ?? 0]));
const sum = (...usages: Usage[]) => Object.fromEntries(TOKEN_FIELDS.map((field) => [field, usages.reduce((n, u) => n + (u[field] ?? 0), 0)]));
const commitTurns = (): EndToEndTurn[] => [
  { text: "Writing the file.", toolCalls: [{ shell: END_TO_END_COMMIT_SCRIPT }], usage: TURN },
  { text: DONE, usage: TURN },
];

/**
 * The agent end-to-end suite: the real CLI of an agent plugin, run by corral against a mock of its
 * model API, through the standard scenarios: a text answer (a prompt over 128 KiB, whole), a tool
 * call that commits, API errors, an idle (stalled) model, resume (structured output asked again in
 * the same session), usage accounting per exec, missing credentials, abort, and no secret in any
 * event, error or output. On the host every scenario runs; in each of `sandboxes` the commit (on
 * the run's branch) and the abort, plus the credential gateway and the network allowlist where the
 * sandbox enforces one; through the `corral` command when `corral` is given.
 *
 * A CLI that is not installed, or a sandbox that is unavailable, skips its cases with the reason,
 * except in CI (`CI=true`), where it fails.
 */
export function describeAgentEndToEnd(options: AgentEndToEndOptions): void {
  const { name, credential, cli, expects } = options;
  const cliMissing = existsSync(join(cli.binDir, cli.command)) ? undefined : `the ${name} CLI is not installed in ${cli.binDir}`;
  const hostPath = `${cli.binDir}:${process.env.PATH ?? "/usr/bin:/bin"}`;
  const uniqueModel = () => `${options.modelPrefix}-${randomBytes(4).toString("hex")}`;

  const state: { api?: EndToEndApi; repo?: string } = {};
  const start = async (script: EndToEndTurn[]) => (state.api = await options.startApi({ script }));
  const repo = async () => (state.repo = await gitRepoForKit());
  const cleanUp = async () => {
    await state.api?.close();
    if (state.repo) await rm(state.repo, { recursive: true, force: true });
    state.api = state.repo = undefined;
  };

  /** Runs the agent against `api`; every event, the result and any error are checked for the key. */
  async function runAgent<T = undefined>(
    api: EndToEndApi,
    overrides: Partial<RunOptions<T>> & { cwd: string; model?: string; path?: string },
    events: RunEvent[] = [],
  ): Promise<RunResult<T>> {
    const { model = uniqueModel(), path = hostPath, ...rest } = overrides;
    try {
      return await run<T>({
        agent: options.agent({ model, api }),
        prompt: PROMPT,
        handleProcessSignals: false,
        idleTimeout: 60,
        hostEnv: { PATH: path, [credential.name]: credential.value, ...options.apiEnv(api) },
        ...(options.env ? { env: options.env } : {}),
        onEvent: (event) => events.push(event),
        ...rest,
      });
    } catch (error) {
      expect(describeError(error)).not.toContain(credential.value);
      throw error;
    } finally {
      expect(JSON.stringify(events)).not.toContain(credential.value);
    }
  }

  const skipUnless = (ctx: TestContext, reason: string | undefined) => {
    if (reason) ctx.skip(reason);
  };
  const failInCI = (reason: string | undefined) => {
    if (reason && inCI()) throw new Error(`CI must provide this, but: ${reason}`);
  };

  describe(`agent end to end: ${name}, real CLI, host sandbox`, () => {
    beforeAll(() => failInCI(cliMissing));
    afterEach(cleanUp);

    it("the model's tool call writes and commits in the workspace; the commit, completion, usage, cost and session are reported", async (ctx) => {
      skipUnless(ctx, cliMissing);
      const api = await start(commitTurns());
      const cwd = await repo();
      const events: RunEvent[] = [];
      const result = await runAgent(api, { cwd, maxIterations: 3 }, events);

      expect(readFileSync(join(cwd, "hello.txt"), "utf8")).toBe("hello from the agent\n");
      expect(result.commits.map((c) => [c.subject, c.files])).toEqual([["agent: add hello.txt", ["hello.txt"]]]);
      expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
      expect(result.iterations).toBe(1);
      expect(tokens(result.usage)).toEqual(sum(expects.usage(TURN), expects.usage(TURN)));
      if (expects.costUsd) expect(result.usage.costUsd).toBeGreaterThan(0);
      expect(result.sessionId).toMatch(expects.sessionId);

      const agentEvents = events.flatMap(agentEventsOf);
      expect(agentEvents).toContainEqual(expect.objectContaining({ type: "tool-call", name: expects.shellCall }));
      expect(agentEvents).toContainEqual(expect.objectContaining({ type: "tool-result", ...expects.shellResult }));
      // The key reached the API, and the prompt with it.
      const [first] = api.conversation();
      expect(options.sentKey(first!)).toBe(credential.value);
      expect(options.conversationText(first!)).toContain("Write hello.txt and commit it.");
    });

    it("a text answer: a prompt over 128 KiB reaches the model whole and the answer's text and completion come back", async (ctx) => {
      skipUnless(ctx, cliMissing);
      const api = await start([{ text: "Read it. <promise>COMPLETE</promise>", usage: TURN }]);
      const cwd = await repo();
      const prompt = `${"lorem ipsum ".repeat(16 * 1024)}END-OF-PROMPT-MARKER`;
      expect(prompt.length).toBeGreaterThan(190 * 1024);
      const events: RunEvent[] = [];
      const result = await runAgent(api, { cwd, prompt }, events);
      expect(options.conversationText(api.conversation()[0]!)).toContain("END-OF-PROMPT-MARKER");
      expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
      const texts = events.flatMap(agentEventsOf).flatMap((e) => (e.type === "text" ? [e.text] : []));
      expect(texts.join("")).toContain("Read it.");
      expect(result.commits).toEqual([]);
    });

    it("resume: structured output is asked again in the same session, and each exec's usage is counted once", async (ctx) => {
      skipUnless(ctx, cliMissing);
      const api = await start([{ text: "The answer is 42.", usage: TURN }, { text: '<answer>{"value": 42}</answer>', usage: SMALL_TURN }]);
      const cwd = await repo();
      const events: RunEvent[] = [];
      const result = await runAgent(
        api,
        { cwd, prompt: 'Answer inside <answer>{"value": number}</answer>.', output: Output.object("answer", answerSchema, { maxRetries: 1 }) },
        events,
      );
      expect(result.output).toEqual({ value: 42 });
      // The retry carries the first exchange: it is the same session, resumed.
      const history = options.conversationText(api.conversation()[1]!);
      expect(history).toContain("The answer is 42.");
      expect(history).toContain("did not write a <answer>");
      // Some CLIs report a resumed session's running total; corral reports each exec's own.
      const perExec = events.filter((e) => isEvent(e, "iteration.finished")).map((e) => tokens(e.usage));
      expect(perExec).toEqual([tokens(expects.usage(TURN)), tokens(expects.usage(SMALL_TURN))]);
      expect(tokens(result.usage)).toEqual(sum(expects.usage(TURN), expects.usage(SMALL_TURN)));
    });

    // Across runs (`corral run --resume`): only an agent that keeps a session in its HOME (`sessionFiles`) can continue one.
    const keptSession = instantiate("agent", options.agent({ model: "kit", api: { url: "http://127.0.0.1:9", port: 9 } as EndToEndApi })).sessionFiles?.[0];
    it.runIf(keptSession !== undefined)(
      "resume across runs: the run that continues gets the session the first one kept, the model sees the first exchange, each run counts only its own tokens; a run that does not resume starts afresh",
      async (ctx) => {
        skipUnless(ctx, cliMissing);
        const api = await start([{ text: "First answer MARKER-KEPT.", usage: TURN }, { text: DONE, usage: SMALL_TURN }, { text: DONE, usage: SMALL_TURN }]);
        const cwd = await repo();
        const kept = await mkdtemp(join(tmpdir(), "corral-kit-session-"));
        try {
          const first = await runAgent(api, { cwd, prompt: "Say MARKER-KEPT.", maxIterations: 1, keepSession: kept });
          expect(first.sessionId).toMatch(expects.sessionId);
          expect(existsSync(join(kept, keptSession!))).toBe(true);
          const second = await runAgent(api, { cwd, prompt: "And now?", resume: { runId: first.runId, sessionId: first.sessionId!, sessionDir: kept } });
          expect(second.status).toBe("succeeded");
          expect(second.sessionId).toBe(first.sessionId);
          const history = options.conversationText(api.conversation()[1]!);
          for (const said of ["Say MARKER-KEPT.", "First answer MARKER-KEPT.", "And now?"]) expect(history).toContain(said);
          // A CLI whose session reports running totals (Copilot's usage file) still gives each run its own.
          expect(tokens(first.usage)).toEqual(tokens(expects.usage(TURN)));
          expect(tokens(second.usage)).toEqual(tokens(expects.usage(SMALL_TURN)));
          // The twin: without resume, a session of its own, without the first exchange.
          const fresh = await runAgent(api, { cwd, prompt: "Anything." });
          expect(fresh.sessionId).not.toBe(first.sessionId);
          expect(options.conversationText(api.conversation()[2]!)).not.toContain("MARKER-KEPT");
        } finally {
          await rm(kept, { recursive: true, force: true });
        }
      },
    );

    it("an idle agent: a stalled model ends in an idle timeout after one request and leaves no process", async (ctx) => {
      skipUnless(ctx, cliMissing);
      const api = await start([{ stall: true }]);
      const cwd = await repo();
      const runId = newRunId();
      // Long enough for a slow start on a loaded machine to reach the model first.
      const running = runAgent(api, { cwd, idleTimeout: cli.silentStartSeconds ?? 8, runId });
      running.catch(() => {});
      await api.waitForConversation(1, FIRST_REQUEST_MS);
      await expect(running).rejects.toBeInstanceOf(IdleTimeoutError);
      expect(api.conversation()).toHaveLength(1);
      await eventually(() => runProcesses(runId).length === 0, `${name} processes to exit`);
      // A silent start, then as long again of silence after the request, and room for the rest.
    }, Math.max(120_000, ((cli.silentStartSeconds ?? 8) * 2 + 60) * 1000));

    for (const apiError of expects.apiErrors) {
      it(`an API error: HTTP ${apiError.status} is an AgentExecutionError carrying what the CLI reports`, async (ctx) => {
        skipUnless(ctx, cliMissing);
        const api = await start([{ status: apiError.status, message: apiError.message }]);
        const cwd = await repo();
        const error = await runAgent(api, { cwd }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AgentExecutionError);
        expect((error as AgentExecutionError).message).toContain(apiError.contains);
      });
    }

    it("missing credentials fail with the clear error before anything is spawned", async (ctx) => {
      skipUnless(ctx, cliMissing);
      const api = await start([{ text: "never" }]);
      const cwd = await repo();
      const error = await runAgent(api, { cwd, hostEnv: { PATH: hostPath, ...options.apiEnv(api) } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MissingCredentialsError);
      expect((error as MissingCredentialsError).code).toBe("E_MISSING_CREDENTIALS");
      expect((error as MissingCredentialsError).message).toContain(credential.name);
      expect(api.requests).toHaveLength(0);
    });

    it("an aborted run leaves no process of the CLI behind", async (ctx) => {
      skipUnless(ctx, cliMissing);
      const api = await start([{ stall: true }]);
      const cwd = await repo();
      const runId = newRunId();
      const controller = new AbortController();
      const running = runAgent(api, { cwd, signal: controller.signal, runId });
      running.catch(() => {});
      await api.waitForConversation(1, FIRST_REQUEST_MS);
      expect(runProcesses(runId).length).toBeGreaterThanOrEqual(cli.processes ?? 1);
      controller.abort("test abort");
      await expect(running).rejects.toBeInstanceOf(AbortError);
      await eventually(() => runProcesses(runId).length === 0, `${name} processes to exit`);
    });
  });

  for (const target of options.sandboxes) describeSandbox(target);

  function describeSandbox(target: EndToEndSandbox): void {
    describe(`agent end to end: ${name}, real CLI, ${target.name} sandbox, ${"git worktree"}`, () => {
      let unavailable: string | undefined;
      let previousTmp: string | undefined;
      beforeAll(async () => {
        unavailable = cliMissing ?? (await target.unavailable());
        failInCI(unavailable);
        previousTmp = process.env.TMPDIR;
        if (target.tmpdir) process.env.TMPDIR = target.tmpdir;
      });
      afterAll(() => {
        if (previousTmp === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = previousTmp;
      });
      afterEach(cleanUp);

      const inSandbox = (extra: Partial<RunOptions<undefined>> = {}) => ({
        sandbox: target.sandbox(),
        isolation: options.isolation(),
        mounts: target.mounts ?? [],
        path: target.path ?? hostPath,
        ...extra,
      });
      const noLeftovers = async (runId: string) => {
        if (target.leftovers) expect(await target.leftovers(runId)).toEqual([]);
      };

      it("the tool call commits on the run's branch inside the sandbox; the main checkout is untouched; completion and usage are reported", async (ctx) => {
        skipUnless(ctx, unavailable);
        const api = await start(commitTurns());
        const cwd = await repo();
        const events: RunEvent[] = [];
        const result = await runAgent(api, { cwd, name: `${name}-${target.name}`, maxIterations: 2, ...inSandbox() }, events);

        expect(events.find((e) => isEvent(e, "sandbox.ready"))).toMatchObject({ sandbox: target.name });
        expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
        expect(result.iterations).toBe(1);
        expect(result.commits.map((c) => [c.subject, c.files])).toEqual([["agent: add hello.txt", ["hello.txt"]]]);
        expect(result.branch).toBeTruthy();
        expect(await gitOut(cwd, "log", "-1", "--format=%s", result.branch!)).toBe("agent: add hello.txt");
        expect(await gitOut(cwd, "show", `${result.branch!}:hello.txt`)).toBe("hello from the agent");
        expect(existsSync(join(cwd, "hello.txt"))).toBe(false);
        expect(tokens(result.usage)).toEqual(sum(expects.usage(TURN), expects.usage(TURN)));
        await noLeftovers(events[0]!.runId);
      });

      it("an aborted run leaves no process of the CLI, inside the sandbox or out, and nothing of the sandbox", async (ctx) => {
        skipUnless(ctx, unavailable);
        const api = await start([{ stall: true }]);
        const cwd = await repo();
        const runId = newRunId();
        const events: RunEvent[] = [];
        const controller = new AbortController();
        const running = runAgent(api, { cwd, signal: controller.signal, runId, ...inSandbox() }, events);
        running.catch(() => {});
        await api.waitForConversation(1, FIRST_REQUEST_MS);
        if (target.leftovers) expect(await target.leftovers(runId)).toHaveLength(1);
        const pids = runProcesses(runId);
        expect(pids.length).toBeGreaterThan(0);
        // The CLI runs in the sandbox's pid namespace, not ours.
        if (target.ownPidNamespace) expect((await Promise.all(pids.map(inOtherPidNamespace))).filter(Boolean).length).toBeGreaterThan(0);

        controller.abort("test abort");
        await expect(running).rejects.toBeInstanceOf(AbortError);
        await eventually(() => runProcesses(runId).length === 0, `${name} processes to exit`);
        await noLeftovers(runId);
      });

      if (target.findsInstalledCli) {
        it("without mounts: the CLI installed in node_modules is found on the host and shown inside read-only", async (ctx) => {
          skipUnless(ctx, unavailable);
          const api = await start([{ text: DONE, usage: TURN }]);
          const cwd = await repo();
          const events: RunEvent[] = [];
          const result = await runAgent(api, { cwd, ...inSandbox({ mounts: [] }) }, events);
          expect(result.completionSignal).toBe("<promise>COMPLETE</promise>");
          const note = events.find((e) => isEvent(e, "log") && e.message.includes("shown read-only inside"));
          expect(note && isEvent(note, "log") ? note.message : "").toContain(outermostNodeModules(join(cli.binDir, cli.command)));
        });
      }

      if (target.networkPolicy) {
        // What a compromised agent would run to find its key: the whole env of every process, its HOME, its args.
        // The key is put together at run time, so that the command itself (in the CLI's own transcript under HOME) does not hold it.
        const [head, tail] = [credential.value.slice(0, 8), credential.value.slice(8)];
        // No command substitution: some CLIs' shell tools refuse `$(…)` (Gemini CLI does).
        const hunt = `k="${head}"; k="\${k}${tail}"; printf 'env-hits:'; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c "$k"; printf 'home-hits:'; grep -rs "$k" "$HOME" | wc -l; echo "key-var:$${credential.name}"`;

        it("credentials: gateway — the mock API sees the real key, the sandbox never holds it", async (ctx) => {
          skipUnless(ctx, unavailable);
          const api = await start([{ text: "Looking around.", toolCalls: [{ shell: `${hunt} && ${END_TO_END_COMMIT_SCRIPT}` }], usage: TURN }, { text: DONE, usage: TURN }]);
          const cwd = await repo();
          const events: RunEvent[] = [];
          const result = await runAgent(api, { cwd, maxIterations: 2, network: { allow: [] }, credentials: "gateway", ...inSandbox() }, events);
          expect(result.commits.map((c) => c.subject)).toEqual(["agent: add hello.txt"]);
          // Every request reached the API with the host's key, added by the gateway.
          expect(api.requests.length).toBeGreaterThan(0);
          expect(api.requests.every((r) => options.sentKey(r) === credential.value)).toBe(true);
          // The tool's output went back to the model unredacted: inside, the key was nowhere.
          const toolResult = JSON.stringify(api.conversation().at(-1)?.body).match(/env-hits:[^"]*committed/)?.[0];
          expect(toolResult).toBe(`env-hits:0\\nhome-hits:0\\nkey-var:${expects.shellKeyVar === "stripped" ? "" : GATEWAY_PLACEHOLDER}\\ncommitted`);
          expect(api.requests.some((r) => JSON.stringify(r.body ?? "").includes(credential.value))).toBe(false);
          expect(events.filter((e) => e.type === "network.allowed").every((e) => e.type === "network.allowed" && e.protocol === "gateway")).toBe(true);
          // Unattended and quiet: nothing but the API was reached for, except what the agent declares (and the run did without).
          if (expects.deniedHosts) {
            const denied = new Set(events.flatMap((e) => (e.type === "network.denied" ? [e.host] : [])));
            expect(denied).toEqual(new Set(expects.deniedHosts));
          }
        });

        it("(twin) the key in the sandbox's env, through the allowlist: the API is reached through the proxy, nothing else", async (ctx) => {
          skipUnless(ctx, unavailable);
          const probe = `curl -sS -o /dev/null -w 'elsewhere:%{http_code}\\n' http://example.com/; ${END_TO_END_COMMIT_SCRIPT}`;
          const api = await start([{ text: "Trying the network.", toolCalls: [{ shell: probe }], usage: TURN }, { text: DONE, usage: TURN }]);
          const cwd = await repo();
          const events: RunEvent[] = [];
          const result = await runAgent(api, { cwd, maxIterations: 2, network: { allow: [] }, ...inSandbox() }, events);
          expect(result.commits.map((c) => c.subject)).toEqual(["agent: add hello.txt"]);
          expect(JSON.stringify(api.conversation().at(-1)?.body).match(/elsewhere:\d+/)?.[0]).toBe("elsewhere:403");
          expect(events.some((e) => e.type === "network.allowed" && e.host === "127.0.0.1" && e.port === api.port)).toBe(true);
          expect(events.some((e) => e.type === "network.denied" && e.host === "example.com")).toBe(true);
        });
      }
    });
  }

  const corral = options.corral;
  if (corral) {
    describe(`agent end to end: corral run --agent ${name} (the CLI)`, () => {
      const missing = cliMissing ?? corral.unavailable;
      beforeAll(() => failInCI(missing));
      afterEach(cleanUp);

      it("runs the real CLI through corral: a commit on the run's branch, NDJSON with usage and no key, exit 0", async (ctx) => {
        skipUnless(ctx, missing);
        const api = await start([
          { text: "Writing.", toolCalls: [{ shell: END_TO_END_COMMIT_SCRIPT }], usage: TURN },
          { text: DONE, usage: TURN },
        ]);
        const cwd = await repo();
        // As a user would: the plugin installed in the project, which is where the CLI resolves it.
        const link = join(cwd, "node_modules", corral.packageName);
        await mkdir(join(link, ".."), { recursive: true });
        await symlink(corral.packageDir, link);
        const stdout: string[] = [];
        const stderr: string[] = [];
        const argv = [...corral.argv, "run", "--agent", name, ...(corral.args ?? []), "--isolation", "worktree", "--prompt", "Write hello.txt and commit it.", "--json"];
        const result = await spawnStreaming(argv, {
          cwd,
          env: { PATH: hostPath, [credential.name]: credential.value, ...options.apiEnv(api), ...options.env, ...corral.env?.(api) },
          timeoutMs: 120_000,
          onLine: (line, stream) => (stream === "stdout" ? stdout : stderr).push(line),
        });
        expect(result.exitCode, stderr.join("\n")).toBe(0);
        const events = stdout.map((line) => JSON.parse(line) as { type: string; [key: string]: any });
        const finished = events.find((e) => e.type === "run.finished");
        expect(finished).toMatchObject({ status: "succeeded" });
        expect(tokens(finished!.usage)).toEqual(sum(expects.usage(TURN), expects.usage(TURN)));
        expect(events.find((e) => e.type === "commits")?.commits.map((c: { subject: string }) => c.subject)).toEqual(["agent: add hello.txt"]);
        expect(stdout.join("\n")).not.toContain(credential.value);
        expect(stderr.join("\n")).not.toContain(credential.value);
        const branch = events.find((e) => e.type === "workspace.ready")?.branch as string;
        expect(await gitOut(cwd, "log", "-1", "--format=%s", branch)).toBe("agent: add hello.txt");
      });
    });
  }
}

const answerSchema = z.object({ value: z.number() });

/** A real repository with one commit (README.md) on `main`, and a committer of its own. */
async function gitRepoForKit(): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), "corral-agent-e2e-")));
  await git(["init", "-q", "-b", "main"], { cwd: dir });
  await git(["config", "user.name", "Test"], { cwd: dir });
  await git(["config", "user.email", "test@example.com"], { cwd: dir });
  await writeFile(join(dir, "README.md"), "# test repo\n");
  await git(["add", "-A"], { cwd: dir });
  await git(["commit", "-q", "-m", "initial"], { cwd: dir });
  return dir;
}

/** What host git prints (trimmed), for checking the run's branch. */
async function gitOut(cwd: string, ...args: string[]): Promise<string> {
  return (await git(args, { cwd })).stdout.trim();
}

/** A run's error as text: its message, its output tail, its cause. */
function describeError(error: unknown): string {
  if (error instanceof CorralError) {
    const tail = error instanceof AgentExecutionError ? error.outputTail : [];
    return JSON.stringify({ message: error.message, hint: error.hint, tail, cause: String(error.cause ?? "") });
  }
  return String(error);
}

/** The first `…/node_modules` folder of the path a file really lives at (pnpm's store is under the root one). */
function outermostNodeModules(path: string): string {
  const real = realpathSync(path);
  const at = real.indexOf("/node_modules/");
  return at < 0 ? real : real.slice(0, at + "/node_modules".length);
}

/** Whether process `pid` lives in another pid namespace than this process. */
async function inOtherPidNamespace(pid: number): Promise<boolean> {
  const [theirs, ours] = await Promise.all([readlink(`/proc/${pid}/ns/pid`).catch(() => undefined), readlink("/proc/self/ns/pid")]);
  return theirs !== undefined && theirs !== ours;
}
