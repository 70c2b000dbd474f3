/**
 * One redactor for every message, log line and event. It hides well-known secret shapes
 * (API keys, `KEY=value` pairs, bearer tokens) and the values of env vars a run marks secret:
 * as they are, in their usual encodings (base64, base64url, hex, percent-encoding), and split by a
 * line break (a secret printed across two lines, or across two events).
 */
const MASK = "***";

// Triggers `anyTrigger` tests as they are.
const GITHUB_TRIGGER = /gh[pousr]_|github_pat_/;
const SLACK_TRIGGER = /xox[abposr]-/;
const CAPITALS_TRIGGER = /KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH/;

/**
 * Each pattern with a cheap trigger that any text it could match must contain: most text (agent
 * prose, tool output) passes every trigger test and never runs a pattern.
 */
const PATTERNS: Array<{ trigger: RegExp; pattern: RegExp; replacement: string }> = [
  // Provider API keys: sk-…, sk-ant-…, sk-proj-…, ghp_…, xoxb-… and similar long tokens. The trigger
  // is `k-`, not `[srp]k-`: s, r and p are common letters, each one a try of the expression.
  { trigger: /k-/, pattern: /\b(sk|rk|pk)-[A-Za-z0-9_-]{8,}/g, replacement: MASK },
  { trigger: GITHUB_TRIGGER, pattern: /\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{10,}/g, replacement: MASK },
  { trigger: SLACK_TRIGGER, pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, replacement: MASK },
  { trigger: /AKIA/, pattern: /\bAKIA[0-9A-Z]{16}\b/g, replacement: MASK },
  // Authorization headers. The credential must look like one (a digit in it, or 20+ characters), so
  // prose such as "a basic example" or "the token budget" is not mangled.
  {
    trigger: /(bearer|basic|token)\s/i,
    pattern: /\b(Bearer|Basic|token)\s+(?=[A-Za-z0-9._~+/=-]*\d|[A-Za-z0-9._~+/=-]{20})[A-Za-z0-9._~+/=-]{6,}/gi,
    replacement: `$1 ${MASK}`,
  },
  // Env style, NAME=value / NAME: value, where an upper-case name says it holds a secret.
  // Case-sensitive on purpose: "Unrecognized key: maxTurns" is an ordinary message, not a secret.
  {
    trigger: CAPITALS_TRIGGER,
    pattern: /\b([A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH)[A-Z0-9_]*)(\s*[=:]\s*)("?)([^\s"',;&]+)/g,
    replacement: `$1$2$3${MASK}`,
  },
  // JSON / header style with a quoted or lower-case name: "api_key": "…", password=…, x-api-key: …
  {
    // The name must end in the keyword ("input_tokens": 12 is usage, not a secret).
    trigger: /(key|secret|token|passw(or)?d)["']?\s*[=:]/i,
    pattern: /(["']?)\b((?:[a-z0-9]+[_-])*(?:api[_-]?key|access[_-]?key|secret(?:[_-]key)?|token|password|passwd|auth[_-]?token|client[_-]secret))\1(\s*[=:]\s*)(["']?)([^\s"',;&]{4,})/gi,
    replacement: `$1$2$1$3$4${MASK}`,
  },
];

/**
 * Every pattern's trigger in two expressions, one per case rule: a text that holds none (most) is
 * passed over twice, not once per trigger: 0.31–0.38x the time of the seven tests on short texts,
 * 0.39x on prose; on a long run of a letter that starts a trigger (`xxxx…`) it can be slower (a try
 * at every position). One expression for all, each letter spelt in both cases, was slower still.
 */
const TRIGGERS = [false, true].map((caseless) => new RegExp(PATTERNS.filter(({ trigger }) => trigger.ignoreCase === caseless).map(({ trigger }) => trigger.source).join("|"), caseless ? "i" : ""));
/** Whether a pattern's trigger is in `text`: the expressions themselves (what `anyTrigger` must agree with). */
export const inTriggers = (text: string): boolean => TRIGGERS[0]!.test(text) || TRIGGERS[1]!.test(text);

/**
 * Whether `text` may hold a pattern's trigger: true whenever `inTriggers` is (a property test holds
 * it to that), and what most text gets instead. Plain-ASCII text (a native byte count tells) is
 * searched with `includes` for each trigger's rarer letters, found by memchr at a few bytes a
 * nanosecond, and the places found are looked at by hand: the expressions try at every common
 * letter. 0.26x their time on prose, ~0.6x on the texts of the claude and codex streams of `pnpm
 * bench`. Other text goes to them (its lower case costs more than they do), and so does text with
 * too many places to look at. A flood of a letter a search starts with is its worst case (ADR
 * 0743): ~13 ms/MB for `bbbb…` (two searches start with b), against 0.8 for the expressions.
 */
export function anyTrigger(text: string): boolean {
  // Under SEARCHED_LENGTH the dozen calls of the search cost more than the two expressions.
  if (text.length < SEARCHED_LENGTH || Buffer.byteLength(text) !== text.length) return inTriggers(text);
  // Case-sensitive: sk-/rk-/pk- keys and Slack tokens (both need a dash: most prose has none), AWS
  // key ids, upper-case names, GitHub tokens.
  if (text.includes("-") && (text.includes("k-") || (text.includes("xox") && SLACK_TRIGGER.test(text)))) return true;
  if (text.includes("AKIA") || CAPITALS_TRIGGER.test(text) || githubTrigger(text)) return true;
  // Caseless, on the lower case (ASCII: the same places).
  const lower = text.toLowerCase();
  const assigns = lower.includes(":") || lower.includes("=");
  // Each place found costs a call: text full of them (`kekeke…`) goes to the expressions.
  let places = 16 + (text.length >> 6);
  for (const { part, assignment, isTrigger } of CASELESS_TRIGGERS) {
    if (assignment && !assigns) continue;
    for (let at = lower.indexOf(part); at !== -1; at = lower.indexOf(part, at + part.length)) {
      if (--places < 0) return inTriggers(text);
      if (isTrigger(lower, at)) return true;
    }
  }
  return false;
}

/** The shortest text the trigger search takes (measured: 108 against 70 ns at 16 characters, 119 against 127 at 32). */
export const SEARCHED_LENGTH = 32;

/**
 * The caseless triggers, `(bearer|basic|token)\s` and `(key|secret|token|passw(or)?d)["']?\s*[=:]`, as
 * a part of each word to look for (its rarer letters first) and whether a trigger is at a place found;
 * `assignment`: it needs a `:` or `=`.
 */
const CASELESS_TRIGGERS: Array<{ part: string; assignment: boolean; isTrigger(lower: string, at: number): boolean }> = [
  {
    part: "ke",
    assignment: false,
    isTrigger: (lower, at) => {
      const next = lower.charCodeAt(at + 2);
      if (next === 121 /* key */) return assignsAt(lower, at + 3);
      return next === 110 /* token */ && at >= 2 && lower.startsWith("to", at - 2) && (isAsciiSpace(lower.charCodeAt(at + 3)) || assignsAt(lower, at + 3));
    },
  },
  { part: "bearer", assignment: false, isTrigger: (lower, at) => isAsciiSpace(lower.charCodeAt(at + 6)) },
  { part: "basic", assignment: false, isTrigger: (lower, at) => isAsciiSpace(lower.charCodeAt(at + 5)) },
  { part: "cret", assignment: true, isTrigger: (lower, at) => at >= 2 && lower.startsWith("se", at - 2) && assignsAt(lower, at + 4) },
  {
    part: "passw",
    assignment: true,
    isTrigger: (lower, at) => (lower.charCodeAt(at + 5) === 100 /* passwd */ && assignsAt(lower, at + 6)) || (lower.startsWith("ord", at + 5) && assignsAt(lower, at + 8)),
  },
];

/**
 * Whether GITHUB_TRIGGER is in `text`, from its underscores: ids (`toolu_01…`) put a few in most
 * agent output, and each is looked at, not the whole text; many (snake_case code) go to the expression.
 */
function githubTrigger(text: string): boolean {
  let budget = 16 + (text.length >> 8);
  for (let at = text.indexOf("_"); at !== -1; at = text.indexOf("_", at + 1)) {
    if (--budget < 0) return GITHUB_TRIGGER.test(text);
    // gh[pousr]_ ends here, or github_pat_ has its first or its last underscore here.
    if (at >= 3 && text.charCodeAt(at - 3) === 103 /* g */ && text.charCodeAt(at - 2) === 104 /* h */ && "pousr".includes(text[at - 1]!)) return true;
    if (text.startsWith("github_pat_", at - 6) || text.startsWith("github_pat_", at - 10)) return true;
  }
  return false;
}

/** Tab, line feed, vertical tab, form feed, carriage return, space: what `\s` matches in ASCII. */
function isAsciiSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

/** Whether `["']?\s*[=:]` matches at `at` (an assignment after a secret's name). */
function assignsAt(text: string, at: number): boolean {
  let code = text.charCodeAt(at);
  if (code === 34 || code === 39) code = text.charCodeAt(++at);
  while (isAsciiSpace(code)) code = text.charCodeAt(++at);
  return code === 61 /* = */ || code === 58 /* : */;
}

/** No secret value (>= 6 chars) or pattern match fits in less. */
const SHORTEST_SECRET = 6;
/**
 * A piece of a secret (or of one of its encodings) this long, at a line break, is hidden: the
 * part before the break ends a line, the part after it starts the next. At most this many
 * characters less one of a split secret can stay visible.
 */
const FRAGMENT = 6;
/** Short strings (ids, names) repeat in every event: the last few are remembered. */
const MEMO_LENGTH = 32;
const MEMO_SIZE = 4;
/** Forms longer than this are found whole only: indexing their pieces would cost more than it saves. */
const MAX_INDEXED = 4096;

/** Hides secrets in text: known secret shapes (API keys, tokens) and the exact values it was given, in their encodings. */
export interface Redactor {
  /** `text` with every secret replaced. */
  (text: string): string;
  /** Adds exact values (e.g. the env vars a run was given as secrets) to hide from now on. */
  addSecrets(values: Iterable<string | undefined>): void;
}

/** A redactor that also hides `secrets` (exact values). Every text that leaves a run MUST pass one. */
export function createRedactor(secrets: Iterable<string | undefined> = []): Redactor {
  const values = new Set<string>();
  let matcher = buildMatcher([]);
  // The last few short strings and their redacted form: every event repeats its run id and name.
  const recent: string[] = new Array<string>(MEMO_SIZE * 2).fill("");
  let next = 0;
  const redact = ((text: string): string => {
    if (!text || text.length < SHORTEST_SECRET) return text;
    const short = text.length <= MEMO_LENGTH;
    if (short) for (let i = 0; i < MEMO_SIZE * 2; i += 2) if (recent[i] === text) return recent[i + 1]!;
    let out = matcher.hide(text);
    if (anyTrigger(out)) for (const { trigger, pattern, replacement } of PATTERNS) if (trigger.test(out)) out = out.replace(pattern, replacement);
    if (short) {
      recent[next] = text;
      recent[next + 1] = out;
      next = (next + 2) % (MEMO_SIZE * 2);
    }
    return out;
  }) as Redactor;
  redact.addSecrets = (more) => {
    const before = values.size;
    for (const value of more) {
      // Very short values would mask ordinary words; a real credential is never this short.
      if (!value || value.length < SHORTEST_SECRET) continue;
      values.add(value);
      // A multi-line value (a PEM key) is printed line by line: each line is hidden on its own.
      if (/[\r\n]/.test(value)) for (const line of value.split(/\r?\n|\r/)) if (line.trim().length >= SHORTEST_SECRET) values.add(line);
    }
    if (values.size === before) return;
    matcher = buildMatcher([...values]);
    recent.fill("");
  };
  redact.addSecrets(secrets);
  // Whether redacting each line of `text` (lines joined by "\n") may change one (ADR 0740). No when
  // every line is shorter than the shortest secret (the redactor returns those as they are; ~0.5 ms/MB
  // of 2-byte lines to find out), or when no hidden value touches the text (the matcher says it in
  // one pass over the block) and no pattern's trigger is in it (then none is in any line).
  const mayChange = (text: string) => matcher.touches(text) || anyTrigger(text);
  (redact as { [LINES_CHECK]?: (text: string) => boolean })[LINES_CHECK] = (text) => text.length >= SHORTEST_SECRET && hasLongLine(text) && mayChange(text);
  // Whether redacting any of `texts` whole may change it (each as `redact(text)`), from one look at
  // them joined by "\n": the lines of the join are the lines of the texts, so a hidden value, or one's
  // piece at a line's edge, in a text is in the join; and every pattern's match holds its trigger.
  // (No short-line shortcut: one text's lines can hold KEY\n=\nvalue.) None: nothing to change.
  (redact as { [TEXTS_CHECK]?: (texts: readonly string[]) => boolean })[TEXTS_CHECK] = (texts) => texts.length > 0 && mayChange(texts.length === 1 ? texts[0]! : texts.join("\n"));
  return redact;
}

/** How a redactor from `createRedactor` says whether any of some texts may need it (not public). */
const TEXTS_CHECK = Symbol("corral.redactsTexts");

/**
 * Whether `redactor` may change any of `texts` (each redacted whole); false only when it surely
 * changes none. One check of them all costs about what redacting one of them does.
 */
export function mayRedactAny(redactor: (text: string) => string, texts: readonly string[]): boolean {
  const check = (redactor as { [TEXTS_CHECK]?: (texts: readonly string[]) => boolean })[TEXTS_CHECK];
  return check === undefined || check(texts);
}

/** How a redactor from `createRedactor` says whether a block of lines may need it (not public). */
const LINES_CHECK = Symbol("corral.redactsLines");
/**
 * Whether a line of `text` is as long as the shortest secret. Such a run of characters holds one
 * of every SHORTEST_SECRET-th position: only those are looked at, and around them (~0.5 ms/MB of
 * 2-byte lines; a regular expression, `[^\\n]{6}`, tries every position: ~4.8 ms/MB).
 */
function hasLongLine(text: string): boolean {
  for (let at = SHORTEST_SECRET - 1; at < text.length; at += SHORTEST_SECRET) {
    if (text.charCodeAt(at) === 10) continue;
    let left = at;
    while (left > 0 && at - left < SHORTEST_SECRET - 1 && text.charCodeAt(left - 1) !== 10) left--;
    let right = at;
    while (right - left < SHORTEST_SECRET - 1 && right + 1 < text.length && text.charCodeAt(right + 1) !== 10) right++;
    if (right - left + 1 >= SHORTEST_SECRET) return true;
  }
  return false;
}

/**
 * Whether passing each line of `text` (lines joined by "\n") through `redactor` may change one of
 * them; false only when it surely changes none, so the lines need not be made to be redacted.
 */
export function mayRedactLines(redactor: Redactor, text: string): boolean {
  const check = (redactor as { [LINES_CHECK]?: (text: string) => boolean })[LINES_CHECK];
  return check === undefined || check(text);
}

/**
 * The part of the redactor that knows the secret values: a function that hides every form of
 * every value in a text. Literal forms are found with `includes` (native and fast; most text has
 * none); their pieces at line breaks through two small indexes keyed by the two characters at the
 * line's edge, so a line costs two map look-ups whatever the number of secrets.
 */
function buildMatcher(values: readonly string[]): Matcher {
  if (!values.length) return { hide: (text) => text, touches: () => false };
  const literals = [...new Set(values.flatMap(literalForms))].filter((f) => f.length >= SHORTEST_SECRET).sort((a, b) => b.length - a.length);
  const searches = literals.map(searchOf);
  const percent = values.map(percentForm).filter((form): form is RegExp => form !== undefined);
  const plus = values.some((value) => value.includes(" ")); // form encoding writes a space as +
  // Prefixes of a form that can end a line, and suffixes that can start one, longest first.
  const heads = new Map<number, string[]>();
  const tails = new Map<number, string[]>();
  const index = (map: Map<number, string[]>, key: number, piece: string) => {
    const list = map.get(key);
    if (list) list.push(piece);
    else map.set(key, [piece]);
  };
  for (const form of literals) {
    if (form.length > MAX_INDEXED) continue; // a huge value (a certificate bundle) is only found whole
    for (let end = form.length - 1; end >= FRAGMENT; end--) index(heads, pairKey(form, end - 2), form.slice(0, end));
    for (let start = 1; start <= form.length - FRAGMENT; start++) index(tails, pairKey(form, start), form.slice(start));
  }
  for (const list of [...heads.values(), ...tails.values()]) list.sort((a, b) => b.length - a.length);

  const edges = (line: string): string => {
    let out = line;
    const cr = out.endsWith("\r") ? 1 : 0; // a CRLF line ends before its \r
    const end = out.length - cr;
    if (end >= FRAGMENT) {
      for (const head of heads.get(pairKey(out, end - 2)) ?? []) {
        if (head.length <= end && out.startsWith(head, end - head.length)) {
          out = `${out.slice(0, end - head.length)}${MASK}${out.slice(end)}`;
          break;
        }
      }
    }
    if (out.length >= FRAGMENT) {
      for (const tail of tails.get(pairKey(out, 0)) ?? []) {
        if (out.startsWith(tail)) {
          out = `${MASK}${out.slice(tail.length)}`;
          break;
        }
      }
    }
    return out;
  };

  const hide = (text: string): string => {
    let out = text;
    // Longest first, so a form that contains another is hidden whole; none longer than the text can be in it.
    let i = 0;
    while (i < literals.length && literals[i]!.length > out.length) i++;
    for (; i < literals.length; i++) if (holds(out, searches[i]!)) out = out.split(literals[i]!).join(MASK);
    if (percent.length && (out.includes("%") || (plus && out.includes("+")))) for (const form of percent) out = out.replace(form, MASK);
    return out.includes("\n") ? out.split("\n").map(edges).join("\n") : edges(out);
  };

  // Whether `hide` would change a line of `text` (lines joined by "\n"), without making the lines: the
  // same look-ups as `hide` and `edges`, at each newline. True may be a false alarm, false never is.
  const touches = (text: string): boolean => {
    for (const search of searches) if (search.form.length <= text.length && holds(text, search)) return true;
    if (percent.length && (text.includes("%") || (plus && text.includes("+")))) return true;
    for (let start = 0; start <= text.length; ) {
      let end = text.indexOf("\n", start);
      if (end === -1) end = text.length;
      const last = text.charCodeAt(end - 1) === 13 ? end - 1 : end; // a CRLF line ends before its \r
      if (last - start >= FRAGMENT) for (const head of heads.get(pairKey(text, last - 2)) ?? []) if (head.length <= last - start && text.startsWith(head, last - head.length)) return true;
      if (end - start >= FRAGMENT) for (const tail of tails.get(pairKey(text, start)) ?? []) if (text.startsWith(tail, start)) return true;
      start = end + 1;
    }
    return false;
  };
  return { hide, touches };
}

/** What hides the secret values in a text, and says whether it would change any line of one. */
interface Matcher {
  hide(text: string): string;
  touches(text: string): boolean;
}

/**
 * A literal form and where to look for it from: `includes` finds a string by its first character
 * (memchr), then compares, so a common first character (`s` of `sk-…`) stops it all along prose.
 * The form is looked for by its tail from its least common character among the first ones (a tail
 * of at least SHORTEST_SECRET characters), then checked whole: for the six forms of a 23-character
 * key, 0.29x the time of `includes` on prose, 0.7–0.85x on the texts of the agents' events.
 */
interface LiteralSearch {
  form: string;
  from: number;
  head: string;
  tail: string;
}

/**
 * Characters of agent output (prose, code, ids and counts), the most common first; any other is
 * rarer than all of them, capitals most.
 */
const COMMON = " etaoinsrhldcu\n0123456789.m,fpg_w-y\"b=(v)/:k'x;jqz";

function searchOf(form: string): LiteralSearch {
  const rank = (char: string) => (COMMON.includes(char) ? COMMON.indexOf(char) : COMMON.length + (/[A-Z]/.test(char) ? 1 : 0));
  let from = 0;
  for (let at = 1; at <= form.length - SHORTEST_SECRET; at++) if (rank(form[at]!) > rank(form[from]!)) from = at;
  return { form, from, head: form.slice(0, from), tail: form.slice(from) };
}

/** Whether `text` holds the form (as `text.includes(form)`). */
function holds(text: string, { form, from, head, tail }: LiteralSearch): boolean {
  if (from === 0) return text.includes(form);
  for (let at = text.indexOf(tail, from); at !== -1; at = text.indexOf(tail, at + 1)) if (text.startsWith(head, at - from)) return true;
  return false;
}

/** Two UTF-16 units as one number, the key of the fragment indexes. */
function pairKey(text: string, at: number): number {
  return text.charCodeAt(at) * 65536 + text.charCodeAt(at + 1);
}

/**
 * The value and its byte encodings as literal strings: base64 and base64url at each of the three
 * alignments it can have inside a longer encoded text (`user:secret` in a Basic header), keeping
 * only the characters that depend on the value's bytes alone; hex in both cases.
 */
function literalForms(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const forms = [value];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64").replace(/=+$/, "");
    // Character i holds bits 6i…6i+5: keep those that fall inside the value's bytes.
    const core = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    forms.push(core, core.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  const hex = bytes.toString("hex");
  forms.push(hex, hex.toUpperCase());
  return forms;
}

/**
 * The value percent-encoded (URLs, form bodies), as a pattern: each character that an encoder may
 * escape can appear as itself or as its `%XX` bytes in either case (and a space as `+`), so any
 * encoder's output matches. Undefined when nothing in the value would be escaped.
 */
function percentForm(value: string): RegExp | undefined {
  if (/^[A-Za-z0-9_.~-]*$/.test(value)) return undefined;
  const units = [...value].map((char) => {
    if (/[A-Za-z0-9_.~-]/.test(char)) return char;
    const escaped = [...Buffer.from(char, "utf8")].map((byte) => `%${byte.toString(16).padStart(2, "0").replace(/[a-f]/g, (d) => `[${d}${d.toUpperCase()}]`)}`).join("");
    return `(?:${char.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")}|${escaped}${char === " " ? "|\\+" : ""})`;
  });
  return new RegExp(units.join(""), "g");
}

/** The default redactor: patterns only. */
export const redact: Redactor = createRedactor();

/**
 * Redacts every string inside a JSON-like value (events, options) without changing its shape: a
 * copy, always. Every event of a run passes here: the strings are looked at together first, and
 * most events hold none the redactor would change, so it is called on each only when one may.
 */
export function redactDeep<T>(value: T, redactor: (text: string) => string = redact): T {
  if (typeof value === "string") return redactor(value) as T;
  const { copies, mayChange } = copyForRedaction([value], redactor);
  return mayChange ? mapStrings(value, redactor) : copies[0]!;
}

/**
 * Copies of `values`, as `redactDeep` makes them but not redacted, and whether `redactor` may change
 * one of their strings: one look at all of them together. `mayChange` false: the copies are what
 * `redactDeep` gives for each. The events a block of agent output makes are looked at this way, once.
 */
export function copyForRedaction<T>(values: readonly T[], redactor: (text: string) => string): { copies: T[]; mayChange: boolean } {
  // A redactor from createRedactor leaves a text shorter than a secret as it is: only the others are looked at.
  const texts: string[] = [];
  const collect = (text: string) => {
    if (text.length >= SHORTEST_SECRET) texts.push(text);
    return text;
  };
  const copies = new Array<T>(values.length);
  for (let i = 0; i < values.length; i++) copies[i] = mapStrings(values[i] as T, collect);
  return { copies, mayChange: mayRedactAny(redactor, texts) };
}

/** A copy of a JSON-like value (plain objects and arrays; anything else as it is) with each string through `map`. */
function mapStrings<T>(value: T, map: (text: string) => string): T {
  if (typeof value === "string") return map(value) as T;
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = mapStrings(value[i], map);
    return out as T;
  }
  // Plain objects only: a Date, Map or class instance in structured output is returned as it is.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const key in value) if (Object.hasOwn(value, key)) out[key] = mapStrings((value as Record<string, unknown>)[key], map);
  return out as T;
}
