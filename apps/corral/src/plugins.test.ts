import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { importInstalled } from "./plugins.js";

const coreDir = dirname(createRequire(import.meta.url).resolve("@corral/core/package.json"));

describe("importInstalled: a plugin built for a newer core", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  const project = async (source: string) => {
    const dir = await mkdtemp(join(tmpdir(), "corral-plugin-core-"));
    dirs.push(dir);
    await mkdir(join(dir, "node_modules/@corral"), { recursive: true });
    await symlink(coreDir, join(dir, "node_modules/@corral/core"));
    await mkdir(join(dir, "node_modules/newer-plugin"));
    await writeFile(join(dir, "node_modules/newer-plugin/package.json"), JSON.stringify({ name: "newer-plugin", type: "module", main: "index.js" }));
    await writeFile(join(dir, "node_modules/newer-plugin/index.js"), source);
    return dir;
  };

  it("an entry point the installed core lacks is E_PLUGIN_API_VERSION, naming it and the upgrade", async () => {
    const dir = await project('import { z } from "@corral/core/entry-from-the-future";\nexport default z;\n');
    const error = await importInstalled("newer-plugin", dir, { projectOnly: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "E_PLUGIN_API_VERSION", message: expect.stringContaining("no ./entry-from-the-future entry point") });
    expect((error as { hint: string }).hint).toContain("Upgrade @corral/core");
  });

  it("twin: one that imports what core has loads; any other failure is thrown as it is", async () => {
    const dir = await project('export { z } from "@corral/core/zod";\n');
    expect(await importInstalled<{ z: unknown }>("newer-plugin", dir, { projectOnly: true })).toHaveProperty("z");
    const broken = await project('import "./missing.js";\n');
    await expect(importInstalled("newer-plugin", broken, { projectOnly: true })).rejects.toMatchObject({ code: "ERR_MODULE_NOT_FOUND" });
  });
});
