import type { Display } from "@corral/core";

/** Every event as one JSON line, for machines (`--json`). Events are already redacted. */
export function ndjsonDisplay(stream: NodeJS.WritableStream = process.stdout): Display {
  return {
    name: "ndjson",
    onEvent(event) {
      stream.write(`${JSON.stringify(event)}\n`);
    },
  };
}
