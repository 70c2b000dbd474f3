import { mkdir, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PLUGIN_API_VERSION, SUPPORTED_PLUGIN_API_VERSIONS } from "@corral/core";
import { tempDir, tempRepo } from "@corral/test-support";
import { PluginLoader } from "corral/internal";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
const CORE_DIR = dirname(require.resolve("@corral/core/package.json"));
const BIN = join(dirname(require.resolve("@corral/cli/package.json")), "dist", "bin.js");
const OLDER = Math.min(...SUPPORTED_PLUGIN_API_VERSIONS.sandbox) - 1;
const NEWER = PLUGIN_API_VERSION + 1;

/**
 * A project with three real plugin packages, each a `defineSandbox` object from the installed
 * @corral/core, stamped with an older, the current, and a newer plugin API version.
 */
async function project(dir: string): Promise<string> {
  await mkdir(join(dir, "node_modules", "@corral"), { recursive: true });
  await symlink(CORE_DIR, join(dir, "node_modules", "@corral", "core"));
  const plugins = { "corral-sandbox-older": OLDER, "corral-sandbox-current": PLUGIN_API_VERSION, "corral-sandbox-newer": NEWER };
  for (const [pkg, apiVersion] of Object.entries(plugins)) {
    const name = pkg.replace("corral-sandbox-", "");
    await mkdir(join(dir, "node_modules", pkg));
    await writeFile(join(dir, "node_modules", pkg, "package.json"), JSON.stringify({ name: pkg, version: "1.2.3", type: "module", exports: "./index.js", peerDependencies: { "@corral/core": "*" } }));
    await writeFile(
      join(dir, "node_modules", pkg, "index.js"),
      `import { defineSandbox, hostSandbox } from "@corral/core";
export default defineSandbox({
  name: ${JSON.stringify(name)},
  version: "1.2.3",
  packageName: ${JSON.stringify(pkg)},
  apiVersion: ${apiVersion},
  create: () => ({ ...hostSandbox.create({}), name: ${JSON.stringify(name)} }),
});
`,
    );
  }
  return dir;
}

describe("plugin apiVersion compatibility, both ways, through the PluginLoader", () => {
  it("loads a plugin of the current API version", async () => {
    const cwd = await project(await tempDir());
    const loader = new PluginLoader({ cwd, plugins: ["corral-sandbox-current"] });
    const plugin = await loader.get("sandbox", "current");
    expect(plugin).toMatchObject({ kind: "sandbox", apiVersion: PLUGIN_API_VERSION, meta: { name: "current", version: "1.2.3", packageName: "corral-sandbox-current" } });
  });

  it("refuses an older plugin and says to upgrade the plugin", async () => {
    const cwd = await project(await tempDir());
    const loader = new PluginLoader({ cwd, plugins: ["corral-sandbox-older"] });
    const error = await loader.get("sandbox", "older").then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: "E_PLUGIN_API_VERSION", hint: "Upgrade the plugin: npm install corral-sandbox-older@latest" });
    expect((error as Error).message).toContain(`uses plugin API v${OLDER}`);
  });

  it("refuses a newer plugin and says to upgrade corral", async () => {
    const cwd = await project(await tempDir());
    const loader = new PluginLoader({ cwd, plugins: ["corral-sandbox-newer"] });
    const error = await loader.get("sandbox", "newer").then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: "E_PLUGIN_API_VERSION" });
    expect((error as { hint: string }).hint).toContain("Upgrade @corral/core (and the corral CLI)");
    expect((error as Error).message).toContain(`uses plugin API v${NEWER}`);
  });

  it("the CLI: the current plugin runs, the newer one stops with exit 2 and the fix", async () => {
    const repo = await project(await tempRepo());
    await writeFile(join(repo, "corral.config.json"), JSON.stringify({ plugins: ["corral-sandbox-current"] }));
    const ok = await execa("node", [BIN, "run", "--sandbox", "current", "--isolation", "in-place", "--prompt", "x", "--", "sh", "-c", "echo '<promise>COMPLETE</promise>'"], { cwd: repo, reject: false, stdin: "ignore" });
    expect(ok.stderr).toContain("run succeeded");
    expect(ok.exitCode).toBe(0);
    await writeFile(join(repo, "corral.config.json"), JSON.stringify({ plugins: ["corral-sandbox-newer"] }));
    const refused = await execa("node", [BIN, "run", "--sandbox", "newer", "--isolation", "in-place", "--prompt", "x", "--", "true"], { cwd: repo, reject: false, stdin: "ignore" });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`uses plugin API v${NEWER}`);
    expect(refused.stderr).toContain("hint: Upgrade @corral/core");
  });
});
