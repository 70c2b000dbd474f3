import type { Usage } from "@corral/core";

/**
 * Codex reports a thread's usage cumulatively: after `exec resume`, `turn.completed` carries the
 * whole thread's tokens. This keeps the last total per thread so a resumed exec reports only its own.
 */
export class ThreadUsage {
  readonly #totals = new Map<string, Usage>();

  /** Records `total` for the thread and returns what it adds to the previous total. */
  delta(threadId: string | undefined, total: Usage, baseline: Usage | undefined): Usage {
    if (threadId !== undefined) this.#totals.set(threadId, total);
    if (!baseline) return total;
    return {
      inputTokens: Math.max(0, total.inputTokens - baseline.inputTokens),
      outputTokens: Math.max(0, total.outputTokens - baseline.outputTokens),
      cacheReadTokens: Math.max(0, total.cacheReadTokens - baseline.cacheReadTokens),
      cacheWriteTokens: Math.max(0, total.cacheWriteTokens - baseline.cacheWriteTokens),
    };
  }

  /** What an earlier run left the thread at (its kept rollout), before this run's first exec resumes it. */
  remember(threadId: string, total: Usage): void {
    this.#totals.set(threadId, total);
  }

  total(threadId: string): Usage | undefined {
    return this.#totals.get(threadId);
  }
}
