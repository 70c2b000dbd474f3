#!/usr/bin/env node
/**
 * Fails on an import cycle between source files of any package (relative imports of src/**.ts,
 * with `.js` specifiers as TypeScript writes them). No dependency: a regex over import/export
 * statements and Tarjan's strongly connected components. Run by `pnpm test`.
 *
 *   node tooling/check-cycles.mjs [folder …]   (default: packages, apps, examples, tooling)
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const folders = process.argv.slice(2).length ? process.argv.slice(2) : ["packages", "apps", "examples", "tooling"];

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts")) yield path;
  }
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?["'](\.{1,2}\/[^"']+)["']/g;
const graph = new Map();
for (const folder of folders) {
  const base = join(root, folder);
  if (!existsSync(base)) continue;
  for (const file of sources(base)) {
    const text = readFileSync(file, "utf8");
    const edges = new Set();
    for (const match of text.matchAll(IMPORT)) {
      // A type-only import does not run anything: it cannot make a cycle at runtime, but it still ties the files.
      const target = resolve(dirname(file), match[1].replace(/\.js$/, ".ts"));
      const candidates = [target, target.replace(/\.ts$/, ".mts"), join(target.replace(/\.ts$/, ""), "index.ts")];
      const found = candidates.find((c) => existsSync(c) && statSync(c).isFile());
      if (found) edges.add(found);
    }
    graph.set(file, edges);
  }
}

// Tarjan's algorithm, iterative enough for this size.
let index = 0;
const stack = [];
const meta = new Map();
const cycles = [];
function strongConnect(node) {
  meta.set(node, { index, low: index, onStack: true });
  index++;
  stack.push(node);
  for (const next of graph.get(node) ?? []) {
    if (!graph.has(next)) continue;
    if (!meta.has(next)) {
      strongConnect(next);
      meta.get(node).low = Math.min(meta.get(node).low, meta.get(next).low);
    } else if (meta.get(next).onStack) {
      meta.get(node).low = Math.min(meta.get(node).low, meta.get(next).index);
    }
  }
  if (meta.get(node).low === meta.get(node).index) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      meta.get(member).onStack = false;
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.has(node)) cycles.push(component);
  }
}
for (const node of graph.keys()) if (!meta.has(node)) strongConnect(node);

if (cycles.length) {
  process.stderr.write(`Import cycles (${cycles.length}) — break each by moving what both sides need into a module of its own:\n`);
  for (const cycle of cycles) process.stderr.write(`  ${cycle.map((f) => relative(root, f)).sort().join(" <-> ")}\n`);
  process.exit(1);
}
process.stdout.write(`No import cycles among ${graph.size} source files.\n`);
