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

export function takeRequestToken(tenantId: string, limit: RequestRateLimit): void {
  const retryAfterSeconds = takeToken(tenantId, limit, Date.now());
  if (retryAfterSeconds === undefined) return;
  throw new RelayError(
    "rate_limited",
    `tenant ${tenantId} is over its rate limit of ${limit.requests_per_second} requests per second: retry later`,
    { retryAfterSeconds },
  );
}

/**
 * Requests with a passthrough key Braintrust has not accepted yet (tenants/accepted-keys.ts): any
 * key-shaped bearer gets this far, so strangers' requests draw on this small bucket per tenant,
 * never on the tenant's own bucket or ceiling, and a client Braintrust already accepts never hears
 * 429 because of them.
 */
export const UNTRUSTED_RATE_LIMIT: RequestRateLimit = { requests_per_second: 1, burst: 3 };

export function takeUntrustedRequestToken(tenantId: string): void {
  const retryAfterSeconds = takeToken(`${tenantId}\nuntrusted`, UNTRUSTED_RATE_LIMIT, Date.now());
  if (retryAfterSeconds === undefined) return;
  throw new RelayError(
    "rate_limited",
    `tenant ${tenantId}: requests with an API key Braintrust has not yet accepted are limited to ${UNTRUSTED_RATE_LIMIT.requests_per_second} per second: retry later`,
    { retryAfterSeconds },
  );
}

/** Takes a token from the bucket; undefined when there was one, else the seconds until there is. */
function takeToken(bucketKey: string, limit: RequestRateLimit, now: number): number | undefined {
  let bucket = buckets.get(bucketKey);
  if (!bucket) {
    if (buckets.size >= MAX_BUCKETS) buckets.clear();
    bucket = { tokens: limit.burst, updatedAt: now };
    buckets.set(bucketKey, bucket);
  }
  bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * limit.requests_per_second);
  bucket.updatedAt = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return undefined;
  }
  return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.requests_per_second));
}

/**
 * The window of the ceiling, the longest a refused client waits: the binding cannot say, so this
 * must equal the period in wrangler.toml's `[[ratelimits]]` (test/rate-ceiling checks it does).
 */
const CEILING_PERIOD_SECONDS = 10;

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
