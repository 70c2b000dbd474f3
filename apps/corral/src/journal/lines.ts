import { joinedOutputOf, type RunEvent } from "@corral/core";

/**
 * How the journal keeps consecutive output lines: one `journal.lines` event in events.jsonl stands for
 * the run of events it replaced (docs/journal.md, ADR 0502). `of` is the first of them without its
 * line (the field holds ""), `lines` their lines joined by "\n" (a batched line never holds one), `time`
 * the first one's. Readers expand it back into the events, exactly, each with that time.
 */
export interface LinesEvent {
  runId: string;
  name?: string;
  time: string;
  type: "journal.lines";
  /** Which field of `of` each line goes in. */
  field: LineField;
  of: Record<string, unknown>;
  lines: string;
}

/**
 * The line-carrying fields of the events that are batched: agent text, agent raw output (one `agent`
 * event per line, as journals before ADR 0712 hold them), hook output; and `lines`, the lines of one
 * `agent.output` event (which it stands for whole: it expands back into that one event).
 */
export type LineField = "event.text" | "event.line" | "line" | "lines";

/** The field of `event` that carries a line of output, when it is one that can be batched. */
function lineField(event: RunEvent): { field: LineField; value: string } | undefined {
  if (event.type === "agent") {
    const inner = event.event;
    if (inner.type === "text") return { field: "event.text", value: inner.text };
    if (inner.type === "raw") return { field: "event.line", value: inner.line };
    return undefined;
  }
  if (event.type === "hook.output") return { field: "line", value: event.line };
  return undefined;
}

/** The line of an output event that can be batched; undefined when it stands alone (not output, or a line holding a newline). Allocates nothing: it runs for every line. */
export function outputLine(event: RunEvent): string | undefined {
  let line: string;
  if (event.type === "agent") {
    const inner = event.event;
    if (inner.type === "text") line = inner.text;
    else if (inner.type === "raw") line = inner.line;
    else return undefined;
  } else if (event.type === "hook.output") line = event.line;
  else return undefined;
  return line.includes("\n") ? undefined : line;
}

/** Whether two batchable events go in one batch: the same kind of line, from the same iteration (or hook) and stream. */
export function sameBatch(a: RunEvent, b: RunEvent): boolean {
  if (a.type === "agent" && b.type === "agent") {
    if (a.iteration !== b.iteration || a.event.type !== b.event.type) return false;
    return a.event.type !== "raw" || a.event.stream === (b.event as typeof a.event).stream;
  }
  return a.type === "hook.output" && b.type === "hook.output" && a.hook === b.hook && a.stream === b.stream;
}

/** A `journal.lines` event without its envelope (`runId`, `name`, `time`): what it is inside a `journal.events` line. */
export type LinesBody = Omit<LinesEvent, "runId" | "name" | "time">;

/**
 * How the journal keeps an `agent.output` event, without its envelope (the body a `journal.events` line holds; alone,
 * the envelope first, a `journal.lines` event): its lines joined, not a JSON array (half the size for short lines);
 * undefined when a line holds a newline (a message), or for one line (an agent's text: the event itself is shorter,
 * and costs nothing to make): then it is kept as itself.
 */
export function outputBody(event: Extract<RunEvent, { type: "agent.output" }>): LinesBody | undefined {
  // Lines core split from a block of output come joined already, and hold no newline (ADR 0720); an
  // event made of blocks has only that text until its `lines` are read (ADR 0740): they are not.
  let joined = joinedOutputOf(event);
  if (joined === undefined) {
    const { lines } = event;
    if (lines.length === 1) return undefined;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      // One-character lines (`yes`) are most of them where lines are many: compared, not searched.
      if (line.length === 1 ? line === "\n" : line.includes("\n")) return undefined;
    }
    joined = lines.join("\n");
  }
  const body: Record<string, unknown> = {};
  for (const key of Object.keys(event)) if (key !== "runId" && key !== "name" && key !== "time" && key !== "lines") body[key] = event[key as keyof typeof event];
  return { type: "journal.lines", field: "lines", of: { ...body, lines: [] }, lines: joined };
}

/**
 * How many lines an `agent.output` event holds: counted in its joined text when core handed it over as a block
 * (ADR 0740), without making its lines (half a million strings a MB of 2-byte lines: what the journal saves by
 * keeping the text). Past the journal's cap each line is counted, not written (ADR 0712).
 */
export function outputLineCount(event: Extract<RunEvent, { type: "agent.output" }>): number {
  const joined = joinedOutputOf(event);
  return joined === undefined ? event.lines.length : newlines(joined) + 1;
}

