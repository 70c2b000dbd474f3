import { CorralError, UsageError } from "../errors.js";
import { totalTokens, type Usage } from "../usage.js";

/**
 * What a run (or a fleet, `runMany({ budget })`) may spend. The first budget reached stops it
 * cleanly: the agent is stopped as on an abort, its work is brought back, and the run ends
 * `incomplete` with `stoppedBy` naming the budget. Tokens and cost are checked each time the agent
 * reports usage (as it streams, for agents that report it that early; see docs/workflow.md).
 */
export interface Budget {
  /** All tokens of every kind (input, output, cache reads and writes), over all iterations. */
  tokens?: number;
  /** US dollars, as the agent reports them (agents that report no cost never reach it). */
  costUsd?: number;
  /** Iterations started (a tighter `maxIterations` that says so when it stops the run). */
  iterations?: number;
  /** Seconds from the start of the run (of the fleet, for a fleet budget). */
  wallSeconds?: number;
}

/** The budget names, in the order they are checked. */
export type BudgetName = keyof Budget;

/** Which budget stopped a run: its limit, what had been spent, and whether it was the run's or its fleet's. */
export interface BudgetStop {
  budget: BudgetName;
  limit: number;
  spent: number;
  scope: "run" | "fleet";
}

const BUDGET_EXAMPLES: Record<BudgetName, string> = {
  tokens: "tokens: 200000",
  costUsd: "costUsd: 2.5",
  iterations: "iterations: 10",
  wallSeconds: "wallSeconds: 1800",
};

/** Checks a budget's shape and numbers; `where` names it in the message (`budget`, `fleet budget`). */
export function checkBudget(budget: Budget | undefined, where = "budget"): void {
  if (budget === undefined) return;
  if (typeof budget !== "object" || budget === null || Array.isArray(budget)) {
    throw new UsageError(`${where} must be an object, got ${JSON.stringify(budget)}.`, { hint: "e.g. budget: { tokens: 200000, costUsd: 2.5 }" });
  }
  for (const [key, value] of Object.entries(budget)) {
    const example = BUDGET_EXAMPLES[key as BudgetName];
    if (!example) throw new UsageError(`Unknown ${where} "${key}".`, { hint: `The budgets are ${Object.keys(BUDGET_EXAMPLES).join(", ")}.` });
    if (value === undefined) continue;
    const whole = key === "tokens" || key === "iterations";
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || (whole && !Number.isInteger(value))) {
      throw new UsageError(`${where}.${key} must be a positive ${whole ? "whole " : ""}number, got ${JSON.stringify(value)}.`, { hint: `e.g. ${example}` });
    }
  }
}

/** What has been spent so far, as a budget counts it. */
export interface Spent {
  usage: Usage;
  iterations: number;
  elapsedMs: number;
}

/** The first budget `spent` has reached, or undefined. Tokens and cost stop at the limit; iterations only beyond it. */
export function budgetReached(budget: Budget | undefined, spent: Spent, scope: BudgetStop["scope"] = "run"): BudgetStop | undefined {
  if (!budget) return undefined;
  const checks: [BudgetName, number | undefined, number][] = [
    ["tokens", budget.tokens, totalTokens(spent.usage)],
    ["costUsd", budget.costUsd, spent.usage.costUsd ?? 0],
    ["iterations", budget.iterations, spent.iterations],
    ["wallSeconds", budget.wallSeconds, spent.elapsedMs / 1000],
  ];
  for (const [name, limit, value] of checks) {
    if (limit === undefined) continue;
    if (name === "iterations" ? value > limit : value >= limit) return { budget: name, limit, spent: name === "wallSeconds" ? Math.round(value) : value, scope };
  }
  return undefined;
}

/** Marks an abort as a budget's doing, so the run ends `incomplete` (stopped by it) instead of `aborted`. */
export class BudgetStopReason {
  constructor(readonly stop: BudgetStop) {}
}

/** The budget stop an abort signal carries, if its reason is one. */
export function budgetStopOf(signal: AbortSignal): BudgetStop | undefined {
  return signal.aborted && signal.reason instanceof BudgetStopReason ? signal.reason.stop : undefined;
}

const UNITS: Record<BudgetName, (n: number) => string> = {
  tokens: (n) => `${n.toLocaleString("en-US")} tokens`,
  costUsd: (n) => `$${n.toFixed(2)}`,
  iterations: (n) => `${n} iteration${n === 1 ? "" : "s"}`,
  wallSeconds: (n) => `${n} s`,
};

/** One line a person reads: `the run's token budget (10,000 tokens) was reached: 10,240 tokens spent`. */
export function describeBudgetStop(stop: BudgetStop): string {
  const what = { tokens: "token", costUsd: "cost", iterations: "iteration", wallSeconds: "time" }[stop.budget];
  const unit = UNITS[stop.budget];
  return `the ${stop.scope === "fleet" ? "fleet's" : "run's"} ${what} budget (${unit(stop.limit)}) was reached: ${unit(stop.spent)} spent`;
}

/** A budget stopped a run that had to give a structured answer (other runs end `incomplete` with `stoppedBy`). */
export class BudgetExceededError extends CorralError {
  /** Which budget, its limit and what was spent. */
  readonly stop: BudgetStop;
  constructor(message: string, stop: BudgetStop) {
    super("E_BUDGET_EXCEEDED", message, { hint: `Raise ${stop.scope === "fleet" ? "the fleet's" : "the run's"} budget.${stop.budget}, or give the agent less to do per run.` });
    this.stop = stop;
  }
}
