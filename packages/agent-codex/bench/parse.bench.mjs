// Parser throughput: the codex exec --json parser over a large generated stream, against the
// floor of JSON.parse on the same lines. Target: >= 100 MB/s.
import { benchParser } from "../../../tooling/bench/parser.mjs";
import { createCodexParser } from "../dist/index.js";

await benchParser({ agent: "codex", fixture: new URL("../src/fixtures/codex-tool-commit.jsonl", import.meta.url), vary: "I'll write the file.", createParser: createCodexParser });
