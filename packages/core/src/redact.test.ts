import { describe, expect, it } from "vitest";
import { anyTrigger, copyForRedaction, createRedactor, inTriggers, mayRedactAny, mayRedactLines, redact, redactDeep, SEARCHED_LENGTH } from "./redact.js";

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
    // the words an Authorization header starts with, in prose
    for (const prose of ["This is a basic example.", "the run's token budget (500 tokens) was reached", "Bearer tokens expire; the token refresh happens later"]) {
      expect(redact(prose)).toBe(prose);
    }
    // (twin) the same words before a credential still hide it
    expect(redact("Authorization: Basic dXNlcjpwYXNzd29yZA==")).toBe("Authorization: Basic ***");
    expect(redact("Authorization: token 0123456789abcdef0123")).toBe("Authorization: token ***");
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

describe("redactor: encodings and line breaks of a secret value", () => {
  const secret = "s3cr3t-Value_With/Plus+And Space!";
  const r = createRedactor([secret]);
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const b64url = (text: string) => Buffer.from(text).toString("base64url");

  it.each([
    ["base64", `blob ${b64(secret)} end`],
    ["base64 inside a longer encoded text, at each alignment", `Authorization: Basic ${b64(`u:${secret}`)} ${b64(`us:${secret}`)} ${b64(`use:${secret}`)}`],
    ["base64 of the value with a newline (echo | base64)", b64(`${secret}\n`)],
    ["base64url", `?state=${b64url(`x${secret}`)}`],
    ["hex", Buffer.from(secret).toString("hex")],
    ["HEX", `0x${Buffer.from(secret).toString("hex").toUpperCase()}`],
    ["URL-encoding", `https://example.com/?p=${encodeURIComponent(secret)}&q=1`],
    ["URL-encoding with lower-case escapes and + for spaces", `p=${encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()).replace(/%20/g, "+")}`],
  ])("hides the value in %s", (_label, text) => {
    const out = r(text);
    expect(out).toContain("***");
    // No long piece of the encoded secret is left.
    for (const encoded of [secret, b64(secret), Buffer.from(secret).toString("hex"), encodeURIComponent(secret)]) {
      for (let i = 0; i + 12 <= encoded.length; i++) expect(out).not.toContain(encoded.slice(i, i + 12));
    }
  });

  it("hides a value split by a line break, in one text and across two lines given apart", () => {
    const at = 13;
    expect(r(`key: ${secret.slice(0, at)}\n${secret.slice(at)} (end)`)).toBe("key: ***\n*** (end)");
    expect(r(`key: ${secret.slice(0, at)}\r\n${secret.slice(at)}`)).toBe("key: ***\r\n***");
    // Two events (the command agent prints each line as its own event).
    expect(r(`key: ${secret.slice(0, at)}`)).toBe("key: ***");
    expect(r(`${secret.slice(at)} (end)`)).toBe("*** (end)");
  });

  it("hides base64 of a value wrapped over two lines (base64 wraps at 76 columns)", () => {
    const long = createRedactor(["sk-live-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"]);
    const wrapped = b64("sk-live-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP").replace(/(.{40})/, "$1\n");
    const out = long(wrapped);
    expect(out).toMatch(/^\*\*\*\n\*\*\*/);
  });

  it("hides each line of a multi-line secret (a PEM key printed line by line)", () => {
    const pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END KEY-----";
    const rp = createRedactor([pem]);
    expect(rp("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")).toBe("***");
    expect(rp("line BKcwggSjAgEAAoIBAQC7 here")).toBe("line *** here");
  });

  // Twins: what merely looks encoded, or shares a little with a secret, is left alone.
  it.each([
    ["other base64", `blob ${b64("an ordinary value, not the secret")} end`],
    ["other hex (a commit sha)", "commit 9edfd4b0c1a2e3f4a5b6c7d8e9f00112233445566"],
    ["other percent-encoding", "GET /search?q=hello%20world%21&page=2 100%"],
    ["a line ending with a short piece of the secret", `prefix s3cr3`],
    ["a line starting with a short piece of the secret", `pace! is a word here`],
    ["the secret's prefix inside a line, not at its edge", `a s3cr3t-Value_ b`],
  ])("leaves %s alone", (_label, text) => {
    expect(r(text)).toBe(text);
  });

  it("costs nothing without secret values: the default redactor changes no ordinary text", () => {
    const text = "hello%20world aGVsbG8= deadbeef\nsplit line";
    expect(redact(text)).toBe(text);
  });
});

