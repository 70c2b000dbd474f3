// Parser throughput: the pi --mode json parser over a large generated stream, against the
// floor of JSON.parse on the same lines. Target: >= 100 MB/s. Most of a pi stream is message_update
// deltas (each repeats the partial message), which the parser recognises by their first bytes and never parses.
import { benchParser } from "../../../tooling/bench/parser.mjs";
import { createPiParser } from "../dist/index.js";

await benchParser({ agent: "pi", fixture: new URL("../src/fixtures/pi-tool-commit.jsonl", import.meta.url), vary: "Writing the file.", createParser: createPiParser });
