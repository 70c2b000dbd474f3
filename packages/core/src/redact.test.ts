import { describe, expect, it } from "vitest";
import { createRedactor, redact, redactDeep } from "./redact.js";

describe("redactor", () => {
  it.each([
    ["key sk-ant-api03-abcdefghijklmnop in text", "sk-ant-api03-abcdefghijklmnop"],
    ["ANTHROPIC_API_KEY=supersecretvalue123", "supersecretvalue123"],
    ["MY_TOKEN=abc123def456", "abc123def456"],
    ["DB_PASSWORD=hunter2hunter2", "hunter2hunter2"],
    ["CLIENT_SECRET: s3cr3tv4lue", "s3cr3tv4lue"],
    ["Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9.payload.sig"],
    ['{"api_key": "zzzzyyyyxxxx"}', "zzzzyyyyxxxx"],
    ["token ghp_abcdefghijklmnopqrstuv", "ghp_abcdefghijklmnopqrstuv"],
  ])("hides the secret in %j", (text, secret) => {
    const out = redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain("***");
  });

  it("keeps field names in validation messages readable", () => {
    expect(redact('Unrecognized key: "maxTurns"')).toBe('Unrecognized key: "maxTurns"');
    expect(redact("Invalid input: expected string, received undefined at key: model")).toContain("key: model");
  });

  it.each([["password=hunter22"], ["x-api-key: abcdef123456"], ["secret_key = 'zyxwvutsrq'"], ["client_secret: qwertyuiop"]])("hides lower-case secret fields in %j", (text) => {
    expect(redact(text)).toContain("***");
  });

  it("leaves ordinary text alone", () => {
    const text = "iteration 3 finished: 12 files changed, see src/key-handling.ts";
    expect(redact(text)).toBe(text);
  });

  it("hides the exact values of a run's secret env vars, longest first", () => {
    const r = createRedactor(["plain-value-without-shape", "plain-value"]);
    expect(r("got plain-value-without-shape and plain-value")).toBe("got *** and ***");
  });

  it("ignores secret values too short to be credentials", () => {
    const r = createRedactor(["ab"]);
    expect(r("abc")).toBe("abc");
  });

  it("redacts every string inside an object without changing its shape", () => {
    const r = createRedactor(["the-secret-value"]);
    expect(redactDeep({ a: ["x the-secret-value"], b: { c: 1, d: "the-secret-value" } }, r)).toEqual({ a: ["x ***"], b: { c: 1, d: "***" } });
  });
});
