import { join } from "node:path";
import { linkAbort } from "../abort.js";
import type { Agent, AgentEvent } from "../agent.js";
import { describeAgentEvent } from "../describe.js";
import { AbortError, AgentExecutionError, CorralError, IdleTimeoutError, SandboxError } from "../errors.js";
import { setLazyOutput, type RunEventBody } from "../events.js";
import { TailBuffer } from "../lines.js";
import { readPlainFile } from "../plain-file.js";
import { copyForRedaction, type Redactor } from "../redact.js";
import type { ResourceLimits, SandboxHandle } from "../sandbox.js";
import { addUsage, emptyUsage, type Usage } from "../usage.js";
import { budgetStopOf } from "./budget.js";
import { passThroughOf } from "./pass-through.js";
import type { Emit } from "./scope.js";
import type { Settings } from "./settings.js";

/** What one iteration left behind for the loop: the agent's text (when asked for), session, signal, usage. */
export interface IterationOutcome {
  text: string[];
  sessionId?: string;
  signal?: string;
  usage: Usage;
}

export interface IterationContext {
  agent: Agent;
  handle: SandboxHandle;
  settings: Settings;
  home: string;
  cwd: string;
  limits: ResourceLimits;
  redactor: Redactor;
  signal: AbortSignal;
  emit: Emit;
  /** Adds an iteration's usage to the run's, also when the iteration then fails: tokens spent are spent. */
  account: (usage: Usage) => void;
  /** Called each time the iteration's usage grows: a reached budget aborts the run (`signal`) with itself as reason. */
  checkBudget: (pending: Usage) => void;
  /** Keep the agent's text (structured output reads it); otherwise only the last lines are kept, for errors. */
  keepText: boolean;
}

/** The agent's text kept for structured output is bounded: only the end of a long answer can hold its final tag. */
const KEPT_TEXT_CHARS = 8 * 1024 * 1024;

/** An `agent.output` event holds at most this many lines or characters (a read of 2-byte lines is ~32,000). */
const OUTPUT_BATCH_LINES = 8192;
const OUTPUT_BATCH_CHARS = 256 * 1024;

/** A tool event from a line at most this long waits in the output's tail undescribed (what it holds stays small). */
const LAZY_TAIL_LINE_CHARS = 16 * 1024;

/** The idle timeout is pushed back at most this often (so it fires up to this much early after steady output). */
const IDLE_REFRESH_MS = 50;

/**
 * One turn of the agent: builds its command, runs it in the sandbox, parses its output into events,
 * and watches for the completion signal (then a grace period), the idle timeout and the abort signal.
 * Throws the error that ended it; returns normally when the agent finished or completed.
 */
