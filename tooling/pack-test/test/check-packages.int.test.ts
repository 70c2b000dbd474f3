import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTarball } from "../check-packages.mjs";
import { packAll, publishablePackages } from "../pack.mjs";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "corral-check-packages-test-"));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe("every publishable package passes publint and attw (ESM-only profile)", () => {
  it("finds the packages we publish, and no private one", () => {
    const names = publishablePackages().map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["@corral/core", "@corral/cli", "corral", "@corral/sandbox-bwrap", "@corral/agent-claude"]));
    expect(names).not.toContain("@corral/test-support");
    expect(names).not.toContain("corral-sandbox-firejail");
  });

  it("each tarball is clean", async () => {
    const dest = await mkdtemp(join(root, "packs-"));
    const failures: string[] = [];
    for (const [name, tarball] of await packAll(dest)) {
      for (const result of await checkTarball(tarball)) if (!result.ok) failures.push(`${result.tool} ${name}:\n${result.output}`);
    }
    expect(failures).toEqual([]);
    // Real work per package (npm pack, publint, attw): the time allowed grows with the package count.
  }, 30_000 * publishablePackages().length);

  it("(twin) a package with an export of a missing file and CJS types for ESM code fails both tools", async () => {
    const dir = join(root, "broken");
    await mkdir(join(dir, "dist"), { recursive: true });
    await writeFile(join(dir, "dist", "index.js"), "export const x = 1;\n");
    await writeFile(join(dir, "dist", "index.d.cts"), "export declare const x: number;\n");
    await writeFile(
      join(dir, "package.json"),
      JSON.stringify({ name: "corral-broken-fixture", version: "1.0.0", type: "module", exports: { ".": { types: "./dist/index.d.cts", import: "./dist/index.js" }, "./extra": "./dist/missing.js" }, files: ["dist"] }),
    );
    const { stdout } = await execa("npm", ["pack", "--pack-destination", root, "--loglevel=error"], { cwd: dir });
    const results = await checkTarball(join(root, stdout.trim().split("\n").at(-1)!));
    expect(results.map((r) => [r.tool, r.ok])).toEqual([
      ["publint", false],
      ["attw", false],
    ]);
  });
});
