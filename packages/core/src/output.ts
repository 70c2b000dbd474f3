import type { StandardSchemaV1 } from "@standard-schema/spec";
import { StructuredOutputError, UsageError } from "./errors.js";

/** What a run should hand back besides commits: text or a schema-checked object inside a tag. */
export type OutputSpec<T = unknown> =
  | { kind: "string"; tag: string; maxRetries: number }
  | { kind: "object"; tag: string; schema: StandardSchemaV1<unknown, T>; maxRetries: number };

/** Structured output specs for `RunOptions.output`: the agent's final answer in a `<tag>`, as text or as schema-checked JSON. */
export const Output = {
  /** The text inside the last `<tag>…</tag>` the agent wrote. */
  string(tag: string, options: { maxRetries?: number } = {}): OutputSpec<string> {
    return { kind: "string", tag: checkTag(tag), maxRetries: options.maxRetries ?? 0 };
  },
  /** The JSON inside the last `<tag>…</tag>`, checked against a Standard Schema (zod…). */
  object<T>(tag: string, schema: StandardSchemaV1<unknown, T>, options: { maxRetries?: number } = {}): OutputSpec<T> {
    return { kind: "object", tag: checkTag(tag), schema, maxRetries: options.maxRetries ?? 0 };
  },
};

function checkTag(tag: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(tag)) throw new UsageError(`Invalid output tag "${tag}".`, { hint: "A tag starts with a letter and has letters, digits, - and _ only, e.g. Output.object(\"result\", schema)." });
  return tag;
}

/** The content of the last `<tag>…</tag>` in `text`, or undefined. */
export function lastTagContent(text: string, tag: string): string | undefined {
  const close = `</${tag}>`;
  const end = text.lastIndexOf(close);
  if (end === -1) return undefined;
  const open = text.lastIndexOf(`<${tag}>`, end);
  if (open === -1) return undefined;
  return text.slice(open + tag.length + 2, end).trim();
}

/** Extracts and validates the output. Throws StructuredOutputError with the tag, raw text and cause. */
export async function extractOutput<T>(spec: OutputSpec<T>, text: string): Promise<T> {
  const raw = lastTagContent(text, spec.tag);
  if (raw === undefined) {
    throw new StructuredOutputError(spec.tag, text.slice(-2000), `The agent did not write a <${spec.tag}>…</${spec.tag}> block.`, {
      hint: `Ask for it explicitly in the prompt, e.g. "Finish with <${spec.tag}>…</${spec.tag}>"; ${askAgain(spec)}`,
    });
  }
  if (spec.kind === "string") return raw as T;
  const json = unwrapFence(raw);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw new StructuredOutputError(spec.tag, raw, `The <${spec.tag}> block is not valid JSON: ${(cause as Error).message}`, {
      cause,
      hint: `Ask in the prompt for plain JSON between <${spec.tag}> and </${spec.tag}> (a \`\`\`json fence is fine); ${askAgain(spec)}`,
    });
  }
  const result = await spec.schema["~standard"].validate(value);
  if (result.issues) {
    const list = result.issues.map((i) => `${(i.path ?? []).map((p) => (typeof p === "object" ? p.key : p)).join(".") || "(root)"}: ${i.message}`);
    throw new StructuredOutputError(spec.tag, raw, `The <${spec.tag}> block does not match the schema: ${list.join("; ")}`, {
      cause: result.issues,
      hint: `Name the fields the schema needs, with their types, in the prompt; ${askAgain(spec)}`,
    });
  }
  return result.value;
}

/** The second half of every hint: let corral ask the agent again, or say that it already did. */
function askAgain(spec: OutputSpec<unknown>): string {
  const how = spec.kind === "string" ? `Output.string("${spec.tag}", { maxRetries: 2 })` : `Output.object("${spec.tag}", schema, { maxRetries: 2 })`;
  return spec.maxRetries > 0 ? `corral already asked again ${spec.maxRetries} time(s); raise maxRetries if the agent gets closer.` : `or let corral ask the agent again: ${how}.`;
}

/** A ```json fence (or a bare ``` one) around the JSON is removed. */
function unwrapFence(text: string): string {
  const fence = /^```[a-zA-Z]*\s*\n([\s\S]*?)\n?```\s*$/.exec(text.trim());
  return fence ? (fence[1] ?? "") : text;
}
