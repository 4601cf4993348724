/**
 * Latency as a histogram of logarithmic buckets, each 2^(1/8) ≈ 9% wider than the one below, so
 * histograms from every isolate and minute add up, and a quantile read from them is within 9% of
 * the true one (it reports its bucket's upper bound). Under 1 ms counts as bucket 0.
 */
const GROWTH = 2 ** (1 / 8);

export function latencyBucket(ms: number): number {
  if (ms <= 1) return 0;
  return Math.ceil(Math.log(ms) / Math.log(GROWTH));
}

function bucketUpperBoundMs(bucket: number): number {
  return Math.round(GROWTH ** bucket);
}

/** The `q` quantile (0-1) of a histogram, in ms; null when it holds nothing. */
export function latencyQuantile(histogram: Record<string, number>, q: number): number | null {
  const buckets = Object.entries(histogram)
    .map(([bucket, n]) => [Number(bucket), n] as const)
    .sort(([a], [b]) => a - b);
  const total = buckets.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [bucket, n] of buckets) {
    seen += n;
    if (seen >= rank) return bucketUpperBoundMs(bucket);
  }
  return null;
}
