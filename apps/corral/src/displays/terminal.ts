import type { Display, RunEvent } from "@corral/core";
import { formatAgentEvent, formatEvent, oneLine } from "./format.js";

export interface TerminalDisplayOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Live status line (TTY). Defaults to the stream's isTTY. */
  live?: boolean;
  /** Defaults to on for a TTY unless NO_COLOR is set. */
  color?: boolean;
}

/**
 * Human output on stderr. On a TTY a status line (iteration, the agent's latest action, elapsed)
 * is redrawn in place under the log lines; without a TTY plain lines, no ANSI codes at all.
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

  const clearStatus = () => {
    if (live && status) stream.write("\r\x1b[2K");
  };
  const drawStatus = () => {
    if (!live || !status) return;
    const elapsed = `${Math.round((Date.now() - started) / 1000)}s`;
    const width = Math.max(20, (stream.columns ?? 100) - 1);
    stream.write(`\r\x1b[2K${oneLine(`${iteration} ${elapsed} ${status}`, width)}`);
  };
  const print = (line: string) => {
    clearStatus();
    stream.write(`${line}\n`);
    drawStatus();
  };
  const prefix = (event: RunEvent) => (event.name ? `[${event.name}] ` : "");

  return {
    name: "terminal",
    onEvent(event) {
      if (event.type === "run.started") {
        started = Date.now();
        if (live) timer = setInterval(drawStatus, 1000).unref();
      }
      if (event.type === "iteration.started") iteration = `[${event.iteration}/${event.maxIterations}]`;
      if (event.type === "agent") {
        const action = formatAgentEvent(event.event);
        if (action === undefined) return;
        if (live) {
          status = action;
          if (event.event.type === "text") print(dim(`${prefix(event)}${event.event.text}`));
          else drawStatus();
        } else {
          stream.write(`${prefix(event)}${action}\n`);
        }
        return;
      }
      const line = formatEvent(event);
      if (line === undefined) return;
      if (event.type === "run.finished") {
        if (timer) clearInterval(timer);
        clearStatus();
        status = "";
      }
      print(`${prefix(event)}${event.type === "run.finished" || event.type === "iteration.started" ? bold(line) : line}`);
    },
    close() {
      if (timer) clearInterval(timer);
      clearStatus();
    },
  };
}