export async function runIteration(ctx: IterationContext, iteration: number, prompt: string, resumeSessionId?: string): Promise<IterationOutcome> {
  const { agent, settings, emit, redactor } = ctx;
  emit({ type: "prompt", iteration, chars: prompt.length });
  const input = { prompt, iteration, home: ctx.home, cwd: ctx.cwd, ...(resumeSessionId ? { resumeSessionId } : {}) };
  const command = agent.command(input);
  const parser = agent.parser(input);
  // A parser that makes one text or raw event of every line (the command agent's) is not called per line.
  const direct = passThroughOf(parser);
  const exec = new AbortController();
  const stopExec = linkAbort(ctx.signal, exec);
  const tail = new TailBuffer(50);
  const outcome: IterationOutcome = { text: [], usage: emptyUsage() };
  let keptChars = 0;
  let stopReason: "idle" | "grace" | undefined;
  let agentError: string | undefined;
  const idleTimer = setTimeout(() => {
    stopReason = "idle";
    exec.abort();
  }, settings.idleTimeoutMs);
  let graceTimer: NodeJS.Timeout | undefined;
  let refreshedAt = performance.now();
  let clockRead = false;
  const clockExpired = () => {
    clockRead = false;
  };

  // The agent's output goes out batched (ADR 0712): consecutive text, or raw lines of one stream, as
  // one `agent.output` event, sent a microtask after its first line (the lines of one read arrive in
  // one task) or before any other event of the iteration, so the order of events is the order of output.
  // `text`: a batch made of blocks (ADR 0740) holds their lines joined by "\n", never split here: the
  // event's `lines` are made from it only for a reader that asks. Bounded by characters alone (a block
  // is cut at a newline), so finding a batch's end needs no scan per line.
  // `checked`: every line of it was looked at with the redactor already (`Emit`).
  let output: { kind: "text" | "raw"; stream: "stdout" | "stderr"; lines: string[]; chars: number; text?: string | undefined; checked: boolean } | undefined;
  const flushOutput = () => {
    const held = output;
    if (held === undefined) return;
    output = undefined;
    if (held.text !== undefined) {
      const body = { type: "agent.output", iteration, kind: held.kind, stream: held.stream } as RunEventBody;
      setLazyOutput(body, held.text);
      emit(body);
      return;
    }
    emit({ type: "agent.output", iteration, kind: held.kind, stream: held.stream, lines: held.lines }, held.checked);
  };
  const emitNow = (body: RunEventBody, checked = false) => {
    if (output !== undefined) flushOutput();
    emit(body, checked);
  };
  const hold = (kind: "text" | "raw", stream: "stdout" | "stderr", piece: string, checked = false) => {
    if (output !== undefined && (output.kind !== kind || output.stream !== stream || output.text !== undefined || output.lines.length >= OUTPUT_BATCH_LINES || output.chars >= OUTPUT_BATCH_CHARS)) flushOutput();
    if (output === undefined) {
      output = { kind, stream, lines: [], chars: 0, checked };
      queueMicrotask(flushOutput);
    } else if (!checked) output.checked = false;
    output.lines.push(piece);
    output.chars += piece.length;
  };
  // The lines of a block at once (`block` is them, each with its "\n"), as text: consecutive blocks of
  // one kind and stream join into one batch of at most OUTPUT_BATCH_CHARS characters.
  const holdBlock = (kind: "text" | "raw", stream: "stdout" | "stderr", block: string) => {
    let start = 0;
    while (start < block.length) {
      if (output !== undefined && (output.kind !== kind || output.stream !== stream || output.text === undefined || output.chars >= OUTPUT_BATCH_CHARS)) flushOutput();
      if (output === undefined) {
        output = { kind, stream, lines: [], chars: 0, text: undefined, checked: false };
        queueMicrotask(flushOutput);
      }
      const held = output;
      let end = block.length; // just past a "\n"
      const room = OUTPUT_BATCH_CHARS - held.chars;
      if (end - start > room) {
        const cut = block.lastIndexOf("\n", start + room - 1);
        if (cut >= start) end = cut + 1;
        else if (held.text !== undefined) {
          flushOutput(); // one line longer than the room left: it starts the next batch
          continue;
        } else end = block.indexOf("\n", start) + 1; // one line longer than a batch: a batch of its own
      }
      const piece = block.slice(start, end - 1);
      held.text = held.text === undefined ? piece : `${held.text}\n${piece}`;
      held.chars += end - start;
      start = end;
    }
  };
  // The block's last `tail.size` lines (the tail is all a block's lines are needed for), split from a
  // window at its end that grows until it holds them: a few short strings for 2-byte lines, and native
  // forward searches for long ones (scanning back with lastIndexOf cost 0.6 ms/MB of 1 KiB lines).
  const tailOf = (block: string): string[] => {
    for (let window = 16 * tail.size; ; window *= 4) {
      const start = Math.max(0, block.length - window);
      const lines = block.slice(start, -1).split("\n");
      // Past the block's start, the window's first piece may be part of a line: it is never taken.
      if (start === 0 || lines.length > tail.size) return lines.length > tail.size ? lines.slice(-tail.size) : lines;
    }
  };

  // The agent's text: kept (structured output reads it) and watched for the completion signal.
  const onText = (text: string) => {
    if (ctx.keepText) {
      outcome.text.push(text);
      keptChars += text.length;
      while (keptChars > KEPT_TEXT_CHARS && outcome.text.length > 1) keptChars -= outcome.text.shift()!.length;
    }
    if (outcome.signal === undefined) {
      let matched: string | undefined;
      for (const signal of settings.signals) {
        if (text.includes(signal)) {
          matched = signal;
          break;
        }
      }
      if (matched !== undefined) {
        outcome.signal = matched;
        emitNow({ type: "completion.detected", iteration, signal: matched });
        clearTimeout(idleTimer);
        graceTimer = setTimeout(() => {
          stopReason = "grace";
          exec.abort();
        }, settings.completionTimeoutMs);
      }
    }
  };

  const onAgentEvent = (event: AgentEvent) => {
    switch (event.type) {
      case "text":
        onText(event.text);
        break;
      case "session":
        outcome.sessionId = event.sessionId;
        break;
      case "usage":
        outcome.usage = addUsage(outcome.usage, event.usage);
        ctx.checkBudget(outcome.usage);
        break;
      case "result":
        if (event.costUsd !== undefined && outcome.usage.costUsd === undefined) {
          outcome.usage.costUsd = event.costUsd;
          ctx.checkBudget(outcome.usage);
        }
        if (event.isError) agentError = event.text ?? "the agent reported an error";
        break;
    }
  };

  // The "last output" of an error is what people read (`API Error: 500`), not the raw stream-json.
  // `stream`: where the line that made the event was printed (a raw line names its own; checked, as data).
  // `lineChars`: the length of the line it came from, when it bounds what the event holds.
  // `checked`: the event is core's copy, looked at with the redactor already (`Emit`).
  const take = (event: AgentEvent, stream: "stdout" | "stderr", lineChars = Infinity, checked = false) => {
    if (event.type === "text" && typeof event.text === "string") hold("text", stream, event.text, checked);
    else if (event.type === "raw" && typeof event.line === "string") hold("raw", event.stream === "stderr" ? "stderr" : "stdout", event.line, checked);
    else emitNow({ type: "agent", iteration, event }, checked);
    onAgentEvent(event);
    // A tool's call or result is described (its input as JSON, made one line) only if it is still in
    // the tail when an error reads it; one from a long line is described now (the tail keeps 2,000
    // characters of it, not the whole event).
    if ((event.type === "tool-call" || event.type === "tool-result") && lineChars <= LAZY_TAIL_LINE_CHARS) tail.pushLater(() => describeAgentEvent(event)!);
    else {
      const readable = describeAgentEvent(event);
      if (readable !== undefined) tail.push(readable);
    }
  };

  // Refreshing a timer per line costs more than the line; once per IDLE_REFRESH_MS is as good.
  // The lines of one read arrive in one task: the clock is read once for them (then a microtask).
  const touch = () => {
    if (!clockRead && stopReason === undefined && graceTimer === undefined) {
      clockRead = true;
      queueMicrotask(clockExpired);
      const now = performance.now();
      if (now - refreshedAt >= IDLE_REFRESH_MS) {
        refreshedAt = now;
        idleTimer.refresh();
      }
    }
  };
  const takeLine = (line: string, stream: "stdout" | "stderr") => {
    const meaning = direct?.[stream];
    if (meaning === "text") {
      hold("text", stream, line);
      onText(line);
      tail.push(line);
      return;
    }
    if (meaning === "raw") {
      hold("raw", stream, line);
      tail.push(stream === "stderr" ? `stderr: ${line}` : line);
      return;
    }
    const events = parser.parse(line, stream);
    for (let i = 0; i < events.length; i++) take(events[i]!, stream, line.length);
  };
  // A parser's events of a block, looked at with the redactor all at once (`copyForRedaction`): one
  // look at a few hundred events' strings costs ~what one event's did (a call, a join, two regular
  // expressions); when one may hold a secret, each is redacted on its own as before.
  const takeParsedBlock = (block: string, stream: "stdout" | "stderr") => {
    const events: AgentEvent[] = [];
    const lineChars: number[] = [];
    try {
      eachLineOf(block, (line) => {
        const parsed = parser.parse(line, stream);
        for (let i = 0; i < parsed.length; i++) {
          events.push(parsed[i]!);
          lineChars.push(line.length);
        }
      });
    } finally {
      // A parser that threw on a line: the events of the lines before it are still the run's.
      const { copies, mayChange } = copyForRedaction(events, redactor);
      for (let i = 0; i < copies.length; i++) take(copies[i]!, stream, lineChars[i], !mayChange);
    }
  };
  // A signal is looked for in each line; one not in a block is in none of its lines.
  const mayHoldSignal = (block: string) => {
    for (const signal of settings.signals) if (block.includes(signal)) return true;
    return false;
  };

  const report = agent.execReport ? execReportPath(agent, ctx.home) : undefined;
  const reportBefore = report ? await readExecReport(report) : undefined;
  const started = performance.now();
  let result;
  try {
    result = await ctx.handle.exec(command.argv, {
      cwd: ctx.cwd,
      ...(command.env ? { env: command.env } : {}),
      ...(command.stdin !== undefined ? { stdin: command.stdin } : {}),
      signal: exec.signal,
      maxLineChars: settings.maxLineChars,
      onLine: (line, stream) => {
        touch();
        takeLine(line, stream);
      },
      // Blocks of whole lines (ADR 0720), from a sandbox that has them; one that has not calls onLine.
      onLines: (block, stream) => {
        touch();
        const meaning = direct?.[stream];
        // Lines the loop must look at one by one: a parser's, the text kept for structured output, a block that may hold the signal.
        if (meaning === undefined) {
          takeParsedBlock(block, stream);
          return;
        }
        if (meaning === "text" && (ctx.keepText || (outcome.signal === undefined && mayHoldSignal(block)))) {
          eachLineOf(block, (line) => takeLine(line, stream));
          return;
        }
        holdBlock(meaning, stream, block);
        for (const line of tailOf(block)) tail.push(meaning === "raw" && stream === "stderr" ? `stderr: ${line}` : line);
      },
    });
    for (const event of parser.end?.() ?? []) take(event, "stdout");
  } finally {
    if (report) for (const event of await execReportEvents(agent, report, reportBefore)) take(event, "stdout");
    flushOutput();
    clearTimeout(idleTimer);
    clearTimeout(graceTimer);
    stopExec();
    ctx.account(outcome.usage);
  }
  emitNow({ type: "iteration.finished", iteration, exitCode: result.exitCode, durationMs: Math.round(performance.now() - started), usage: outcome.usage });

  // A budget's stop is a clean end: what the iteration learnt (its session) goes back to the loop.
  if (budgetStopOf(ctx.signal)) return outcome;
  if (ctx.signal.aborted) throw new AbortError(abortReason(ctx.signal));
  if (stopReason === "idle") throw new IdleTimeoutError(settings.idleTimeoutMs, iteration);
  if (result.timedOut && stopReason === undefined) {
    throw new SandboxError(`The sandbox's wall-clock limit${ctx.limits.wallSeconds ? ` (limits.wallSeconds = ${ctx.limits.wallSeconds})` : ""} stopped the ${agent.name} agent in iteration ${iteration}.`, {
      code: "E_WALL_CLOCK",
      hint: "Raise limits.wallSeconds, or give the agent less to do per run.",
    });
  }
  if (stopReason === "grace") return outcome; // completed; the agent was only lingering
  const redactedTail = tail.lines.map((line) => redactor(line));
  if (result.exitCode !== 0) {
    throw new AgentExecutionError(
      `The ${agent.name} agent ${result.exitCode === null ? `was killed by ${result.signal ?? "a signal"}` : `exited with code ${result.exitCode}`} in iteration ${iteration}.${agentError ? ` It said: ${redactor(agentError)}` : ""}`,
      { ...(result.exitCode !== null ? { exitCode: result.exitCode } : {}), outputTail: redactedTail, hint: failureHint(agent, result.exitCode) },
    );
  }
  if (agentError !== undefined) {
    throw new AgentExecutionError(`The ${agent.name} agent reported an error in iteration ${iteration}: ${redactor(agentError)}`, {
      exitCode: 0,
      outputTail: redactedTail,
      hint: "Read the agent's message; it often names the fix (credentials, model, rate limit).",
    });
  }
  return outcome;
}

