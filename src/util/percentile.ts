// The one percentile: latency p50/p99 in the pipeline's diagnostics and in the eval
// report, and the bootstrap's confidence bounds.

export type PercentileMethod = "nearest-rank" | "linear";

/**
 * p-th percentile (0..100) of the finite values; null when there are none.
 * - "nearest-rank": the smallest value with at least p% of the values at or below
 *   it, i.e. sorted[ceil(p/100 * n) - 1] (p = 0 gives the minimum). Always an
 *   observed value, which is what a latency p99 should be.
 * - "linear": linear interpolation between closest ranks at position
 *   (n - 1) * p / 100 (numpy's default, R type 7).
 */
export function percentile(values: readonly number[], p: number, method: PercentileMethod = "nearest-rank"): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be in [0, 100], got ${p}`);
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return null;
  if (method === "nearest-rank") {
    // p * n before dividing keeps integer products exact (0.99 * 100 is not 99).
    const rank = Math.max(1, Math.ceil((p * n) / 100));
    return sorted[Math.min(rank, n) - 1];
  }
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  if (lo >= n - 1) return sorted[n - 1];
  return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}
