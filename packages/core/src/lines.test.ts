import { describe, expect, it } from "vitest";
import { LineSplitter, TailBuffer } from "./lines.js";

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
});