/** Calls `take` with each line of `block`, a block of whole lines (each ends with "\n"), without it. */
function eachLineOf(block: string, take: (line: string) => void): void {
  let start = 0;
  for (let newline = block.indexOf("\n"); newline !== -1; newline = block.indexOf("\n", start)) {
    take(block.slice(start, newline));
    start = newline + 1;
  }
}

/** The abort's reason as text, when it has one. */
export function abortReason(signal: AbortSignal): string | undefined {
  const reason: unknown = signal.reason;
  if (typeof reason === "string") return reason;
  if (reason instanceof CorralError) return reason.message;
  return undefined;
}

/** 126/127 is the shell's "cannot run" / "not found": a missing program, not a credentials problem. */
function failureHint(agent: Agent, exitCode: number | null): string {
  if (exitCode === 127 || exitCode === 126) {
    const program = agent.executable?.name ?? "the agent's program";
    const option = agent.executable ? `, or set the ${agent.name} agent's \`${agent.executable.option}\` option to its path there` : "";
    return `Exit ${exitCode} means \`${program}\` could not be started inside the sandbox (not found there, or not executable): install it there (for docker and podman, in the image: corral image build)${option}.`;
  }
  return "Read the agent's output above; check its credentials, model name and the API it talks to.";
}

/** An exec report is at most this large: it is a few numbers, written by the agent's CLI. */
const EXEC_REPORT_BYTES = 1024 * 1024;

/** Where the agent's exec report is on the host: a plain name in the per-run HOME (corral's own folder), or a typed error. */
function execReportPath(agent: Agent, home: string): string {
  const file = agent.execReport!.file;
  if (!/^[A-Za-z0-9._-]+$/.test(file) || file === "." || file === "..") {
    throw new CorralError("E_PLUGIN_INVALID", `The ${agent.name} agent's execReport.file (${JSON.stringify(file).slice(0, 80)}) is not a plain file name.`, { hint: "Name a file directly in the per-run HOME, e.g. .usage.json (the plugin's author can fix this)." });
  }
  return join(home, file);
}

/** The exec report's text: undefined when it is missing, not a regular file or too large. */
async function readExecReport(path: string): Promise<string | undefined> {
  return (await readPlainFile(path, EXEC_REPORT_BYTES)).text;
}

/** What the exec's report means: nothing when the exec left it as it was (or missing), or when the agent's parser threw. */
async function execReportEvents(agent: Agent, path: string, before: string | undefined): Promise<AgentEvent[]> {
  const after = await readExecReport(path);
  if (after === undefined || after === before) return [];
  try {
    return agent.execReport!.parse(after, before);
  } catch {
    return [];
  }
}
