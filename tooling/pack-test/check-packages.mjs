#!/usr/bin/env node
// @ts-check
/**
 * `pnpm check:packages`: packs every publishable package and runs publint and
 * @arethetypeswrong/cli (ESM-only profile: node16 from ESM and bundler must resolve) on each
 * tarball. Exits 1 when any package fails. Needs the packages built.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { packAll, ROOT } from "./pack.mjs";

/**
 * @param {string} tarball
 * @returns {Promise<{ tool: string; ok: boolean; output: string }[]>}
 */
export async function checkTarball(tarball) {
  const bin = (/** @type {string} */ name) => join(ROOT, "node_modules", ".bin", name);
  const publint = await execa(bin("publint"), ["run", tarball, "--strict"], { reject: false, all: true });
  const attw = await execa(bin("attw"), [tarball, "--profile", "esm-only", "--format", "ascii"], { reject: false, all: true });
  return [
    { tool: "publint", ok: publint.exitCode === 0, output: String(publint.all) },
    // attw passes a package without any types; every corral package ships them, so that is a failure here.
    { tool: "attw", ok: attw.exitCode === 0 && !String(attw.all).includes("This package does not contain types"), output: String(attw.all) },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dest = await mkdtemp(join(tmpdir(), "corral-check-packages-"));
  let failed = 0;
  try {
    for (const [name, tarball] of await packAll(dest)) {
      for (const result of await checkTarball(tarball)) {
        process.stdout.write(`${result.ok ? "ok  " : "FAIL"} ${result.tool.padEnd(8)} ${name}\n`);
        if (!result.ok) {
          failed++;
          process.stdout.write(`${result.output}\n`);
        }
      }
    }
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}
