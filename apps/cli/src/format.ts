/** A cost as the CLI's tables show it: `$0.0123`, or `-` where the agent reported none. */
export function usd(costUsd: number | undefined): string {
  return costUsd === undefined ? "-" : `$${costUsd.toFixed(4)}`;
}
