// Parser throughput: the opencode run --format json parser over a large generated stream, against the
// floor of JSON.parse on the same lines. Target: >= 100 MB/s.
import { benchParser } from "../../../tooling/bench/parser.mjs";
import { createOpencodeParser } from "../dist/index.js";

await benchParser({ agent: "opencode", fixture: new URL("../src/fixtures/opencode-tool-commit.jsonl", import.meta.url), vary: "Writing the file.", createParser: createOpencodeParser });
