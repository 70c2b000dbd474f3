import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { Display } from "@corral/core";
import { formatEvent } from "./format.js";

/**
 * A plain-text log, one line per event, written synchronously so `tail -f` sees each line as it
 * happens and nothing is lost if the process dies. The header names the run.
 */
export function logFileDisplay(path: string, options: { title?: string } = {}): Display {
  let fd: number | undefined;
  let headerWritten = false;
  let closed = false;
  const write = (line: string) => {
    if (closed) return;
    // Opened on the first event, so input that fails validation leaves no file behind.
    if (fd === undefined) {
      mkdirSync(dirname(path), { recursive: true });
      fd = openSync(path, "a", 0o600);
    }
    writeSync(fd, `${line}\n`);
  };
  return {
    name: "log-file",
    onEvent(event) {
      if (!headerWritten) {
        headerWritten = true;
        write(`# corral run ${options.title ?? event.name ?? event.runId} (${event.runId}) — ${event.time}`);
      }
      const line = formatEvent(event);
      if (line === undefined) return;
      const iteration = "iteration" in event ? ` #${event.iteration}` : "";
      const name = event.name ? ` [${event.name}]` : "";
      for (const part of line.split("\n")) write(`${event.time}${name}${iteration} ${part}`);
    },
    close() {
      if (closed) return;
      closed = true;
      if (fd !== undefined) closeSync(fd);
    },
  };
}
