/**
 * @corral/core/testing — the conformance kit. Sandbox, isolation and agent plugins (ours and third
 * parties') run these vitest suites in their own tests. Needs vitest (an optional peer).
 */
export { describeSandboxConformance, collect } from "./sandbox-conformance.js";
export type { ConformanceContext, SandboxConformanceOptions, SandboxSecurityClaims } from "./sandbox-conformance.js";
export { describeAgentParserConformance } from "./agent-parser-conformance.js";
export type { AgentParserConformanceOptions } from "./agent-parser-conformance.js";
export { agentGitEnv, describeIsolationConformance } from "./isolation-conformance.js";
export type { IsolationConformanceOptions } from "./isolation-conformance.js";
export { hostProcessesMatching, eventually } from "./processes.js";
export { describeRepositoryIntegrity, firedTraps, gitTraps, writeTrap } from "./repository-integrity.js";
export type { RepositoryIntegrityOptions } from "./repository-integrity.js";
export { describeCopiedWorkspace } from "./copied-workspace.js";
export type { CopiedWorkspaceOptions } from "./copied-workspace.js";
export { describeAgentEndToEnd, END_TO_END_COMMIT_SCRIPT } from "./agent-end-to-end.js";
export type { AgentEndToEndOptions, EndToEndApi, EndToEndRequest, EndToEndSandbox, EndToEndTurn, EndToEndTurnUsage, UsageOf } from "./agent-end-to-end.js";
// The egress proxy itself, for tests and benches of a sandbox's `proxy` network mode (the kit above starts one too).
export { EgressProxy } from "../network/proxy.js";
export type { EgressProxyOptions } from "../network/proxy.js";
