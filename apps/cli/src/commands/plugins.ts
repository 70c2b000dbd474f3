import { resolve } from "node:path";
import type { Sandbox } from "@corral/core";
import { loadConfig } from "corral";
import { PluginLoader } from "corral/internal";
import { parseFlags } from "../args.js";
import { PLUGINS_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";

/** `corral plugins`: every installed plugin, its version, and whether it can run here. */
export default async function plugins(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags("plugins", argv, {
    json: { type: "boolean" },
    cwd: { type: "string" },
    config: { type: "string" },
    "no-check": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(PLUGINS_HELP);
    return EXIT.ok;
  }
  const cwd = resolve(io.cwd, values.cwd ?? ".");
  const { config } = await loadConfig({ cwd, ...(values.config ? { file: values.config } : {}) });
  const loader = new PluginLoader({ cwd, ...(config.plugins ? { plugins: config.plugins } : {}) });
  const rows = await Promise.all(
    (await loader.all()).map(async (plugin) => {
      // Only sandboxes have a check(); with --no-check nothing is probed and availability is unknown (null).
      let availability: { available: boolean | null; reason?: string; hint?: string; detail?: string } = { available: plugin.kind === "sandbox" ? null : true };
      if (plugin.kind === "sandbox" && !values["no-check"]) {
        try {
          availability = await (plugin.create(plugin.configure({}).options) as Sandbox).check();
        } catch (error) {
          availability = { available: false, reason: (error as Error).message };
        }
      }
      return { kind: plugin.kind, name: plugin.meta.name, version: plugin.meta.version, package: plugin.meta.packageName ?? "", ...availability };
    }),
  );
  if (values.json) {
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT.ok;
  }
  const table = [["KIND", "NAME", "VERSION", "PACKAGE", "STATUS"], ...rows.map((r) => [r.kind, r.name, r.version, r.package, status(r)])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) io.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")}\n`);
  return EXIT.ok;
}

function status(row: { available: boolean | null; reason?: string; hint?: string; detail?: string }): string {
  if (row.available === null) return "not checked";
  if (row.available) return `available${row.detail ? ` (${row.detail})` : ""}`;
  return `unavailable: ${row.reason}${row.hint ? ` — ${row.hint}` : ""}`;
}
