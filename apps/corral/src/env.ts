import { readFileSync } from "node:fs";
import { UsageError } from "@corral/core";

/**
 * The env a run hands to its sandbox, built only from what the user named: host env vars by
 * name (`--env NAME`) and env files. The host env is never passed whole.
 */
export function collectEnv(options: { names?: readonly string[]; files?: readonly string[]; hostEnv?: Record<string, string | undefined>; source?: string }): Record<string, string> {
  const hostEnv = options.hostEnv ?? process.env;
  const env: Record<string, string> = {};
  for (const file of options.files ?? []) {
    // `NAME=` is a placeholder (`cp .env.example .env`), not a value: it must not hide the key the
    // user exported, which the agent reads from the host env.
    for (const [name, value] of Object.entries(parseEnvFile(file, options.source))) if (value !== "") env[name] = value;
  }
  for (const name of options.names ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new UsageError(`"${name}" is not an env var name.`, { hint: "Pass only the name (--env OPENAI_API_KEY); its value is read from your environment." });
    }
    const value = hostEnv[name];
    if (value === undefined) {
      throw new UsageError(`${options.source ?? "--env"} names ${name}, but ${name} is not set in your environment.`, { hint: `Set it first (export ${name}=…) or put it in an env file.` });
    }
    env[name] = value;
  }
  return env;
}

/**
 * Parses a dotenv-style file: `NAME=value`, optional quotes, `#` comments, `export ` prefix.
 * Empty values are kept here (`NAME=` → ""); collectEnv drops them. A line that is not
 * `NAME=value` is an error naming the file and the line (never its text: it may hold a secret).
 */
export function parseEnvFile(path: string, source = "--env-file"): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new UsageError(`Cannot read the env file ${path}${code === "ENOENT" ? ": it does not exist" : `: ${code ?? cause}`}.`, {
      hint: source === "--env-file" ? "Check the --env-file path." : `Create it (e.g. cp .env.example ${path.split("/").pop()}) or fix envFile in the config.`,
      cause,
    });
  }
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) return;
    const at = `${path}:${index + 1}`;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!match) throw new UsageError(`${at} is not NAME=value.`, { hint: "Fix or remove that line of the env file (a name, \"=\", then the value; # starts a comment)." });
    let value = match[2] ?? "";
    const quote = value[0];
    if (quote === '"' || quote === "'") {
      // The last quote when the value ends with one (a quote inside is kept), else the first: `"v" # note`.
      const end = value.length >= 2 && value.endsWith(quote) ? value.length - 1 : value.indexOf(quote, 1);
      if (end === -1) throw new UsageError(`${at}: the value of ${match[1]} opens a ${quote} quote it never closes.`, { hint: "Close the quote on the same line (values span one line)." });
      const rest = value.slice(end + 1).trim();
      if (rest && !rest.startsWith("#")) throw new UsageError(`${at}: the value of ${match[1]} has text after its closing quote.`, { hint: "Put the whole value inside the quotes." });
      value = value.slice(1, end);
    } else value = value.replace(/\s+#.*$/, "");
    env[match[1]!] = value;
  });
  return env;
}
