import { agentEventsOf, type AgentEvent, type Display, type RunEvent } from "@corral/core";
import { inert } from "@corral/core/plugin-kit";
import { boundedStream } from "./bounded.js";
import { formatAgentEvent, formatEvent, oneLine } from "./format.js";

/** What a caller's own summary says instead (see `summary`). */
const SUMMARIZED = new Set<RunEvent["type"]>(["commits", "workspace.released", "run.finished", "fleet.finished"]);

/** How `terminalDisplay` writes. */
export interface TerminalDisplayOptions {
  /** Where the lines go. Default process.stderr; its `isTTY` and `columns` decide the live line and its width. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Live status line (TTY). Defaults to the stream's isTTY. */
  live?: boolean;
  /** Defaults to on for a TTY unless NO_COLOR is set. */
  color?: boolean;
  /** Prefix each line with the run's `[name]` (a fleet's lines need it). Default true; a single run's CLI turns it off, so a run looks the same named or not. */
  prefix?: boolean;
  /**
   * Default true. False when the caller prints its own summary (the CLI): the lines that summary holds
   * (commits, the workspace's fate, how the run or fleet finished) are left out here, so each is said once.
   */
  summary?: boolean;
}

/**
 * Human output on stderr. On a TTY a status line (iteration, the agent's latest action, elapsed)
 * is redrawn in place under the log lines; without a TTY plain lines, no ANSI codes at all. What
 * the agent printed is made inert first, so the only control codes written are corral's own; when
 * the reader falls behind, the agent's lines give way (with a count), never corral's.
 */
export function terminalDisplay(options: TerminalDisplayOptions = {}): Display {
  const stream = options.stream ?? process.stderr;
  const live = options.live ?? Boolean(stream.isTTY);
  const color = options.color ?? (live && !process.env.NO_COLOR);
  const dim = (text: string) => (color ? `\x1b[2m${text}\x1b[22m` : text);
  const bold = (text: string) => (color ? `\x1b[1m${text}\x1b[22m` : text);
  let status = "";
  let started = Date.now();
  let iteration = "";
  let timer: NodeJS.Timeout | undefined;

  const clear = () => (live && status ? "\r\x1b[2K" : "");
  const statusLine = () => {
    if (!live || !status) return "";
    const text = `${iteration} ${Math.round((Date.now() - started) / 1000)}s ${status}`;
    // Most non-ASCII characters a status shows (CJK, emoji) take two columns: a wrapped status could not be redrawn.
    const columns = Math.max(20, (stream.columns || 100) - 1); // a pty may say 0
    return `\r\x1b[2K${oneLine(text, /[^\x00-\x7f]/.test(text) ? Math.floor(columns / 2) : columns)}`;
  };
  const out = boundedStream(stream, (count) => `${clear()}… ${count} line(s) of the agent's output not shown here: they were printed faster than this output was read\n`);
  const print = (line: string, droppable = false) => out.write(`${clear()}${line}\n${statusLine()}`, droppable);
  const drawStatus = () => {
    if (live && status) out.write(statusLine(), true);
  };
  const prefix = (event: RunEvent) => (options.prefix !== false && event.name ? `[${inert(event.name)}] ` : "");
  const columns = () => Math.max(20, (stream.columns || 100) - 1);

  const showAgent = (event: RunEvent, agentEvent: AgentEvent) => {
    const action = formatAgentEvent(agentEvent);
    if (action === undefined) return;
    if (!live) return out.write(`${prefix(event)}${action}\n`, true);
    status = action;
    const kind = agentEvent.type;
    if (kind === "text") print(dim(`${prefix(event)}${action}`), true);
    // Tool calls stay in the scrollback, condensed to one line; retries and errors in full.
    else if (kind === "tool-call") print(dim(oneLine(`${prefix(event)}${action}`, columns())), true);
    else if (kind === "retry" || kind === "error" || (kind === "result" && agentEvent.isError)) print(`${prefix(event)}${action}`);
    else drawStatus();
  };

  // A read's worth of output lines in one write (one syscall, not one per line), the status drawn once after them.
  const showOutput = (event: Extract<RunEvent, { type: "agent.output" }>) => {
    const head = prefix(event);
    let text = "";
    let lines = 0;
    let last: string | undefined;
    for (const agentEvent of agentEventsOf(event)) {
      const action = formatAgentEvent(agentEvent);
      if (action === undefined) continue;
      last = action;
      // Live, raw lines only move the status line (as one by one); text lines stay in the scrollback, dimmed.
      if (live && event.kind === "raw") continue;
      text += `${live ? dim(`${head}${action}`) : `${head}${action}`}\n`;
      lines++;
    }
    if (last === undefined) return;
    if (!live) return out.write(text, true, lines);
    status = last;
    if (lines) out.write(`${clear()}${text}${statusLine()}`, true, lines);
    else drawStatus();
  };

  return {
    name: "terminal",
    onEvent(event) {
      if (event.type === "run.started") {
        started = Date.now();
        if (live) timer = setInterval(drawStatus, 1000).unref();
      }
      if (event.type === "iteration.started") iteration = `[${event.iteration}/${event.maxIterations}]`;
      if (event.type === "agent.output") return showOutput(event);
      if (event.type === "agent") return showAgent(event, event.event);
      // With the caller's own summary to come, its lines are not said here too.
      const summarized = options.summary === false && SUMMARIZED.has(event.type);
      const line = summarized ? undefined : formatEvent(event);
      if (event.type === "run.finished") {
        if (timer) clearInterval(timer);
        const wipe = clear();
        status = "";
        return out.write(line === undefined ? wipe : `${wipe}${prefix(event)}${bold(line)}\n`);
      }
      if (line === undefined) return;
      print(`${prefix(event)}${event.type === "iteration.started" ? bold(line) : line}`, event.type === "hook.output");
    },
    close() {
      if (timer) clearInterval(timer);
      const wipe = clear();
      status = "";
      if (wipe) out.write(wipe);
    },
  };
}
