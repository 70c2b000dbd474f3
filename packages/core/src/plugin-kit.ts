/**
 * @corral/core/plugin-kit — helpers for implementing a corral plugin, the ones our own sandboxes,
 * agents and isolations use: the one process runner (own process group, killed whole), line
 * splitting, a run's temp folders, process liveness, host paths and git mounts, the egress
 * proxy's placeholders for agents, safe host-side git and the quarantine that brings a run's work
 * back, redaction, and inert text for terminals.
 *
 * The contract itself (interfaces, define*, events, errors) is on the root, `@corral/core`; the
 * conformance kits on `@corral/core/testing` (docs/plugins.md, ADR 0006).
 */
export { spawnAttached, spawnStreaming } from "./process.js";
export type { AttachedSpawnOptions } from "./process.js";
export type { SpawnOptions } from "./process.js";
export { HandleLifecycle, type HandleLifecycleOptions } from "./sandbox-lifecycle.js";
export { CUT_MARKER, cutLineEvent, isCutLine, jsonObjectLine, LineSplitter, MAX_LINE_CHARS } from "./lines.js";
export { listRunTempDirs, removeRunTempDirs, runTempDir, runTempPrefix } from "./temp.js";
export { processLives, processStartTime, runProcesses } from "./liveness.js";
export { networkMode, orderGitMounts, resolveHostPath } from "./sandbox.js";
export { apiHostRule, GATEWAY_PLACEHOLDER } from "./run/network.js";
export { shellQuote } from "./prompt.js";

export { git, gitMessage, scrubbedGitEnv, SAFE_GIT_CONFIG } from "./git.js";
export type { GitResult } from "./git.js";
export { EMPTY_TREE, Quarantine, swapRef, type ReflogEntry } from "./quarantine.js";
export type { RefRead } from "./quarantine.js";
export { borrowedObjectMounts, createRunGitDir, gitIdentity, repoObjectFormat, SHARED_OBJECTS } from "./run-git-dir.js";
export type { RunGitDirSpec } from "./run-git-dir.js";
export { commitsSince } from "./builtins/in-place.js";
export { computeMerge, type ComputedMerge, type MergeStrategy } from "./merge.js";

export { createRedactor, redactDeep } from "./redact.js";
export type { Redactor } from "./redact.js";
export { inert, inertJson } from "./inert.js";
export { readPlainFile, type PlainFileRead } from "./plain-file.js";
export { extractTar, packTar, safeArchivePath, walkForTar } from "./tar.js";
export type { ExtractOptions, ExtractResult, TarEntryIn, TarEntryOut } from "./tar.js";
// What run() does for a copied workspace, for sandbox authors' tests and the benches.
export { bringBack, copiedPaths, shipIn } from "./copied-workspace.js";
export type { BringBackReport, ShipInReport } from "./copied-workspace.js";
