// docs/errors.md lists every error code of @corral/core's ERROR_CODES, in its order, with its meaning.
// `node tooling/errors-doc.mjs` checks it (core's tests do too); `--write` rewrites the table.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
// The built core: run after `pnpm build`.
import { ERROR_CODES } from "../packages/core/dist/index.js";

const DOC = fileURLToPath(new URL("../docs/errors.md", import.meta.url));
const START = "<!-- error codes: generated from ERROR_CODES (packages/core/src/error-codes.ts) by tooling/errors-doc.mjs -->";
const END = "<!-- end of error codes -->";

export function errorTable(codes = ERROR_CODES) {
  return ["| code | meaning |", "| --- | --- |", ...Object.entries(codes).map(([code, meaning]) => `| \`${code}\` | ${meaning.replace(/\|/g, "\\|")} |`)].join("\n");
}

export function withTable(doc, codes = ERROR_CODES) {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start === -1 || end === -1) throw new Error(`docs/errors.md lacks the ${START} … ${END} markers`);
  return `${doc.slice(0, start + START.length)}\n${errorTable(codes)}\n${doc.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(DOC, "utf8");
  const expected = withTable(doc);
  if (process.argv.includes("--write")) writeFileSync(DOC, expected);
  else if (doc !== expected) {
    console.error("docs/errors.md does not match ERROR_CODES: run node tooling/errors-doc.mjs --write");
    process.exit(1);
  }
}
