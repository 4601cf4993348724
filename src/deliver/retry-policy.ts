import { MAX_QUEUE_DELAY_SECONDS } from "../cloudflare/limits.js";
import type { RetryPolicy } from "../env.js";

/**
 * Delay before retry number `retry` (1 for the first retry): exponential from the base, capped,
 * with "equal jitter" (half fixed, half random) so a burst of failures does not come back at once
 * yet never retries sooner than half the backoff. A server's Retry-After wins when it is longer.
 */
export function retryDelaySeconds(
  policy: RetryPolicy,
  retry: number,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  const backoff = Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** Math.max(0, retry - 1));
  const jittered = Math.ceil(backoff / 2 + random() * (backoff / 2));
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(jittered, retryAfterSeconds ?? 0));
}
