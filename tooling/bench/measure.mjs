/**
 * The helpers every bench script shares, so medians, spreads and the reported shape are
 * comparable across suites. See README.md for the contract between a script and the runner.
 */

/** `BENCH_QUICK=1` (or `pnpm bench --quick`): fewer samples, for a smoke run of the suite. */
export const quick = process.env.BENCH_QUICK === "1";

/**
 * Times `fn` `samples` times after `warmup` untimed runs; returns the samples in ms.
 * One helper for every bench script, so medians and spreads are comparable.
 */
export async function measure(fn, { warmup = 3, samples = 15 } = {}) {
  if (quick) {
    warmup = Math.min(warmup, 1);
    samples = Math.min(samples, 3);
  }
  for (let i = 0; i < warmup; i++) await fn();
  const out = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await fn();
    out.push(performance.now() - start);
  }
  return out;
}

/**
 * Like measure(), but `fn` returns its own sample (e.g. MB/s, MB of RSS, ms of CPU) instead of
 * being timed; for values the wall clock around the call does not capture.
 */
export async function collect(fn, { warmup = 1, samples = 7 } = {}) {
  if (quick) {
    warmup = Math.min(warmup, 1);
    samples = Math.min(samples, 3);
  }
  for (let i = 0; i < warmup; i++) await fn();
  const out = [];
  for (let i = 0; i < samples; i++) out.push(await fn());
  return out;
}

export function median(values) {
  return percentile(values, 50);
}

/** The p-th percentile (0–100), linearly interpolated between the nearest ranks. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

/** Prints the suite's result as the last stdout line (the runner reads it). */
export function report(suite, cases, extra = {}) {
  console.log(JSON.stringify({ suite, cases, ...extra }));
}

export function skip(suite, reason) {
  console.log(JSON.stringify({ suite, skipped: reason }));
}

/** Progress for humans, on stderr (stdout's last line belongs to the runner). */
export function note(message) {
  process.stderr.write(`  ${message}\n`);
}

/**
 * Times several functions in rotation (a, b, c, then b, c, a…) after warm-up, so a load spike on
 * a shared machine hits every side alike; a case and its floor should be measured this way.
 * Returns one array of samples (ms) per function.
 */
export async function measureEach(fns, { warmup = 3, samples = 15 } = {}) {
  if (quick) {
    warmup = Math.min(warmup, 1);
    samples = Math.min(samples, 3);
  }
  for (let i = 0; i < warmup; i++) for (const fn of fns) await fn();
  const out = fns.map(() => []);
  for (let i = 0; i < samples; i++) {
    for (let k = 0; k < fns.length; k++) {
      const j = (i + k) % fns.length;
      const start = performance.now();
      await fns[j]();
      out[j].push(performance.now() - start);
    }
  }
  return out;
}

/** measureEach for a case and its floor. */
export const measurePair = (a, b, options) => measureEach([a, b], options);
