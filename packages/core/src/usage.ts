/** Token usage. Every field optional: agents report what they know. */
export interface Usage {
  /** Prompt tokens not read from the cache. */
  inputTokens: number;
  /** Tokens the model wrote. */
  outputTokens: number;
  /** Prompt tokens read from the provider's cache. */
  cacheReadTokens: number;
  /** Prompt tokens written to the provider's cache. */
  cacheWriteTokens: number;
  /** Cost in US dollars, when the agent CLI reports it. */
  costUsd?: number;
}

/** Zero usage, to add to. */
export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
}

/** `a` plus `b` (a partial usage, as one event reports it); the cost only when either has one. */
export function addUsage(a: Usage, b: Partial<Usage>): Usage {
  const cost = (a.costUsd ?? 0) + (b.costUsd ?? 0);
  return {
    inputTokens: a.inputTokens + (b.inputTokens ?? 0),
    outputTokens: a.outputTokens + (b.outputTokens ?? 0),
    cacheReadTokens: a.cacheReadTokens + (b.cacheReadTokens ?? 0),
    cacheWriteTokens: a.cacheWriteTokens + (b.cacheWriteTokens ?? 0),
    ...(a.costUsd !== undefined || b.costUsd !== undefined ? { costUsd: cost } : {}),
  };
}

/** All tokens of every kind. */
export function totalTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
}
