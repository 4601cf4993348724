import { RelayError } from "../http/errors.js";
import type { RateLimit } from "../tenants/processing-schema.js";

/**
 * A token bucket per tenant, held in this isolate: no I/O on the ingest path. Each isolate keeps
 * its own buckets, so the limit holds per isolate (and so per Cloudflare location, roughly), which
 * is what keeps one noisy tenant from crowding out the others sharing an isolate and the queue.
 */
const buckets = new Map<string, { tokens: number; updatedAt: number }>();
const MAX_BUCKETS = 10_000;

export function takeRequestToken(tenantId: string, limit: RateLimit, now: number = Date.now()): void {
  let bucket = buckets.get(tenantId);
  if (!bucket) {
    if (buckets.size >= MAX_BUCKETS) buckets.clear();
    bucket = { tokens: limit.burst, updatedAt: now };
    buckets.set(tenantId, bucket);
  }
  bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * limit.requests_per_second);
  bucket.updatedAt = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return;
  }
  const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / limit.requests_per_second));
  throw new RelayError("rate_limited", `tenant ${tenantId} is over its rate limit of ${limit.requests_per_second} requests per second: retry later`, { retryAfterSeconds });
}
