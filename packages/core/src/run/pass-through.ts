import type { AgentParser } from "../agent.js";

/** What every line of one stream means to a parser that passes its output through: a `text` or a `raw` event. */
export interface PassThrough {
  stdout: "text" | "raw";
  stderr: "text" | "raw";
}

const parsers = new WeakMap<AgentParser, PassThrough>();

/**
 * Marks a parser whose `parse` makes exactly one `text` or `raw` event of every line, by stream (the
 * command agent's): the run loop then holds its lines as output without calling it (ADR 0712), the
 * same events without one array and one object per line. Internal to core.
 */
export function passThrough<P extends AgentParser>(parser: P, meaning: PassThrough): P {
  parsers.set(parser, meaning);
  return parser;
}

/** How a marked parser reads each stream; undefined for any other parser (its `parse` runs for every line). */
export function passThroughOf(parser: AgentParser): PassThrough | undefined {
  return parsers.get(parser);
}
