import { readFileSync } from "node:fs";
import { UsageError } from "@corral/core";

/**
 * The env a run hands to its sandbox, built only from what the user named: host env vars by
 * name (`--env NAME`) and env files. The host env is never passed whole.
 */
export function collectEnv(options: { names?: readonly string[]; files?: readonly string[]; hostEnv?: Record<string, string | undefined>; source?: string }): Record<string, string> {
  const hostEnv = options.hostEnv ?? process.env;
  const env: Record<string, string> = {};
  for (const file of options.files ?? []) Object.assign(env, parseEnvFile(file));
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

/** Parses a dotenv-style file: `NAME=value`, optional quotes, `#` comments, `export ` prefix. */
export function parseEnvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new UsageError(`Cannot read the env file ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}.`, { hint: "Check the --env-file path.", cause });
  }
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!match) throw new UsageError(`${path}:${index + 1} is not NAME=value.`, { hint: "Fix or remove that line of the env file." });
    let value = match[2] ?? "";
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, "");
    env[match[1]!] = value;
  });
  return env;
}