describe("mayRedactLines (ADR 0740)", () => {
  // False must mean: redacting each line changes none. Random blocks of short and long lines, secrets and triggers among them.
  it("says no only for blocks whose every line the redactor leaves as it is, with and without exact values", () => {
    // The value's pieces (line edges), encodings and a percent-encoded value's forms are among them.
    const words = ["y", "n", "ok", "sk-", "sk-abcdefghij", "KEY=", "MY_KEY=abcdef", "token x", "Bearer abc123def", "vwxyz", "abcdefgh", "secret", "s3cr3t-value", "3cr3t-", "-value", "s3cr3t", "t-value", "czNjcjN0LXZhbHVl", "7333637233742d76616c7565", "p%40ss", "p%40ss%20w0rd%21x", "p@ss+w0rd!x", "w0rd!x", "\r", ""];
    let seed = 7;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (const values of [[], ["s3cr3t-value"], ["s3cr3t-value", "p@ss w0rd!x"]]) {
      const redactor = createRedactor(values);
      let spared = 0;
      for (let round = 0; round < 3000; round++) {
        const lines = Array.from({ length: 1 + next(6) }, () => Array.from({ length: 1 + next(2) }, () => words[next(words.length)]).join(next(2) ? "" : " "));
        const text = lines.join("\n");
        const changed = lines.some((line) => redactor(line) !== line);
        if (!mayRedactLines(redactor, text)) {
          spared++;
          expect(changed, JSON.stringify(text)).toBe(false);
        }
      }
      expect(spared).toBeGreaterThan(0);
    }
  });

  it("spares a block of 2-byte lines, and of long lines no hidden value touches; twin: a line holding the value, or a piece of it at its edge, is not spared", () => {
    const redactor = createRedactor(["s3cr3t-value"]);
    const short = "y\n".repeat(5000).slice(0, -1);
    expect(mayRedactLines(redactor, short)).toBe(false);
    expect(mayRedactLines(redactor, `${short}\n${"x".repeat(1023)}\n${short}`)).toBe(false);
    expect(mayRedactLines(redactor, `${short}\nthe s3cr3t-value here\n${short}`)).toBe(true);
    expect(mayRedactLines(redactor, `${short}\nit ends with s3cr3t\n-value starts this\n${short}`)).toBe(true);
    expect(mayRedactLines(redactor, `${short}\nt-value starts this\n${short}`)).toBe(true);
    expect(mayRedactLines(createRedactor(["p@ss w0rd!x"]), `${short}\nlogin?pw=p%40ss%20w0rd%21x&ok\n${short}`)).toBe(true);
    expect(mayRedactLines(createRedactor(), `${short}\nsk-abcdefghijk`)).toBe(true);
    expect(mayRedactLines(createRedactor(), `${short}\nplain words here`)).toBe(false);
  });
});

