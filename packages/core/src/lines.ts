import { StringDecoder } from "node:string_decoder";
import type { AgentEvent } from "./agent.js";

/** Characters a line may have before it is cut (a line without a newline is otherwise held whole). */
export const MAX_LINE_CHARS = 8 * 1024 * 1024;

/** What ends a line that was cut: the rest of it, up to its newline, is dropped. */
export const CUT_MARKER = " …[corral: line cut]";

/**
 * Splits a byte stream into lines as they arrive. Handles multi-byte UTF-8 split across chunks and
 * `\r\n`, in time linear in the input: a pending line is kept as pieces, joined once. A line
 * longer than `maxLineChars` is cut there with `CUT_MARKER` (so memory stays bounded whatever is
 * printed); `end()` flushes a last line that has no newline.
 *
 * Two ways to hand the lines over: one `onLine` call per line (`new LineSplitter(onLine)`), or one
 * `onLines` call per chunk with every complete line of it (`LineSplitter.blocks(onLines)`, what
 * `ExecOptions.onLines` gets): a block of the same lines, each ending in "\n", made without a slice
 * per line when no line in it is cut or ends in `\r` (ADR 0720).
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder("utf8");
  readonly #pieces: string[] = [];
  #pending = 0;
  /** True after a cut, until the cut line's newline. */
  #dropping = false;
  readonly #onLine: ((line: string) => void) | undefined;
  readonly #onLines: ((block: string) => void) | undefined;
  /** Block mode: the lines of the chunk being pushed, each with its "\n". */
  #block = "";
  readonly #max: number;

  /** `onLine` gets every complete line, without its newline; a line longer than `maxLineChars` (8 MiB) is cut and marked. */
  constructor(onLine: (line: string) => void, options?: { maxLineChars?: number });
  constructor(onLine: ((line: string) => void) | undefined, options: { maxLineChars?: number; onLines?: (block: string) => void } = {}) {
    this.#onLine = onLine;
    this.#onLines = options.onLines;
    this.#max = options.maxLineChars ?? MAX_LINE_CHARS;
  }

  /**
   * A splitter that hands over blocks: `onLines` gets, once per `push` (and at `end()`), every line
   * completed by it, each ending in "\n" (a last line without a newline gets one too). The lines are
   * exactly the ones `onLine` would get, cut and `\r`-stripped the same way; `block.split("\n")`
   * minus its last, empty element gives them back.
   */
  static blocks(onLines: (block: string) => void, options: { maxLineChars?: number } = {}): LineSplitter {
    return new (LineSplitter as unknown as new (onLine: undefined, options: { maxLineChars?: number; onLines: (block: string) => void }) => LineSplitter)(undefined, { ...options, onLines });
  }

  /** Feeds output as it comes (UTF-8 split across chunks is handled). */
  push(chunk: Buffer | string): void {
    const text = typeof chunk === "string" ? chunk : this.#decoder.write(chunk);
    let start = 0;
    if (this.#onLines !== undefined) {
      const first = text.indexOf("\n");
      if (first === -1) {
        if (text.length > 0 && !this.#dropping) this.#hold(text);
        this.#flushBlock();
        return;
      }
      const last = text.lastIndexOf("\n");
      // The first line finishes what is pending (or dropped): line by line. The rest, up to the last
      // newline, goes out as it is when no line in it can be over the cap and none ends in \r.
      if (this.#dropping || this.#pending > 0) {
        if (this.#dropping) this.#dropping = false;
        else this.#emit(text.slice(0, first));
        start = first + 1;
      }
      if (start <= last) {
        const cr = last - start <= this.#max ? text.indexOf("\r", start) : start; // a forward search is the native fast one
        if (cr === -1 || cr > last) this.#block += start === 0 && last === text.length - 1 ? text : text.slice(start, last + 1);
        else this.#lines(text, start, last);
      }
      if (last + 1 < text.length) this.#hold(text.slice(last + 1));
      this.#flushBlock();
      return;
    }
    start = this.#lines(text, 0, text.length - 1);
    if (start < text.length && !this.#dropping) this.#hold(text.slice(start));
  }

  /** The stream ended: emits what is left as a last line. */
  end(): void {
    const last = this.#decoder.end();
    if (last && !this.#dropping) this.#hold(last);
    if (this.#pending > 0) this.#emit("");
    this.#dropping = false;
    this.#flushBlock();
  }

  /** Emits, one by one, every line of `text` from `start` whose newline is at or before `last`; returns where the rest starts. */
  #lines(text: string, start: number, last: number): number {
    let newline = text.indexOf("\n", start);
    while (newline !== -1 && newline <= last) {
      if (this.#dropping) this.#dropping = false;
      else this.#emit(text.slice(start, newline));
      start = newline + 1;
      newline = text.indexOf("\n", start);
    }
    return start;
  }

  /** Emits the pending pieces plus `tail` as one line. */
  #emit(tail: string): void {
    let line = tail;
    if (this.#pending) {
      line = this.#pieces.join("") + tail;
      this.#pieces.length = 0;
      this.#pending = 0;
    }
    if (line.length > this.#max) line = line.slice(0, this.#max) + CUT_MARKER;
    this.#line(line.charCodeAt(line.length - 1) === 13 /* \r */ ? line.slice(0, -1) : line);
  }

  #hold(piece: string): void {
    this.#pieces.push(piece);
    this.#pending += piece.length;
    if (this.#pending <= this.#max) return;
    // Too long: what fits goes out now, cut; the rest of this line is dropped up to its newline.
    const joined = this.#pieces.join("");
    this.#pieces.length = 0;
    this.#pending = 0;
    this.#dropping = true;
    this.#line(joined.slice(0, this.#max) + CUT_MARKER);
  }

  #line(line: string): void {
    if (this.#onLines === undefined) this.#onLine!(line);
    else this.#block += `${line}\n`;
  }

  #flushBlock(): void {
    if (this.#block === "") return;
    const block = this.#block;
    this.#block = "";
    this.#onLines!(block);
  }
}

/** Whether a line reached its reader cut at the line cap (it ends in `CUT_MARKER`). */
export function isCutLine(line: string): boolean {
  return line.endsWith(CUT_MARKER);
}

/**
 * What a structured-output parser (stream-json, JSONL) makes of a cut line: its JSON is gone, so
 * one `error` event that says so, instead of megabytes of broken JSON as a `raw` event.
 */
export function cutLineEvent(agent: string, line: string): AgentEvent {
  const kept = line.length - CUT_MARKER.length;
  return {
    type: "error",
    message: `${agent} printed a line longer than the line cap; it was cut after ${kept} characters and the event it held is lost (raise maxLineChars to keep such lines).`,
  };
}

/**
 * One line of a JSON-lines stream (stream-json, `--json`, JSONL) as an object, or undefined when it
 * is not a JSON object (a banner, a cut line, an array): the one way agent parsers read a line.
 */
export function jsonObjectLine(line: string): Record<string, any> | undefined {
  if (line.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the last `size` lines, for error messages ("the last 50 lines of output"). A ring: a push moves nothing. */
export class TailBuffer {
  readonly #ring: Array<string | (() => string)> = [];
  #next = 0;
  constructor(readonly size = 50) {}
  push(line: string): void {
    this.#keep(cut(line));
  }
  /** A line made only if it is still among the last ones when they are read (most never are). */
  pushLater(make: () => string): void {
    this.#keep(make);
  }
  #keep(entry: string | (() => string)): void {
    if (this.#ring.length < this.size) this.#ring.push(entry);
    else this.#ring[this.#next] = entry;
    this.#next = (this.#next + 1) % this.size;
  }
  get lines(): string[] {
    const ring = this.#ring.length < this.size ? this.#ring : [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
    return ring.map((entry) => (typeof entry === "string" ? entry : cut(entry())));
  }
}

const cut = (line: string) => (line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
