/**
 * @corral/mock-model-api — a test fixture: a local HTTP mock of the Anthropic Messages, OpenAI
 * Responses and OpenAI Chat Completions streaming APIs, driven by a script of turns, recording every request. Never the
 * default of anything a user runs.
 */
export { startMockModelApi } from "./server.js";
export type { MockModelApi, MockModelApiOptions, RecordedRequest, WireApi } from "./server.js";
export type { ErrorTurn, NamedCall, ReplyTurn, ShellCall, StallTurn, ToolCall, Turn, TurnUsage } from "./script.js";
export { DEFAULT_USAGE } from "./script.js";
