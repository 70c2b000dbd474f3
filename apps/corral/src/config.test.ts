import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, UsageError } from "@corral/core";
import { tempDir } from "@corral/test-support";
import { describe, expect, it } from "vitest";
import { configFor, findConfigFile, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("loads a .ts config with TypeScript syntax on Node 20", async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, "corral.config.ts"),
      'type Iterations = number;\nconst iterations: Iterations = 7;\nexport default { maxIterations: iterations, sandbox: "bwrap" as const, env: ["API_TOKEN"] };\n',
    );
    const loaded = await loadConfig({ cwd: dir });
    expect(loaded.file).toBe(join(dir, "corral.config.ts"));
    expect(loaded.config).toEqual({ maxIterations: 7, sandbox: "bwrap", env: ["API_TOKEN"] });
  });

  it.each([
    ["corral.config.mts", 'export default { idleTimeout: 30 };\n'],
    ["corral.config.mjs", "export default { idleTimeout: 30 };\n"],
    ["corral.config.js", "export default { idleTimeout: 30 };\n"],
    ["corral.config.json", '{ "idleTimeout": 30 }'],
  ])("loads %s", async (name, text) => {
    const dir = await tempDir();
    if (name.endsWith(".js")) await writeFile(join(dir, "package.json"), '{ "type": "module" }');
    await writeFile(join(dir, name), text);
    expect((await loadConfig({ cwd: dir })).config).toEqual({ idleTimeout: 30 });
  });

  it("is found from a subfolder, but never above the repository root", async () => {
    const outer = await tempDir();
    await writeFile(join(outer, "corral.config.json"), '{ "maxIterations": 99 }');
    const repo = join(outer, "repo");
    await mkdir(join(repo, ".git"), { recursive: true });
    await mkdir(join(repo, "packages", "foo"), { recursive: true });
    expect(findConfigFile(join(repo, "packages", "foo"))).toBeUndefined();
    await writeFile(join(repo, "corral.config.json"), '{ "maxIterations": 3 }');
    expect(findConfigFile(join(repo, "packages", "foo"))).toBe(join(repo, "corral.config.json"));
  });

  it("a config that does not parse is a ConfigError naming the file", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "corral.config.ts"), "export default { maxIterations: ;\n");
    const error = await loadConfig({ cwd: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain("corral.config.ts");
    expect((error as ConfigError).code).toBe("E_CONFIG");
  });

  it.each([
    ["corral.config.ts", 'export default {\n  agent: "claude",\n  maxIterations: ;\n};\n', "3:17"],
    ["corral.config.mjs", 'export default {\n  agent: "claude",\n  maxIterations: ;\n};\n', "3:17"],
    ["corral.config.json", '{\n  "agent": "claude",\n  "maxIterations": }\n', "3:"],
  ])("a syntax error in %s names the line", async (name, text, at) => {
    const dir = await tempDir();
    await writeFile(join(dir, name), text);
    const error = (await loadConfig({ cwd: dir }).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`${join(dir, name)}:${at}`);
    expect(error.hint).toBe("Fix the syntax at line 3 of the config file.");
  });

  it("an unknown key gets a did-you-mean, at the top and inside nested objects", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "corral.config.json"), JSON.stringify({ sandbx: "bwrap", limits: { pid: 64 }, zzzz: 1 }));
    const error = (await loadConfig({ cwd: dir }).catch((e: unknown) => e)) as ConfigError;
    expect(error.message).toContain('sandbx: unknown key (did you mean "sandbox"?)');
    expect(error.message).toContain('limits.pid: unknown key (did you mean "pids"?)');
    expect(error.message).toMatch(/zzzz: unknown key(;|$)/);
    expect(error.hint).toMatch(/^Rename .*sandbx → sandbox/);
    expect(error.hint).toContain("limits.pid → limits.pids");
  });

  it("two config files in one folder: the first in CONFIG_FILES order is used, and a warning names both", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "corral.config.ts"), "export default { maxIterations: 2 };\n");
    await writeFile(join(dir, "corral.config.json"), '{ "maxIterations": 9 }');
    const loaded = await loadConfig({ cwd: dir });
    expect(loaded.config).toEqual({ maxIterations: 2 });
    expect(loaded.warnings).toEqual([`${join(dir, "corral.config.ts")} is used; ${join(dir, "corral.config.json")} is ignored (one config per folder: remove or merge the other).`]);
    expect((await loadConfig({ cwd: dir, file: "corral.config.json" })).warnings).toBeUndefined(); // named explicitly: no doubt which
  });

  it("a cwd that does not exist says so (not 'no agent was chosen')", async () => {
    const missing = join(await tempDir(), "nope");
    await expect(loadConfig({ cwd: missing })).rejects.toThrow(expect.objectContaining({ message: `The folder ${missing} does not exist.`, hint: "Check the --cwd path." }));
    await expect(configFor({ cwd: missing, config: false })).rejects.toBeInstanceOf(UsageError);
  });

  it("a config that fails its schema names every bad field", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "corral.config.json"), JSON.stringify({ maxIterations: 0, network: "wifi", bogus: true, env: ["not a name"] }));
    const error = (await loadConfig({ cwd: dir }).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    for (const field of ["maxIterations", "network", "env.0", "bogus"]) expect(error.message).toContain(field);
  });

  it("an explicit --config path that does not exist is an error", async () => {
    const dir = await tempDir();
    await expect(loadConfig({ cwd: dir, file: "missing.json" })).rejects.toThrow(/does not exist/);
  });

  it("no config file is an empty config", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, ".git"));
    expect(await loadConfig({ cwd: dir })).toEqual({ config: {} });
  });
});

describe("the config examples in the docs", () => {
  const root = join(import.meta.dirname, "..", "..", "..");
  /** Every ```ts block of a doc that calls defineConfig({ … }): what a user would paste into corral.config.ts. */
  const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];
  const examples = docs.flatMap((doc) => {
    const text = readFileSync(join(root, doc), "utf8");
    return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => code.includes("defineConfig(")).map((code, i) => [`${doc} #${i + 1}`, code] as const);
  });

  it("are found (README, configuration, workspace preparation)", () => {
    expect(examples.map(([name]) => name)).toEqual(expect.arrayContaining(["README.md #1", "docs/configuration.md #1", "docs/workspace-preparation.md #1"]));
  });

  it.each(examples)("%s loads and passes the schema", async (_name, code) => {
    const dir = await tempDir();
    await writeFile(join(dir, "corral.config.ts"), code);
    const loaded = await loadConfig({ cwd: dir });
    expect(loaded.config).toBeTypeOf("object");
  });
});
