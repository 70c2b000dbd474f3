import { type Display, type RunEvent } from "@corral/core";
import { inertJson } from "@corral/core/plugin-kit";
import { boundedStream } from "./bounded.js";

/**
 * Every event as one JSON line, for machines (`--json`). Events are already redacted; the JSON is
 * exact (every string as the agent printed it) and inert on a terminal (see `inertJson`). When the
 * reader falls behind, the agent's output events give way, and a `log` event says how many.
 */
export function ndjsonDisplay(stream: NodeJS.WritableStream = process.stdout): Display {
  let last: RunEvent | undefined;
  const out = boundedStream(stream, (count) => {
    const marker: RunEvent = {
      runId: last!.runId,
      ...(last!.name ? { name: last!.name } : {}),
      time: new Date().toISOString(),
      type: "log",
      level: "warn",
      message: `${count} event(s) of the agent's output were not written here: they came faster than this output was read.`,
    };
    return `${inertJson(marker)}\n`;
  });
  return {
    name: "ndjson",
    onEvent(event) {
      last = event;
      out.write(`${inertJson(event)}\n`, event.type === "agent" || event.type === "agent.output" || event.type === "hook.output");
    },
  };
}
