// Parser throughput: the copilot --output-format json parser over a large generated stream, against the
// floor of JSON.parse on the same lines. Target: >= 100 MB/s.
import { benchParser } from "../../../tooling/bench/parser.mjs";
import { createCopilotParser } from "../dist/index.js";

await benchParser({ agent: "copilot", fixture: new URL("../src/fixtures/copilot-tool-commit.jsonl", import.meta.url), vary: "Done. <promise>COMPLETE</promise>", createParser: createCopilotParser });
