/** One scripted shell tool call. The mock maps it to the CLI's own shell tool (`Bash`, `exec_command`, `shell`). */
export interface ShellCall {
  shell: string;
}

/** One scripted tool call by exact name and input, for tools other than the shell. */
export interface NamedCall {
  name: string;
  input: Record<string, unknown>;
}

export type ToolCall = ShellCall | NamedCall;

export interface TurnUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/** The model answers: text and/or tool calls, streamed. */
export interface ReplyTurn {
  text?: string;
  toolCalls?: ToolCall[];
  usage?: TurnUsage;
}

/** The model starts a streamed answer and then says nothing more until the server closes. */
export interface StallTurn {
  stall: true;
}

/** The API fails with an HTTP error and the provider's JSON error body. */
export interface ErrorTurn {
  status: number;
  message: string;
}

export type Turn = ReplyTurn | StallTurn | ErrorTurn;

export const isStall = (turn: Turn): turn is StallTurn => "stall" in turn;
export const isError = (turn: Turn): turn is ErrorTurn => "status" in turn;
export const isShell = (call: ToolCall): call is ShellCall => "shell" in call;

/** Default token counts, so usage reporting has numbers to check. */
export const DEFAULT_USAGE: Required<TurnUsage> = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, cacheWriteTokens: 5 };

export function usageOf(turn: ReplyTurn): Required<TurnUsage> {
  return { ...DEFAULT_USAGE, ...turn.usage };
}
