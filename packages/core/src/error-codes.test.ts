import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "./error-codes.js";

const DOC = new URL("../../../docs/errors.md", import.meta.url);

describe("the error-code catalogue", () => {
  it("docs/errors.md lists every code, in order, with its meaning (node tooling/errors-doc.mjs --write rewrites it)", () => {
    const rows = [...readFileSync(DOC, "utf8").matchAll(/^\| `(E_[A-Z0-9_]+)` \| (.*) \|$/gm)].map((m) => [m[1], m[2]!.replace(/\\\|/g, "|")]);
    expect(rows).toEqual(Object.entries(ERROR_CODES));
  });

  it("every code the README and docs mention exists", () => {
    const docs = new URL("../../../docs/", import.meta.url);
    const files = [new URL("../../../README.md", import.meta.url), ...readdirSync(docs, { recursive: true }).map(String).filter((f) => f.endsWith(".md")).map((f) => new URL(f, docs))];
    const unknown = files.flatMap((file) => [...readFileSync(file, "utf8").matchAll(/\bE_[A-Z][A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0]).filter((code) => !(code in ERROR_CODES)).map((code) => `${file.pathname.split("/").slice(-2).join("/")}: ${code}`));
    expect(unknown).toEqual([]);
  });

  it("one code per condition: no two codes share a meaning", () => {
    const meanings = Object.values(ERROR_CODES);
    expect(new Set(meanings).size).toBe(meanings.length);
  });
});
