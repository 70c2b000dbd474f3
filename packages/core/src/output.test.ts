import { describe, expect, it } from "vitest";
import { z } from "zod";
import { StructuredOutputError } from "./errors.js";
import { Output, extractOutput, lastTagContent } from "./output.js";

describe("structured output", () => {
  it("takes the last occurrence of the tag", () => {
    expect(lastTagContent("<r>1</r> then <r> 2 </r>", "r")).toBe("2");
  });

  it("parses JSON, unwrapping a ```json fence, and validates it", async () => {
    const spec = Output.object("result", z.object({ ok: z.boolean(), n: z.number() }));
    await expect(extractOutput(spec, 'x <result>\n```json\n{"ok":true,"n":3}\n```\n</result>')).resolves.toEqual({ ok: true, n: 3 });
  });

  it("reports a missing tag with the tag and the raw text", async () => {
    const error = await extractOutput(Output.string("answer"), "no tag here").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StructuredOutputError);
    expect(error).toMatchObject({ tag: "answer", raw: "no tag here", code: "E_STRUCTURED_OUTPUT", hint: expect.stringContaining('Output.string("answer", { maxRetries: 2 })') });
  });

  it("reports invalid JSON with its cause", async () => {
    const error = (await extractOutput(Output.object("r", z.object({})), "<r>{nope</r>").catch((e: unknown) => e)) as StructuredOutputError;
    expect(error).toBeInstanceOf(StructuredOutputError);
    expect(error.message).toMatch(/not valid JSON/);
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(error.hint).toMatch(/plain JSON between <r> and <\/r>.*Output\.object\("r", schema, \{ maxRetries: 2 \}\)/);
  });

  it("reports schema mismatches by field", async () => {
    const error = (await extractOutput(Output.object("r", z.object({ n: z.number() })), '<r>{"n":"x"}</r>').catch((e: unknown) => e)) as StructuredOutputError;
    expect(error.message).toMatch(/n: /);
    expect(error.raw).toBe('{"n":"x"}');
    expect(error.hint).toMatch(/Name the fields the schema needs/);
    const retried = (await extractOutput(Output.object("r", z.object({ n: z.number() }), { maxRetries: 3 }), '<r>{"n":"x"}</r>').catch((e: unknown) => e)) as StructuredOutputError;
    expect(retried.hint).toContain("already asked again 3 time(s)");
  });

  it("refuses tags that are not names", () => {
    expect(() => Output.string("a b")).toThrow(/Invalid output tag/);
  });
});
