import { RelayError } from "../http/errors.js";
import { errorText, logEvent } from "../log/events.js";
import type { RequestRateLimit } from "../tenants/processing-schema.js";

/**
 * A token bucket per tenant, held in this isolate: no I/O on the ingest path. Each isolate keeps
 * its own buckets, so the limit holds per isolate, which is what keeps one noisy tenant from
 * crowding out the others sharing an isolate and the queue; across a location's isolates the
 * ceiling below holds.
 */
const buckets = new Map<string, { tokens: number; updatedAt: number }>();
const MAX_BUCKETS = 10_000;

export function takeRequestToken(tenantId: string, limit: RequestRateLimit, now: number = Date.now()): void {
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
  throw new RelayError(
    "rate_limited",
    `tenant ${tenantId} is over its rate limit of ${limit.requests_per_second} requests per second: retry later`,
    { retryAfterSeconds },
  );
}

/**
 * The window of the ceiling, the longest a refused client waits: the binding cannot say, so this
 * must equal the period in wrangler.toml's `[[ratelimits]]` (test/rate-ceiling checks it does).
 */
export const CEILING_PERIOD_SECONDS = 10;

/**
 * Cloudflare's rate-limiting binding, keyed by tenant: one ceiling for each tenant's requests at a
 * Cloudflare location, however many isolates serve them, which the buckets above cannot give. A
 * limiter that fails lets the request through, since ingest matters more than the ceiling; a
 * binding missing from the configuration is the operator's to fix, like a missing secret.
 */
export async function withinLocationCeiling(ceiling: RateLimit | undefined, tenantId: string): Promise<void> {
  if (!ceiling) throw new RelayError("misconfigured", "the TENANT_RATE_CEILING rate-limiting binding is missing: see wrangler.toml");
  let outcome: RateLimitOutcome;
  try {
    outcome = await ceiling.limit({ key: tenantId });
  } catch (err) {
    logEvent({ event: "rate_limiter_failed", tenant: tenantId, error: errorText(err) });
    return;
  }
  if (!outcome.success) {
    throw new RelayError("rate_limited", `tenant ${tenantId} is over the relay's ceiling for one Cloudflare location: retry later`, {
      retryAfterSeconds: CEILING_PERIOD_SECONDS,
    });
  }
}
