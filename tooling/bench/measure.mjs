/**
 * Times `fn` `samples` times after `warmup` untimed runs; returns the samples in ms.
 * One helper for every bench script, so medians and spreads are comparable.
 */
export async function measure(fn, { warmup = 3, samples = 15 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const out = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await fn();
    out.push(performance.now() - start);
  }
  return out;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Prints the suite's result as the last stdout line (the runner reads it). */
export function report(suite, cases) {
  console.log(JSON.stringify({ suite, cases }));
}

export function skip(suite, reason) {
  console.log(JSON.stringify({ suite, skipped: reason }));
}
