import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { type Display, type RunEvent } from "@corral/core";
import { inert } from "@corral/core/plugin-kit";
import { formatEvent } from "./format.js";

/** A log file display, and how much it has written so far. */
export interface LogFileDisplay extends Display {
  /** Bytes written to the file by this display. */
  readonly bytes: number;
  /**
   * A run of output lines as one write: `first` is their first event with its line left empty (its
   * time and place head the run), `lines` the lines joined by "\n"; each line is shown as its event
   * would be, the others bare under the first.
   */
  onLines(first: RunEvent, lines: string): void;
}

/**
 * A file that only ever grows by whole lines: a write the disk refused halfway (ENOSPC) is cut back,
 * so the file never ends in, or carries, a torn line that would glue itself to the next. `write`
 * returns false for what was not written (the caller counts it); it never throws for a full disk.
 */
export interface LineFile {
  /** Appends `text` (whole lines, each ending in "\n"); false when the disk refused it (nothing of it is left). */
  write(text: string): boolean;
  /** Bytes written through this appender. */
  readonly bytes: number;
  /** The error of the last refused write. */
  readonly lastError: NodeJS.ErrnoException | undefined;
  close(): void;
}

/** Opens `path` for appending whole lines (mode 0600), creating it. Throws when it cannot be opened. */
export function openLineFile(path: string): LineFile {
  const fd = openSync(path, "a", 0o600);
  let size = fstatSync(fd).size; // the end of the last whole line
  let bytes = 0;
  let torn = false; // a cut that could not be made: the next write starts on a fresh line
  let lastError: NodeJS.ErrnoException | undefined;
  return {
    write(text) {
      const data = Buffer.from(torn ? `\n${text}` : text);
      let written = 0;
      try {
        while (written < data.length) written += writeSync(fd, data, written);
        size += data.length;
        bytes += data.length;
        torn = false;
        return true;
      } catch (error) {
        lastError = error as NodeJS.ErrnoException;
        if (written > 0) {
          try {
            ftruncateSync(fd, size);
          } catch {
            torn = true;
          }
        }
        return false;
      }
    },
    get bytes() {
      return bytes;
    },
    get lastError() {
      return lastError;
    },
    close: () => closeSync(fd),
  };
}

/**
 * How the plain-text log shows events: one function for the log file and for the journal's log,
 * which is rendered from events.jsonl when read (ADR 0710). Each call returns whole lines ("" for an
 * event not worth one); the first also carries the header naming the run. What came from the sandbox
 * is made inert (see `formatEvent`).
 */
export interface LogRenderer {
  event(event: RunEvent): string;
  /** A run of output lines: `first` their first event with its line left empty, `lines` joined by "\n"; the first line with its time and place, the others bare under it. */
  lines(first: RunEvent, lines: string): string;
}

export function logRenderer(options: { title?: string } = {}): LogRenderer {
  let headerWritten = false;
  const header = (event: RunEvent) => {
    if (headerWritten) return "";
    headerWritten = true;
    return `${inert(`# corral run ${options.title ?? event.name ?? event.runId} (${event.runId}) — ${event.time}`)}\n`;
  };
  const place = (event: RunEvent) => `${event.time}${event.name ? ` [${inert(event.name)}]` : ""}${"iteration" in event ? ` #${event.iteration}` : ""} `;
  return {
    event(event) {
      const head = header(event);
      const line = formatEvent(event);
      if (line === undefined) return head;
      const prefix = place(event);
      return head + line
        .split("\n")
        .map((part) => `${prefix}${part}\n`)
        .join("");
    },
    lines(first, text) {
      // What the event shows around its line ("stderr: ", a hook's name), once per line: made inert once, for all.
      const around = formatEvent(first);
      if (around === undefined) return "";
      const body = inert(text);
      return `${header(first)}${place(first)}${around}${around ? body.replaceAll("\n", `\n${around}`) : body}\n`;
    },
  };
}

/**
 * A plain-text log, one line per event, written synchronously so `tail -f` sees each line as it
 * happens and nothing is lost if the process dies. The header names the run. Plain text that a
 * terminal can show: what came from the sandbox is made inert (see `formatEvent`). A full disk
 * drops lines (whole), never the run.
 */
export function logFileDisplay(path: string, options: { title?: string } = {}): LogFileDisplay {
  let file: LineFile | undefined;
  let closed = false;
  const render = logRenderer(options);
  const write = (text: string) => {
    if (closed || !text) return;
    // Opened on the first event, so input that fails validation leaves no file behind.
    if (file === undefined) {
      try {
        mkdirSync(dirname(path), { recursive: true });
        file = openLineFile(path);
      } catch {
        return; // no log today (a full disk, a folder gone); the next event tries again
      }
    }
    file.write(text);
  };
  return {
    name: "log-file",
    get bytes() {
      return file?.bytes ?? 0;
    },
    onEvent(event) {
      write(render.event(event));
    },
    onLines(first, text) {
      write(render.lines(first, text));
    },
    close() {
      if (closed) return;
      closed = true;
      file?.close();
    },
  };
}
