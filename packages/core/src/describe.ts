import type { AgentEvent } from "./agent.js";

/** At most `max` characters on one line: whitespace runs (newlines too) become one space. */
export function oneLine(text: string, max = 160): string {
  // Only the start of a huge line (an agent can print megabytes without a newline) is looked at.
  const flat = (text.length > 4 * max ? text.slice(0, 4 * max) : text).replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * An agent event as people read it (`→ Bash ls`, `retrying (2/10): …`, `agent error: …`), or undefined
 * for events not worth a line. The one wording for displays, the log and an error's "last output".
 * Not yet safe to print: what the agent wrote is in it (pass it through `inert`).
 */
export function describeAgentEvent(event: AgentEvent): string | undefined {
  switch (event.type) {
    case "text":
      return event.text;
    case "tool-call":
      return `→ ${event.name} ${oneLine(typeof event.input === "string" ? event.input : (JSON.stringify(event.input) ?? ""))}`;
    case "tool-result": {
      // An empty result reads the same whichever agent ran the tool.
      const status = event.isError ? `error${event.exitCode !== undefined ? ` (exit ${event.exitCode})` : ""} ` : "";
      return `← ${status}${oneLine(event.output) || "(no output)"}`;
    }
    case "session":
      return `session ${event.sessionId}${event.model ? ` (${event.model})` : ""}`;
    case "usage":
      return undefined;
    case "result":
      return event.isError ? `agent error: ${event.text ?? ""}` : undefined;
    case "error":
      return `agent error: ${event.message}`;
    case "retry":
      return `retrying (${event.attempt}${event.maxRetries !== undefined ? `/${event.maxRetries}` : ""})${event.message ? `: ${event.message}` : ""}`;
    case "raw":
      return event.stream === "stderr" ? `stderr: ${event.line}` : event.line;
  }
}
