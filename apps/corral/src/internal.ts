/**
 * `corral/internal`: what the corral CLI needs beyond the public API — plugin loading, option
 * resolution, the journal's writers and process bookkeeping. Not covered by semver: it may change in
 * any release. Library users import from `corral`.
 */
export { resolveRun } from "./run.js";
export type { ResolvedRun } from "./run.js";
export { assertFolder, configSchema } from "./config.js";
export { PluginLoader, importInstalled } from "./plugins.js";
export { collectEnv, parseEnvFile } from "./env.js";
export { taskSchema } from "./tasks.js";
export { formatAgentEvent } from "./displays/format.js";
export { journalDisplay, journalLocation, unreadableJournal, writeRecord, runProcesses, killRunProcesses } from "./journal/index.js";
export type { JournalLocation } from "./journal/index.js";
