import { agentEventsOf, totalTokens, type Display, type RunEvent } from "@corral/core";
import { inert } from "@corral/core/plugin-kit";
import { formatAgentEvent, incompleteBecause, oneLine } from "./format.js";

interface Row {
  name: string;
  state: string;
  iteration: string;
  action: string;
  started?: number;
  ended?: number;
  tokens: number;
}

/** A row shows a few words of the latest action: no more is kept, however much the agent printed. */
const ACTION_CHARS = 400;

/** The board, and how it is told of an interrupt (Ctrl-C): the notice goes above it, the board is redrawn under it. */
export interface BoardDisplay extends Display {
  interrupted(notice: string): void;
}

/**
 * The live board of a fleet, for a TTY: one line per task (state, iteration, latest agent
 * action, elapsed, tokens), redrawn in place at most ten times a second. Without a TTY use the
 * terminal display instead: its lines carry the task name as a prefix. Everything shown that came
 * from a sandbox is made inert; a row holds only the few words it shows.
 */
export function boardDisplay(options: { stream?: NodeJS.WritableStream & { columns?: number }; tasks?: readonly string[]; color?: boolean } = {}): BoardDisplay {
  const stream = options.stream ?? process.stderr;
  const color = options.color ?? !process.env.NO_COLOR;
  const rows = new Map<string, Row>();
  const newRow = (name: string): Row => ({ name: inert(name), state: "queued", iteration: "", action: "", tokens: 0 });
  for (const name of options.tasks ?? []) rows.set(name, newRow(name));
  let drawn = 0;
  let scheduled: NodeJS.Timeout | undefined;
  const ticker = setInterval(() => draw(), 1000).unref();

  const paint = (state: string, text: string) => {
    if (!color) return text;
    const code = state === "succeeded" ? 32 : state === "failed" ? 31 : state === "aborted" || state === "incomplete" ? 33 : state === "running" || state === "stopping" ? 36 : 2;
    return `\x1b[${code}m${text}\x1b[0m`;
  };
  const draw = () => {
    scheduled = undefined;
    const width = Math.max(40, (stream.columns || 120) - 1);
    const nameWidth = Math.min(24, Math.max(4, ...[...rows.values()].map((r) => r.name.length)));
    const lines = [...rows.values()].map((row) => {
      const elapsed = row.started ? `${Math.round(((row.ended ?? Date.now()) - row.started) / 1000)}s` : "";
      const head = `${row.name.slice(0, nameWidth).padEnd(nameWidth)}  ${row.state.padEnd(10)} ${row.iteration.padEnd(6)} ${elapsed.padStart(5)} ${String(row.tokens).padStart(8)} tok  `;
      const text = head + row.action;
      // Wide characters (CJK, emoji) take two columns: a row that wrapped could not be redrawn.
      return paint(row.state, oneLine(text, /[^\x00-\x7f]/.test(text) ? Math.floor(width / 2) : width));
    });
    let out = drawn ? `\x1b[${drawn}F` : "";
    for (const line of lines) out += `\x1b[2K${line}\n`;
    drawn = lines.length;
    stream.write(out);
  };
  const schedule = () => {
    scheduled ??= setTimeout(draw, 100);
  };
  const act = (row: Row, text: string) => {
    row.action = oneLine(inert(text), ACTION_CHARS);
  };

  let interrupted = false;

  return {
    name: "board",
    interrupted(notice: string) {
      // Up to the board's first line, wipe it and what is below, print the notice, redraw the board under it.
      stream.write(`${drawn ? `\x1b[${drawn}F` : ""}\x1b[J${notice.replace(/^\n+/, "").replace(/\n?$/, "\n")}`);
      drawn = 0;
      // Acknowledged on the rows too: what runs is stopping (queued rows become "aborted" as the fleet drains).
      interrupted = true;
      for (const row of rows.values()) if (row.state === "running") row.state = "stopping";
      draw();
    },
    onEvent(event: RunEvent) {
      if (event.type === "fleet.finished") {
        // The fleet's last word settles every row, so none is left "running" or "queued".
        for (const task of event.tasks) {
          const row = rows.get(task.name) ?? newRow(task.name);
          rows.set(task.name, row);
          row.state = task.status;
          row.ended ??= Date.now();
        }
        return schedule();
      }
      const name = event.name ?? event.runId;
      const row = rows.get(name) ?? newRow(name);
      rows.set(name, row);
      switch (event.type) {
        case "run.started":
          row.state = interrupted ? "stopping" : "running";
          row.started = Date.now();
          break;
        case "iteration.started":
          row.iteration = `${event.iteration}/${event.maxIterations}`;
          break;
        case "iteration.finished":
          row.tokens += totalTokens(event.usage);
          break;
        case "agent":
        case "agent.output":
          for (const agentEvent of agentEventsOf(event)) {
            const action = formatAgentEvent(agentEvent);
            if (action) act(row, action);
          }
          break;
        case "hook.started":
          act(row, `hook ${event.hook}: ${event.command}`);
          break;
        case "run.finished":
          row.state = event.status;
          row.ended = Date.now();
          // The message's first line: the "last output" under it is for the summary, not a row.
          if (event.error) act(row, `${event.error.code}: ${event.error.message.split("\n")[0]}`);
          else if (event.status === "incomplete") act(row, incompleteBecause(event));
          break;
        case "task.skipped":
          row.state = event.status;
          act(row, event.reason);
          break;
      }
      schedule();
    },
    close() {
      clearInterval(ticker);
      if (scheduled) clearTimeout(scheduled);
      draw();
    },
  };
}
