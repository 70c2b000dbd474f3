// Parser throughput: the gemini stream-json parser over a large generated stream, against the
// floor of JSON.parse on the same lines. Target: >= 100 MB/s.
import { benchParser } from "../../../tooling/bench/parser.mjs";
import { createGeminiParser } from "../dist/index.js";

await benchParser({ agent: "gemini", fixture: new URL("../src/fixtures/commit.stream.jsonl", import.meta.url), vary: "Writing t", createParser: createGeminiParser });
