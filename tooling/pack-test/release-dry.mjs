#!/usr/bin/env node
// @ts-check
/**
 * The version step of `pnpm release:dry`: runs `changeset version` on a throwaway copy of the
 * workspace manifests and pending changesets, and prints the versions a release would publish.
 * Nothing in the checkout changes. (The root script then runs `pnpm -r publish --dry-run`.)
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { execa } from "execa";
import { ROOT } from "./pack.mjs";

const copy = mkdtempSync(join(tmpdir(), "corral-release-dry-"));
try {
  const { stdout } = await execa("pnpm", ["-r", "ls", "--depth", "-1", "--json"], { cwd: ROOT });
  /** @type {Array<{ name: string; version: string; path: string; private?: boolean }>} */
  const packages = JSON.parse(stdout);
  for (const file of ["package.json", "pnpm-workspace.yaml", ".changeset"]) cpSync(join(ROOT, file), join(copy, file), { recursive: true });
  for (const pkg of packages) {
    if (pkg.path === ROOT) continue;
    cpSync(join(pkg.path, "package.json"), join(copy, relative(ROOT, pkg.path), "package.json"));
  }
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  // changesets looks for a git repository to read the base branch; an empty one will do.
  await execa("git", ["init", "-q"], { cwd: copy });
  await execa(join(ROOT, "node_modules", ".bin", "changeset"), ["version"], { cwd: copy, stdio: "inherit" });
  process.stdout.write("\nVersions a release would publish (from the pending changesets):\n");
  for (const pkg of packages) {
    if (pkg.path === ROOT || pkg.private) continue;
    const manifest = join(copy, relative(ROOT, pkg.path), "package.json");
    const next = existsSync(manifest) ? JSON.parse(readFileSync(manifest, "utf8")).version : pkg.version;
    process.stdout.write(`  ${pkg.name.padEnd(24)} ${pkg.version} -> ${next}${next === pkg.version ? " (unchanged)" : ""}\n`);
  }
} finally {
  rmSync(copy, { recursive: true, force: true });
}
