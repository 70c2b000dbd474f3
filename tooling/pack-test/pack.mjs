// @ts-check
/**
 * The publishable packages of the workspace and how to pack them, exactly as `pnpm publish`
 * would (workspace: protocols rewritten to real versions). Shared by the tests and
 * `pnpm check:packages`.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** @typedef {{ name: string; version: string; dir: string }} WorkspacePackage */

/** @returns {WorkspacePackage[]} every package under packages/ and apps/ that is not private. */
export function publishablePackages() {
  /** @type {WorkspacePackage[]} */
  const found = [];
  for (const group of ["packages", "apps", "tooling", "examples"]) {
    const base = join(ROOT, group);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base, { withFileTypes: true })) {
      const manifest = join(base, entry.name, "package.json");
      if (!entry.isDirectory() || !existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, "utf8"));
      if (!pkg.private) found.push({ name: pkg.name, version: pkg.version, dir: join(base, entry.name) });
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Packs each package with `pnpm pack` into `dest`. Needs the packages built (dist/).
 * @param {string} dest
 * @param {WorkspacePackage[]} [packages]
 * @returns {Promise<Map<string, string>>} package name → tarball path
 */
export async function packAll(dest, packages = publishablePackages()) {
  /** @type {Map<string, string>} */
  const tarballs = new Map();
  for (const pkg of packages) {
    if (!existsSync(join(pkg.dir, "dist"))) throw new Error(`${pkg.name} is not built (no ${join(pkg.dir, "dist")}): run pnpm build first.`);
    const { stdout } = await execa("pnpm", ["pack", "--pack-destination", dest], { cwd: pkg.dir });
    const tarball = stdout.trim().split("\n").at(-1)?.trim();
    if (!tarball || !tarball.endsWith(".tgz")) throw new Error(`pnpm pack of ${pkg.name} printed no tarball path:\n${stdout}`);
    tarballs.set(pkg.name, tarball);
  }
  return tarballs;
}