describe("redactDeep: strings looked at together, redacted as one by one", () => {
  const words = ["y", "ok", "sk-", "sk-abcdefghij", "KEY", "=", "MY_KEY=abcdef", "token", "Bearer abc123def", "BeArEr x1y2z3q4", "TOKEN ", "Secret: abcd", "pAsSwOrD=hunter22", "plain", "two files", "hello.txt", "done", "abcdefgh", "secret", "s3cr3t-value", "3cr3t-", "-value", "s3cr3t", "t-value", "czNjcjN0LXZhbHVl", "p%40ss%20w0rd%21x", "p@ss+w0rd!x", "\r", ""];
  // What redactDeep must equal: every string through the redactor, one by one.
  const naive = (value: unknown, r: (t: string) => string): unknown =>
    typeof value === "string" ? r(value) : Array.isArray(value) ? value.map((v) => naive(v, r)) : value && typeof value === "object" ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, naive(v, r)])) : value;

  it("gives what redacting each string would, for random events of short, long and multi-line strings", () => {
    let seed = 11;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    // A string of words joined by a space, by nothing, or by a line break (a secret split across lines, KEY\n=\nvalue).
    const text = () => Array.from({ length: 1 + next(4) }, () => words[next(words.length)]).join([" ", "", "\n"][next(3)]!);
    for (const values of [[], ["s3cr3t-value"], ["s3cr3t-value", "p@ss w0rd!x"]]) {
      const redactor = createRedactor(values);
      let spared = 0;
      for (let round = 0; round < 2000; round++) {
        const event = { type: "agent", iteration: 1, event: { type: "tool-call", id: text(), input: { command: text(), args: [text(), text(), 3] } }, lines: next(2) ? [text(), text()] : [] };
        const texts = [event.event.id, event.event.input.command, ...event.event.input.args.filter((a): a is string => typeof a === "string"), ...event.lines];
        const changed = texts.some((t) => redactor(t) !== t);
        if (!mayRedactAny(redactor, texts)) {
          spared++;
          expect(changed, JSON.stringify(texts)).toBe(false);
        }
        expect(redactDeep(event, redactor)).toEqual(naive(event, redactor));
      }
      expect(spared, "events spared").toBeGreaterThan(20);
    }
  });

  it("says a value split over the lines of one string may be redacted; twin: ordinary strings are spared", () => {
    const redactor = createRedactor(["s3cr3t-value"]);
    expect(mayRedactAny(redactor, ["ok", "MY_KEY\n=\nabcdef"])).toBe(true);
    expect(redactDeep({ a: "MY_KEY\n=\nabcdef" }, redactor)).toEqual({ a: "MY_KEY\n=\n***" });
    expect(mayRedactAny(redactor, ["it ends with s3cr3t", "t-value"])).toBe(true);
    expect(mayRedactAny(redactor, ["Bash", "echo hi > hello.txt", "Run a shell command"])).toBe(false);
  });

  it("copyForRedaction: one look at many events; spared, the copies are what redactDeep gives each; twin: one secret anywhere among them is seen", () => {
    const redactor = createRedactor(["s3cr3t-value"]);
    const events = Array.from({ length: 500 }, (_, i) => ({ type: "tool-call", name: "Bash", input: { command: `echo step ${i}`, args: ["ok", i] } }));
    const clean = copyForRedaction(events, redactor);
    expect(clean.mayChange).toBe(false);
    expect(clean.copies).toEqual(events.map((e) => redactDeep(e, redactor)));
    expect(clean.copies[0]).not.toBe(events[0]);
    expect(clean.copies[0]!.input).not.toBe(events[0]!.input);
    // A secret in one event, a KEY=value in another, a value split across two events, each alone among clean ones.
    for (const [a, b] of [["echo s3cr3t-value", "ok"], ["API_KEY=hunter22", "ok"], ["it ends with s3cr3t", "t-value and more"]]) {
      const mixed = [...events.slice(0, 200), { type: "text", text: a }, { type: "text", text: b }, ...events.slice(200)];
      expect(copyForRedaction(mixed, redactor).mayChange, `${a} | ${b}`).toBe(true);
    }
    expect(copyForRedaction([], redactor)).toEqual({ copies: [], mayChange: false });
  });

  it("always copies, and calls a plain redactor function on every string, short ones too", () => {
    const value = { a: ["ab", { b: "abc" }], n: 1 };
    const copy = redactDeep(value, createRedactor());
    expect(copy).toEqual(value);
    expect(copy).not.toBe(value);
    expect(copy.a).not.toBe(value.a);
    expect(redactDeep(value, (t) => t.toUpperCase())).toEqual({ a: ["AB", { b: "ABC" }], n: 1 });
  });
});

