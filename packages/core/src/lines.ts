import { StringDecoder } from "node:string_decoder";

/**
 * Splits a byte stream into lines as they arrive. Handles multi-byte UTF-8 split across chunks,
 * `\r\n`, and lines of any length; `end()` flushes a last line that has no newline.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder("utf8");
  #rest = "";
  readonly #onLine: (line: string) => void;

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Buffer | string): void {
    const text = this.#rest + (typeof chunk === "string" ? chunk : this.#decoder.write(chunk));
    let start = 0;
    let newline = text.indexOf("\n", start);
    while (newline !== -1) {
      const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      this.#onLine(text.slice(start, end));
      start = newline + 1;
      newline = text.indexOf("\n", start);
    }
    this.#rest = start === 0 ? text : text.slice(start);
  }

  end(): void {
    const last = this.#rest + this.#decoder.end();
    this.#rest = "";
    if (last.length > 0) this.#onLine(last.endsWith("\r") ? last.slice(0, -1) : last);
  }
}

/** Keeps the last `size` lines, for error messages ("the last 50 lines of output"). */
export class TailBuffer {
  readonly #lines: string[] = [];
  constructor(readonly size = 50) {}
  push(line: string): void {
    this.#lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (this.#lines.length > this.size) this.#lines.shift();
  }
  get lines(): string[] {
    return [...this.#lines];
  }
}
