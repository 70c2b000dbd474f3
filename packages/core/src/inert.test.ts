import { describe, expect, it } from "vitest";
import { inert, inertJson } from "./inert.js";

const ESC = "\x1b";

describe("inert: text from a sandbox rendered for people", () => {
  it.each([
    ["OSC 0 (window title)", `${ESC}]0;pwned\x07`, "␛]0;pwned␇"],
    ["OSC 52 (clipboard write)", `${ESC}]52;c;cm0gLXJmIH4=\x07`, "␛]52;c;cm0gLXJmIH4=␇"],
    ["OSC 8 (hyperlink)", `${ESC}]8;;https://evil.example/${ESC}\\docs${ESC}]8;;${ESC}\\`, "␛]8;;https://evil.example/␛\\docs␛]8;;␛\\"],
    ["CSI erase line and cursor up over corral's own line", `${ESC}[2K${ESC}[1A${ESC}[2Krun succeeded`, "␛[2K␛[1A␛[2Krun succeeded"],
    ["a carriage return that overwrites the line", "50%\rrun succeeded", "50%␍run succeeded"],
    ["backspace, bell, form feed, vertical tab, NUL", "a\bb\x07\f\v\0", "a␈b␇␌␋␀"],
    ["C1 CSI (U+009B) and DEL", "\u009b2J\x7f", "<U+009B>2J␡"],
    ["bidi override (Trojan Source)", "access\u202e\u2066 // admin\u2069\u2066", "access<U+202E><U+2066> // admin<U+2069><U+2066>"],
    ["zero-width characters and a BOM", "pa\u200bss\u200cwo\u2060rd\ufeff", "pa<U+200B>ss<U+200C>wo<U+2060>rd<U+FEFF>"],
    ["line and paragraph separators", "a\u2028b\u2029c", "a<U+2028>b<U+2029>c"],
    ["tag characters (ASCII smuggling)", "hi\u{e0041}\u{e0042}", "hi<U+E0041><U+E0042>"],
    ["a lone zero-width joiner", "rm\u200d -rf", "rm<U+200D> -rf"],
  ])("makes %s visible", (_label, text, expected) => {
    expect(inert(text)).toBe(expected);
    expect(inert(text)).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/);
  });

  it("is idempotent", () => {
    const once = inert(`${ESC}[2K\u202eabc\r`);
    expect(inert(once)).toBe(once);
  });

  // Twin: what is only text stays exactly as it is.
  it.each([
    ["ASCII", "iteration 3 finished: 12 files changed"],
    ["tabs and newlines", "a\tb\n\tc"],
    ["accents, CJK, right-to-left scripts", "café naïve — 日本語のテキスト — שלום עולם — مرحبا"],
    ["emoji, with skin tones and ZWJ sequences", "done ✅ 👍🏽 👩‍💻 👨‍👩‍👧 🏳️‍🌈"],
    ["variation selectors", "☺︎ ☺️ 葛󠄀"],
  ])("leaves %s unchanged", (_label, text) => {
    expect(inert(text)).toBe(text);
  });
});

describe("inertJson: exact data, inert text", () => {
  it("escapes what a terminal would obey and parses back to the exact string", () => {
    const text = `${ESC}]0;t\x07\u009b\u202e\u200b\x7f\u{e0041} ok 👩‍💻\t`;
    const json = inertJson({ text });
    expect(json).not.toMatch(/[\x00-\x1f\x7f-\x9f\u200b\u202e]|\udb40/);
    expect(JSON.parse(json)).toEqual({ text });
  });

  it("escapes DEL in text that is otherwise plain ASCII", () => {
    expect(inertJson({ text: "rm\x7f -rf" })).toBe('{"text":"rm\\u007f -rf"}');
    expect(inertJson({ text: "plain ascii" })).toBe('{"text":"plain ascii"}');
  });

  it("is JSON.stringify for ordinary data, with indentation when asked", () => {
    const value = { a: "café 日本", b: [1, 2], c: null };
    expect(inertJson(value)).toBe(JSON.stringify(value));
    expect(inertJson(value, 2)).toBe(JSON.stringify(value, null, 2));
  });
});