/** The newlines in `text`: found by native search while lines are long, counted character by character once one is short (a search per 2-byte line costs more). */
function newlines(text: string): number {
  let count = 0;
  for (let from = 0; ; ) {
    const at = text.indexOf("\n", from);
    if (at === -1) return count;
    count++;
    if (at - from < 32) {
      for (let i = at + 1; i < text.length; i++) if (text.charCodeAt(i) === 10) count++;
      return count;
    }
    from = at + 1;
  }
}

/** The one journal event for a run of batched events (all of one key), without its envelope: the first, and the lines of all. */
export function linesBody(first: RunEvent, lines: readonly string[]): LinesBody {
  const { field } = lineField(first)!;
  const { runId: _runId, name: _name, time: _time, ...body } = first;
  return { type: "journal.lines", field, of: withLine(body as Record<string, unknown>, field, ""), lines: lines.join("\n") };
}

/**
 * How the journal keeps the output events of one turn of the event loop that share their envelope
 * (ADR 0741): one line, `{"runId","name"?,"time","type":"journal.events","events":[…]}`, each element
 * an event without `runId`, `name` and `time` (an `agent.output` or a run of lines in its `journal.lines`
 * form). Readers give back each event with the line's envelope, in order.
 */
export interface EventsLine {
  runId: string;
  name?: string;
  time: string;
  type: "journal.events";
  events: Record<string, unknown>[];
}

/**
 * The entries one line of events.jsonl holds, as written: the line itself, or for a `journal.events`
 * line each of its events with the line's envelope (a `journal.lines` among them left for `expandLines`).
 * A journal is data: a malformed `journal.events` line gives nothing, and an element that is not an
 * event body (not an object, no `type`, its own `runId`/`name`/`time`, or a `journal.events` itself,
 * which is never nested) is skipped. Never recursive.
 */
export function entriesOfLine(value: Record<string, unknown>): Record<string, unknown>[] {
  if (value.type !== "journal.events") return [value];
  const { runId, name, time, events } = value;
  if (typeof runId !== "string" || typeof time !== "string" || (name !== undefined && typeof name !== "string") || !Array.isArray(events)) return [];
  const entries: Record<string, unknown>[] = [];
  for (const body of events as unknown[]) {
    if (!body || typeof body !== "object" || Array.isArray(body)) continue;
    const b = body as Record<string, unknown>;
    if (typeof b.type !== "string" || b.type === "journal.events" || Object.hasOwn(b, "runId") || Object.hasOwn(b, "name") || Object.hasOwn(b, "time")) continue;
    entries.push({ runId, ...(name !== undefined ? { name } : {}), time, ...b });
  }
  return entries;
}

/** The events a `journal.lines` event stands for; nothing for a malformed one (a journal is data). */
export function expandLines(value: Record<string, unknown>): RunEvent[] {
  const batch = readBatch(value);
  if (!batch) return [];
  if (batch.field === "lines") return [{ ...batch.base, ...batch.of, lines: batch.lines.split("\n") } as RunEvent];
  return batch.lines.split("\n").map((line) => ({ ...batch.base, ...withLine(batch.of, batch.field, line) }) as RunEvent);
}

/**
 * A `journal.lines` event as its first event with the line left empty, and its lines (joined by
 * "\n"): what the plain-text log shows of it. Undefined for a malformed one.
 */
export function batchHead(value: Record<string, unknown>): { first: RunEvent; lines: string } | undefined {
  const batch = readBatch(value);
  return batch && { first: { ...batch.base, ...withLine(batch.of, batch.field, "") } as RunEvent, lines: batch.lines };
}

function readBatch(value: Record<string, unknown>) {
  const { runId, name, time, field, of, lines } = value;
  if (typeof runId !== "string" || typeof time !== "string" || typeof lines !== "string" || !of || typeof of !== "object") return undefined;
  if (field !== "event.text" && field !== "event.line" && field !== "line" && field !== "lines") return undefined;
  if (field === "lines" && (of as { type?: unknown }).type !== "agent.output") return undefined;
  if (field !== "line" && field !== "lines" && (!(of as { event?: unknown }).event || typeof (of as { event?: unknown }).event !== "object")) return undefined;
  return { base: { runId, ...(typeof name === "string" ? { name } : {}), time }, field: field as LineField, of: of as Record<string, unknown>, lines };
}

/** A copy of `body` with its line field set to `line` (in place, so the keys keep their order). */
function withLine(body: Record<string, unknown>, field: LineField, line: string): Record<string, unknown> {
  if (field === "line") return { ...body, line };
  if (field === "lines") return { ...body, lines: [line] };
  const key = field === "event.text" ? "text" : "line";
  return { ...body, event: { ...(body.event as Record<string, unknown>), [key]: line } };
}
