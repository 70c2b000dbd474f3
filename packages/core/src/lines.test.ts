import { describe, expect, it } from "vitest";
import { CUT_MARKER, LineSplitter, MAX_LINE_CHARS, TailBuffer } from "./lines.js";

describe("LineSplitter", () => {
  it("splits across chunks, handles CRLF and flushes the last line", () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push(Buffer.from("one\r\ntw"));
    s.push(Buffer.from("o\nthree"));
    s.end();
    expect(lines).toEqual(["one", "two", "three"]);
  });

  it("keeps multi-byte characters split between chunks whole", () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const bytes = Buffer.from("héllo ✓\n");
    s.push(bytes.subarray(0, 2));
    s.push(bytes.subarray(2, 9));
    s.push(bytes.subarray(9));
    s.end();
    expect(lines).toEqual(["héllo ✓"]);
  });

  it("handles a line of several megabytes", () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const big = "x".repeat(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 65536) s.push(big.slice(i, i + 65536));
    s.push("\n");
    s.end();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toHaveLength(big.length);
  });
});

describe("TailBuffer", () => {
  it("keeps only the last N lines", () => {
    const t = new TailBuffer(3);
    for (let i = 1; i <= 5; i++) t.push(String(i));
    expect(t.lines).toEqual(["3", "4", "5"]);
  });

  it("keeps them in order however often it wrapped, and fewer than N as they came", () => {
    const t = new TailBuffer(3);
    t.push("a");
    t.push("b");
    expect(t.lines).toEqual(["a", "b"]);
    for (let i = 1; i <= 10; i++) t.push(String(i));
    expect(t.lines).toEqual(["8", "9", "10"]);
    t.push("x".repeat(3000));
    expect(t.lines).toEqual(["9", "10", `${"x".repeat(2000)}…`]);
  });
});

describe("TailBuffer: lines made when read", () => {
  it("makes a later line only if it is still kept when read, in its place, cut like the others", () => {
    const t = new TailBuffer(3);
    let made = 0;
    const later = (line: string) => () => (made++, line);
    t.pushLater(later("gone"));
    t.push("a");
    t.pushLater(later("b"));
    t.push("c");
    expect(made).toBe(0);
    expect(t.lines).toEqual(["a", "b", "c"]);
    expect(made).toBe(1);
    t.pushLater(later("y".repeat(3000)));
    expect(t.lines).toEqual(["b", "c", `${"y".repeat(2000)}…`]);
  });
});

describe("LineSplitter: a line without end", () => {
  it("cuts a line longer than the cap with a marker, drops the rest of it, and goes on with the next line", () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), { maxLineChars: 1000 });
    const chunk = "x".repeat(300);
    for (let i = 0; i < 10; i++) splitter.push(chunk); // 3000 chars, no newline yet
    splitter.push("tail of the long line\nnext line\r\nlast");
    splitter.end();
    expect(lines).toEqual([`${"x".repeat(1000)}${CUT_MARKER}`, "next line", "last"]);
  });

  it("(twin) a line at the cap is whole, and so is a long line in many small pieces", () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), { maxLineChars: 1000 });
    splitter.push(`${"y".repeat(1000)}\n`);
    for (let i = 0; i < 999; i++) splitter.push("z");
    splitter.push("\n");
    expect(lines).toEqual(["y".repeat(1000), "z".repeat(999)]);
  });

  it("cuts at the default cap, so 64 MB without a newline never becomes one string", () => {
    const lengths: number[] = [];
    const splitter = new LineSplitter((line) => lengths.push(line.length));
    const piece = Buffer.alloc(1 << 20, 97);
    for (let i = 0; i < 64; i++) splitter.push(piece);
    splitter.end();
    expect(lengths).toEqual([MAX_LINE_CHARS + CUT_MARKER.length]);
  });
});

describe("LineSplitter.blocks: whole lines per chunk (ADR 0720)", () => {
  /** The lines a block stands for: each ends in "\n". */
  const linesOf = (blocks: string[]) => blocks.flatMap((block) => {
    expect(block.endsWith("\n"), "a block ends in a newline").toBe(true);
    return block.slice(0, -1).split("\n");
  });
  const both = (chunks: (string | Buffer)[], maxLineChars?: number) => {
    const cap = maxLineChars === undefined ? {} : { maxLineChars };
    const lines: string[] = [];
    const blocks: string[] = [];
    const one = new LineSplitter((line) => lines.push(line), cap);
    const many = LineSplitter.blocks((block) => blocks.push(block), cap);
    for (const chunk of chunks) {
      one.push(chunk);
      many.push(chunk);
    }
    one.end();
    many.end();
    return { lines, blocks };
  };

  it("gives exactly the lines onLine gets, one block per chunk: CRLF, split UTF-8, cut lines, a last line without newline", () => {
    const bytes = Buffer.from("héllo ✓\r\nplain\n\n\r\n");
    const { lines, blocks } = both(["one\r\ntw", "o\nthree\nfour", bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9), "x".repeat(3000), "rest of it\nnext\r\nlast"], 1000);
    expect(lines).toEqual(["one", "two", "three", "fourhéllo ✓", "plain", "", "", `${"x".repeat(1000)}${CUT_MARKER}`, "next", "last"]);
    expect(linesOf(blocks)).toEqual(lines);
    expect(blocks[0]).toBe("one\n");
    expect(blocks.at(-1)).toBe("last\n");
  });

  it("(twin) a chunk of plain lines is handed over as it is, one block", () => {
    const chunk = "y\n".repeat(32768);
    const { lines, blocks } = both([chunk]);
    expect(blocks).toEqual([chunk]);
    expect(linesOf(blocks)).toEqual(lines);
  });

  it("matches onLine on random chunkings of random output", () => {
    const alphabet = ["a", "b", "\n", "\r", "\r\n", "é", "✓", "x".repeat(700)];
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      let text = "";
      for (let i = random(60); i > 0; i--) text += alphabet[random(alphabet.length)];
      const bytes = Buffer.from(text);
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + random(400);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      const { lines, blocks } = both(chunks, 1024);
      expect(linesOf(blocks)).toEqual(lines);
    }
  });

  it("cuts a line of 64 MB without a newline at the cap, in blocks too", () => {
    const lengths: number[] = [];
    const splitter = LineSplitter.blocks((block) => lengths.push(...block.slice(0, -1).split("\n").map((line) => line.length)));
    const piece = Buffer.alloc(1 << 20, 97);
    for (let i = 0; i < 64; i++) splitter.push(piece);
    splitter.end();
    expect(lengths).toEqual([MAX_LINE_CHARS + CUT_MARKER.length]);
  });
});
