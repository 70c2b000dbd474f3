// Parser throughput: the claude stream-json parser over a large generated stream, against the
// floor of JSON.parse on the same lines. Target: >= 100 MB/s.
import { benchParser } from "../../../tooling/bench/parser.mjs";
import { createClaudeParser } from "../dist/index.js";

await benchParser({ agent: "claude", fixture: new URL("../src/fixtures/claude-tool-commit.jsonl", import.meta.url), vary: "I'll write the file.", createParser: createClaudeParser });
