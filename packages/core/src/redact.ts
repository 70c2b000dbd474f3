/**
 * One redactor for every message, log line and event. It hides well-known secret shapes
 * (API keys, `KEY=value` pairs, bearer tokens) and the exact values of env vars a run marks secret.
 */
const MASK = "***";

/**
 * Each pattern with a cheap trigger that any text it could match must contain: most text (agent
 * prose, tool output) passes every trigger test and never runs a pattern.
 */
const PATTERNS: Array<{ trigger: RegExp; pattern: RegExp; replacement: string }> = [
  // Provider API keys: sk-…, sk-ant-…, sk-proj-…, ghp_…, xoxb-… and similar long tokens.
  { trigger: /[srp]k-/, pattern: /\b(sk|rk|pk)-[A-Za-z0-9_-]{8,}/g, replacement: MASK },
  { trigger: /gh[pousr]_|github_pat_/, pattern: /\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{10,}/g, replacement: MASK },
  { trigger: /xox[abposr]-/, pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, replacement: MASK },
  { trigger: /AKIA/, pattern: /\bAKIA[0-9A-Z]{16}\b/g, replacement: MASK },
  // Authorization headers.
  { trigger: /(bearer|basic|token)\s/i, pattern: /\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{6,}/gi, replacement: `$1 ${MASK}` },
  // Env style, NAME=value / NAME: value, where an upper-case name says it holds a secret.
  // Case-sensitive on purpose: "Unrecognized key: maxTurns" is an ordinary message, not a secret.
  {
    trigger: /KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH/,
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

/** No secret value (>= 6 chars) or pattern match fits in less. */
const SHORTEST_SECRET = 6;

export interface Redactor {
  (text: string): string;
  /** Adds exact values (e.g. the env vars a run was given as secrets) to hide from now on. */
  addSecrets(values: Iterable<string | undefined>): void;
}

export function createRedactor(secrets: Iterable<string | undefined> = []): Redactor {
  const values = new Set<string>();
  // Longest first, so a secret that contains another is hidden whole. Sorted once per change.
  let ordered: string[] = [];
  const redact = ((text: string): string => {
    if (!text || text.length < SHORTEST_SECRET) return text;
    let out = text;
    for (const value of ordered) {
      if (out.includes(value)) out = out.split(value).join(MASK);
    }
    for (const { trigger, pattern, replacement } of PATTERNS) if (trigger.test(out)) out = out.replace(pattern, replacement);
    return out;
  }) as Redactor;
  redact.addSecrets = (more) => {
    // Very short values would mask ordinary words; a real credential is never this short.
    for (const value of more) if (value && value.length >= SHORTEST_SECRET) values.add(value);
    ordered = [...values].sort((a, b) => b.length - a.length);
  };
  redact.addSecrets(secrets);
  return redact;
}

/** The default redactor: patterns only. */
export const redact: Redactor = createRedactor();

/** Redacts every string inside a JSON-like value (events, options) without changing its shape. */
export function redactDeep<T>(value: T, redactor: (text: string) => string = redact): T {
  if (typeof value === "string") return redactor(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redactor)) as T;
  // Plain objects only: a Date, Map or class instance in structured output is returned as it is.
  if (value && typeof value === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = redactDeep(item, redactor);
    return out as T;
  }
  return value;
}