describe("the trigger search: plain-ASCII text searched by its rarer letters", () => {
  // Pieces of every pattern in odd cases and spacing, and what borders them: quotes, \v and \f, a
  // two-byte letter, a Kelvin sign (its lower case is an ASCII k), a long run for the credential.
  // Texts are made at least SEARCHED_LENGTH long (shorter ones go to the expressions themselves).
  const pad = ".".repeat(SEARCHED_LENGTH);
  const pieces = ["sk-", "rK-", "pk-", "ghp_", "gHo_", "github_pat_", "xoxb-", "XOXB-", "AKIA", "KEY", "kEy", "Ke", "y", "TOKEN", "toKen", "to", "ken", "Bearer", "bEaReR", "BASIC", "basiC", "SeCrEt", "se", "cret", "passwd", "PassWord", "pass", "w", "ord", "CREDENTIALS", "AUTH", "Auth", '"', "'", " ", "\t", "\n", "\v", "\f", "\r", "=", ":", "_", "-", "abcdefgh12345678", "ABCDEFGHIJKLMNOP1234", "é", "\u212a", "x", "."];

  it("says yes wherever a trigger's expression finds one, for random texts of those pieces (plain ASCII and not); twin: most are spared", () => {
    let seed = 23;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    let triggered = 0;
    let spared = 0;
    for (let round = 0; round < 30000; round++) {
      const text = pad + Array.from({ length: 2 + next(10) }, () => pieces[next(pieces.length)]).join("");
      const found = anyTrigger(text);
      if (inTriggers(text)) {
        triggered++;
        expect(found, JSON.stringify(text)).toBe(true);
      } else if (!found) spared++;
    }
    expect(triggered, "texts with a trigger").toBeGreaterThan(5000);
    expect(spared, "texts spared").toBeGreaterThan(2000);
    // Every trigger whole, the caseless ones in random case, with each space and quote they allow, among random pieces.
    const spaces = [" ", "\t", "\n", "\v", "\f", "\r"];
    const anyCase = (word: string) => [...word].map((c) => (next(2) ? c.toUpperCase() : c)).join("");
    const pick = <T,>(list: readonly T[]) => list[next(list.length)]!;
    const triggers = [
      () => pick(["k-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "AKIA", "KEY", "TOKEN", "SECRET", "PASSW", "CREDENTIAL", "AUTH"]),
      () => anyCase(pick(["bearer", "basic", "token"])) + pick(spaces),
      () => anyCase(pick(["key", "secret", "token", "passwd", "password"])) + pick(["", '"', "'"]) + pick(["", ...spaces]) + pick(["", ...spaces]) + pick(["=", ":"]),
    ];
    for (let round = 0; round < 20000; round++) {
      const text = [pad, pick(pieces), pick(["", "x", " ", "é"]), pick(triggers)(), pick(["", "x", " "]), pick(pieces)].join("");
      expect(inTriggers(text), JSON.stringify(text)).toBe(true);
      expect(anyTrigger(text), JSON.stringify(text)).toBe(true);
    }
  });

  it("finds a secret after a flood of a letter a search starts with, or of places it looks at (the expressions take over); twin: the flood alone is spared", () => {
    for (const flood of ["k", "b", "c", "p", "ke", "_", "a_", "cret:", "token", "bearer"]) {
      const run = flood.repeat(Math.ceil(200_000 / flood.length));
      expect(mayRedactAny(redact, [run]), flood).toBe(false);
      for (const secret of ["sk-abcdefghijklmnop", "Authorization: Bearer abc123def456ghi", "ghp_abcdefghijklmnopqrstuv", "password = hunter22"]) {
        expect(mayRedactAny(redact, [`${run} ${secret}`]), `${flood} then ${secret}`).toBe(true);
        expect(redact(`${run} ${secret}`)).not.toContain(secret.slice(-8));
      }
    }
  });

  it("finds a secret's form after its tail has been seen without it (the form is searched for from a rarer letter); twin: the tails are left as they are", () => {
    for (const value of ["sk-bench-not-a-real-key", "hunter2-Correct-Horse", "p@ss w0rd!xyz"]) {
      const redactor = createRedactor([value]);
      // The value, its base64 (the characters that depend on its bytes alone), its hex.
      const bytes = Buffer.from(value);
      const forms = [value, bytes.toString("base64").slice(0, Math.floor((8 * bytes.length) / 6)), bytes.toString("hex")];
      for (const form of forms) {
        // Each tail of the form after a wrong head, then the form itself.
        const tails = Array.from({ length: form.length - 6 }, (_, k) => `#${form.slice(k + 1)}`).join(" ");
        expect(mayRedactAny(redactor, [`${tails} ${form} end.`]), form).toBe(true);
        expect(redactor(`${tails} ${form} end.`), form).toBe(`${tails} *** end.`);
      }
    }
  });

  it("looks at text of other characters with the expressions: a secret beside an accent or an emoji is seen; twin: the same prose is spared", () => {
    for (const text of ["café: token abcdef123456", "✅ Bearer eyJhbGciOiJIUzI1NiJ9.x.y", "naïve API_KEY=abcdef12", "🔑 SeCrEt = s3cr3tv4lue"]) {
      expect(mayRedactAny(redact, [text]), text).toBe(true);
      expect(redact(text)).toContain("***");
    }
    expect(mayRedactAny(redact, ["café: the tests pass ✅", "naïve résumé of the change"])).toBe(false);
  });
});
