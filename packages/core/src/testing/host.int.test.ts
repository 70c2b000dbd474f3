import { hostSandbox } from "../builtins/host.js";
import { commandAgent } from "../builtins/command-agent.js";
import { describeAgentParserConformance } from "./agent-parser-conformance.js";
import { describeSandboxConformance } from "./sandbox-conformance.js";

// The host sandbox isolates nothing, so it declares no security claims.
describeSandboxConformance("host", () => hostSandbox.create({}));

describeAgentParserConformance("command", () => commandAgent.create({ argv: ["echo", "{prompt}"], credentials: [] }), {
  transcript: [{ line: "hello" }, { line: "warning: something", stream: "stderr" }, { line: "<promise>COMPLETE</promise>" }],
  expectTypes: ["text", "raw"],
});
