/**
 * Text that came from a sandbox (what the agent printed, hook output, commit subjects, file names)
 * is hostile: a terminal obeys the control sequences in it (move the cursor over corral's own
 * lines, set the title, write the clipboard, plant links) and bidi or zero-width characters make
 * it read as something it is not. Everything rendered for people passes `inert`; JSON for
 * machines passes `inertJson`, which keeps the exact text but escapes the same characters.
 */

/**
 * What a terminal or a reader could be tricked by: C0 controls but tab and newline, DEL and C1
 * (U+009B is CSI), and the invisible or reordering format characters — soft hyphen, combining
 * grapheme joiner, Arabic letter mark, Hangul fillers, Khmer inherent vowels, Mongolian selectors,
 * zero-width space/joiners, LRM/RLM, line and paragraph separators, bidi embeddings, overrides and
 * isolates, word joiner and invisible operators, BOM, interlinear annotations, musical format
 * characters and tag characters (U+E0000–U+E007F, "ASCII smuggling"). UTF-16 code units, no `u`
 * flag: the test runs on every line and must stay cheap.
 */
const FORMAT = "\\xad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\u3164\\ufeff\\uffa0\\ufff9-\\ufffb";
const ASTRAL = "\\ud834[\\udd73-\\udd7a]|\\udb40[\\udc00-\\udc7f]";
const UNSAFE_TEST = new RegExp(`[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f${FORMAT}]|${ASTRAL}`);
const UNSAFE = new RegExp(`[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f${FORMAT}]|${ASTRAL}`, "g");
/** In JSON the C0 controls are escaped already; the rest must be too. */
const JSON_UNSAFE_TEST = new RegExp(`[\\x7f-\\x9f${FORMAT}]|${ASTRAL}`);
const JSON_UNSAFE = new RegExp(`[\\x7f-\\x9f${FORMAT}]|${ASTRAL}`, "g");

const ZWJ = 0x200d;
const EMOJI = /^\p{Extended_Pictographic}$/u;

/**
 * The text with every control and invisible format character made visible: C0 controls as their
 * Unicode control pictures (ESC → `␛`, CR → `␍`), DEL as `␡`, the others as `<U+202E>`. Tabs and
 * newlines stay, and so does a zero-width joiner inside an emoji sequence (👩‍💻). Ordinary text,
 * whatever its script, is returned as it is (the same string).
 */
export function inert(text: string): string {
  if (!UNSAFE_TEST.test(text)) return text;
  return text.replace(UNSAFE, (char: string, offset: number) => {
    const code = char.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return "\u2421";
    if (code === ZWJ && joinsEmoji(text, offset)) return char;
    return `<U+${(char.codePointAt(0) ?? code).toString(16).toUpperCase().padStart(4, "0")}>`;
  });
}

/**
 * `JSON.stringify(value, null, space)` that a terminal can show safely: the characters `inert`
 * makes visible are written as `\uXXXX` escapes, so the JSON means exactly the same data.
 */
export function inertJson(value: unknown, space?: number): string {
  const json = JSON.stringify(value, null, space) ?? "null";
  // Plain ASCII but DEL (one byte per character: a native count) holds none of them: most JSON is,
  // and the test below costs ~5x that count on it.
  if (Buffer.byteLength(json) === json.length ? !json.includes("\x7f") : !JSON_UNSAFE_TEST.test(json)) return json;
  return json.replace(JSON_UNSAFE, (chars: string) => chars.split("").map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`).join(""));
}

/** A zero-width joiner between two emoji (an emoji, maybe a variation selector or skin tone, then ZWJ, then an emoji) is part of one picture. */
function joinsEmoji(text: string, offset: number): boolean {
  let before = offset;
  let previous = codePointBefore(text, before);
  if (previous === 0xfe0f || (previous >= 0x1f3fb && previous <= 0x1f3ff)) {
    before -= previous > 0xffff ? 2 : 1;
    previous = codePointBefore(text, before);
  }
  const next = text.codePointAt(offset + 1);
  return previous > 0 && next !== undefined && EMOJI.test(String.fromCodePoint(previous)) && EMOJI.test(String.fromCodePoint(next));
}

function codePointBefore(text: string, offset: number): number {
  if (offset <= 0) return -1;
  const low = text.charCodeAt(offset - 1);
  if (low >= 0xdc00 && low <= 0xdfff && offset >= 2) {
    const high = text.charCodeAt(offset - 2);
    if (high >= 0xd800 && high <= 0xdbff) return (high - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
  }
  return low;
}
