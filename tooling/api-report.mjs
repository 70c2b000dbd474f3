// The published surface of every package, as API Extractor reports in api/*.api.md. A change of
// what a package exports (a name, a signature, a removed doc comment) is then a visible diff in
// review, and `pnpm test` fails until the report is updated on purpose:
//   node tooling/api-report.mjs           check (what CI runs; needs the packages built)
//   node tooling/api-report.mjs --update  rewrite the reports after an intended change
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Extractor, ExtractorConfig } from "@microsoft/api-extractor";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const REPORTS = join(ROOT, "api");
const update = process.argv.includes("--update");
const temp = mkdtempSync(join(tmpdir(), "corral-api-"));
mkdirSync(REPORTS, { recursive: true });

/** Every published package's entry points (`.`, `./testing`, …), with their built declarations. */
function entryPoints() {
  const out = [];
  for (const group of ["packages", "apps"]) {
    for (const dir of readdirSync(join(ROOT, group))) {
      const folder = join(ROOT, group, dir);
      if (!existsSync(join(folder, "package.json"))) continue;
      const manifest = JSON.parse(readFileSync(join(folder, "package.json"), "utf8"));
      if (manifest.private) continue;
      for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
        if (typeof target !== "object" || !target.types) continue;
        const unscoped = manifest.name.replace(/^@corral\//, "");
        const name = subpath === "." ? unscoped : `${unscoped}-${subpath.slice(2).replaceAll("/", "-")}`;
        out.push({ name, folder, types: join(folder, target.types), specifier: `${manifest.name}${subpath.slice(1)}` });
      }
    }
  }
  return out;
}

let failed = 0;
for (const entry of entryPoints()) {
  if (!existsSync(entry.types)) {
    console.error(`api-report: ${entry.types} is missing; build first (pnpm build).`);
    failed++;
    continue;
  }
  const config = ExtractorConfig.prepare({
    configObjectFullPath: join(entry.folder, "api-extractor.json"), // never read: the config is this object
    packageJsonFullPath: join(entry.folder, "package.json"),
    configObject: {
      projectFolder: entry.folder,
      mainEntryPointFilePath: entry.types,
      compiler: {
        overrideTsconfig: {
          compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2023"], types: ["node"], skipLibCheck: true, strict: true },
          files: [entry.types],
        },
      },
      apiReport: { enabled: true, reportFolder: REPORTS, reportTempFolder: temp, reportFileName: entry.name },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: "warning" } },
        // Release tags (@public/@beta) are not used here; a missing doc comment is listed in the report.
        extractorMessageReporting: {
          default: { logLevel: "none", addToApiReportFile: false },
          "ae-missing-release-tag": { logLevel: "none", addToApiReportFile: false },
          "ae-undocumented": { logLevel: "none", addToApiReportFile: true },
          "ae-forgotten-export": { logLevel: "none", addToApiReportFile: false },
        },
        tsdocMessageReporting: { default: { logLevel: "none", addToApiReportFile: false } },
      },
    },
  });
  const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false, messageCallback: (m) => {
      // One line per problem, ours; "report missing/changed" is said below.
      m.handled = true;
      if (m.logLevel === "error" || (m.logLevel === "warning" && !/API report file/.test(m.text))) console.error(`api-report ${entry.specifier}: ${m.text}`);
    },
  });
  if (!result.succeeded || (!update && result.apiReportChanged)) {
    console.error(`api-report: the public API of ${entry.specifier} changed (api/${entry.name}.api.md). If that is intended, run: node tooling/api-report.mjs --update`);
    failed++;
  }
}
rmSync(temp, { recursive: true, force: true });
if (failed) process.exit(1);
console.log(update ? "api-report: reports updated in api/" : "api-report: every package's public API matches api/*.api.md");
