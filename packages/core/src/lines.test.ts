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
