// The docs cannot drift from the code: every `corral <command> --flag` they show exists in that
// command's --help, and every name a ```ts example imports from a corral package is exported by it.
// (Every defineConfig example is loaded through the config schema in apps/corral/src/config.test.ts.)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = join(ROOT, "apps/cli/dist/bin.js");
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const COMMANDS = ["run", "runs", "clean", "worktrees", "image", "init", "plugins", "doctor", "diff", "log", "merge", "pr", "discard"];

const helpText = new Map<string, Promise<string>>();
function help(command: string): Promise<string> {
  if (!helpText.has(command)) helpText.set(command, execa("node", [BIN, command, "--help"], { reject: false, stdin: "ignore" }).then((r) => `${r.stdout}\n${r.stderr}`));
  return helpText.get(command)!;
}

/** `corral <command> …` as the docs write it: in code blocks and inline code, up to ` -- ` (the command agent's own argv). */
function commandLines(text: string): Array<{ command: string; flags: string[]; line: string }> {
  const found: Array<{ command: string; flags: string[]; line: string }> = [];
  const joined = text.replace(/\\\n\s*/g, " ");
  for (const match of joined.matchAll(/(?:^|[`\s$(])corral ([a-z]+)((?:[^`\n])*)/g)) {
    const [whole, command, rest] = match as unknown as [string, string, string];
    if (!COMMANDS.includes(command)) continue;
    const own = rest.split(/\s--\s/)[0]!.replace(/"[^"]*"|'[^']*'/g, "");
    const flags = flagsIn(own);
    found.push({ command, flags, line: whole.trim() });
  }
  return found;
}

/** The `--flags` of a command line; `--help` every command has. */
function flagsIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => `--${m[1]}`).filter((flag) => flag !== "--help");
}

/** docs/cli.md documents each command in its own section, flags in a table: they belong to that command. */
function cliSections(): Array<{ command: string; flags: string[] }> {
  const text = readFileSync(join(ROOT, "docs/cli.md"), "utf8");
  return text.split(/^## /m).slice(1).flatMap((section) => {
    const command = /^`corral ([a-z]+)/.exec(section)?.[1];
    if (!command || !COMMANDS.includes(command)) return [];
    const code = [...section.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).join(" ");
    const own = code.split(/\s--\s/)[0]!;
    return [{ command, flags: [...new Set(flagsIn(own))] }];
  });
}

/** `import { a, b } from "pkg"` in ```ts blocks, for corral's own packages. */
function tsImports(text: string): Array<{ pkg: string; names: string[] }> {
  const out: Array<{ pkg: string; names: string[] }> = [];
  for (const block of text.matchAll(/```(?:ts|typescript|js|mjs)\n([\s\S]*?)```/g)) {
    for (const m of block[1]!.matchAll(/import\s*\{([^}]*)\}\s*from\s*"((?:@corral\/[a-z-]+|corral)(?:\/[a-z-]+)?)"/g)) {
      const names = m[1]!.split(",").map((n) => n.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0]!).filter(Boolean);
      out.push({ pkg: m[2]!, names });
    }
  }
  return out;
}

/** A workspace package's built entry (module and declarations) for a specifier like `@corral/core/testing`. */
function entryOf(specifier: string): { js: string; types: string } {
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  const subpath = parts.slice(specifier.startsWith("@") ? 2 : 1).join("/");
  for (const dir of ["packages", "apps", "examples"]) {
    for (const entry of readdirSync(join(ROOT, dir))) {
      type Target = { import?: string; types?: string };
      const manifest = JSON.parse(readFileSync(join(ROOT, dir, entry, "package.json"), "utf8")) as { name: string; exports: Record<string, Target | string> };
      if (manifest.name !== name) continue;
      const target = manifest.exports[subpath ? `./${subpath}` : "."];
      if (typeof target !== "object" || !target.import || !target.types) throw new Error(`${name} exports no "${subpath || "."}" with import and types`);
      return { js: join(ROOT, dir, entry, target.import), types: join(ROOT, dir, entry, target.types) };
    }
  }
  throw new Error(`no workspace package ${name}`);
}

describe("the docs match the code", () => {
  it("every `corral <command> --flag` in the README and docs exists in that command's --help", async () => {
    const missing: string[] = [];
    let checked = 0;
    for (const file of DOCS) {
      for (const { command, flags, line } of commandLines(readFileSync(join(ROOT, file), "utf8"))) {
        const text = await help(command);
        for (const flag of flags) {
          checked++;
          if (!text.includes(flag)) missing.push(`${file}: ${flag} (in "${line.slice(0, 100)}")`);
        }
      }
    }
    for (const { command, flags } of cliSections()) {
      const text = await help(command);
      for (const flag of flags) {
        checked++;
        if (!text.includes(flag)) missing.push(`docs/cli.md, section corral ${command}: ${flag}`);
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(40); // the extraction finds the docs' flags
  });

  it("every name a code example imports from a corral package is exported by it", async () => {
    const missing: string[] = [];
    let checked = 0;
    for (const file of DOCS) {
      for (const { pkg, names } of tsImports(readFileSync(join(ROOT, file), "utf8"))) {
        const entry = entryOf(pkg);
        const module = (await import(entry.js)) as Record<string, unknown>;
        const types = readFileSync(entry.types, "utf8");
        for (const name of names) {
          checked++;
          // A type-only export exists in the declarations, a value in the module.
          if (!(name in module) && !new RegExp(`\\b${name}\\b`).test(types)) missing.push(`${file}: ${name} from "${pkg}"`);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });

  it("the checks catch a flag or an export that does not exist", async () => {
    const [line] = commandLines("run it: `corral run --agent claude --no-such-flag -- sh -c 'x --ignored'`");
    expect(line).toMatchObject({ command: "run", flags: ["--agent", "--no-such-flag"] });
    expect(await help("run")).not.toContain("--no-such-flag");
    const [imported] = tsImports('```ts\nimport { run, type NoSuchType } from "corral";\n```');
    expect(imported).toEqual({ pkg: "corral", names: ["run", "NoSuchType"] });
    expect("NoSuchType" in ((await import(entryOf("corral").js)) as object)).toBe(false);
  });
});
