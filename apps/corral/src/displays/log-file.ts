import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { type Display } from "@corral/core";
import { inert } from "@corral/core/plugin-kit";
import { formatEvent } from "./format.js";

/** A log file display, and how much it has written so far. */
export interface LogFileDisplay extends Display {
  /** Bytes written to the file by this display. */
  readonly bytes: number;
}

/**
 * A plain-text log, one line per event, written synchronously so `tail -f` sees each line as it
 * happens and nothing is lost if the process dies. The header names the run. Plain text that a
 * terminal can show: what came from the sandbox is made inert (see `formatEvent`).
 */
export function logFileDisplay(path: string, options: { title?: string } = {}): LogFileDisplay {
  let fd: number | undefined;
  let headerWritten = false;
  let closed = false;
  let bytes = 0;
  const write = (line: string) => {
    if (closed) return;
    // Opened on the first event, so input that fails validation leaves no file behind.
    if (fd === undefined) {
      mkdirSync(dirname(path), { recursive: true });
      fd = openSync(path, "a", 0o600);
    }
    bytes += writeSync(fd, `${line}\n`);
  };
  return {
    name: "log-file",
    get bytes() {
      return bytes;
    },
    onEvent(event) {
      if (!headerWritten) {
        headerWritten = true;
        write(inert(`# corral run ${options.title ?? event.name ?? event.runId} (${event.runId}) — ${event.time}`));
      }
      const line = formatEvent(event);
      if (line === undefined) return;
      const iteration = "iteration" in event ? ` #${event.iteration}` : "";
      const name = event.name ? ` [${inert(event.name)}]` : "";
      for (const part of line.split("\n")) write(`${event.time}${name}${iteration} ${part}`);
    },
    close() {
      if (closed) return;
      closed = true;
      if (fd !== undefined) closeSync(fd);
    },
  };
}
