/**
 * The relay's log lines: one JSON object per line, one event from a closed set. Workers Logs and
 * `wrangler tail` index the fields; the names and shapes below are what operators query, so they
 * change only with the README's Logs section.
 */
export type RelayEvent =
  | {
      event: "delivery_attempt";
      tenant: string;
      parent: string;
      delivery_id: string;
      spans: number;
      bytes: number;
      attempt: number;
      outcome: "delivered" | "retryable" | "rejected";
      upstream_status: number | null;
      latency_ms: number;
      next: string;
      retry_in_s?: number;
      reason?: string;
    }
  | { event: "dead_letter"; tenant: string; parent: string; delivery_id: string; spans: number; attempts: number; reason: string }
  | { event: "duplicate_delivery_skipped"; tenant: string; delivery_id: string; spans: number }
  | { event: "delivery_consumer_error"; tenant: string; delivery_id: string; error: string }
  | { event: "durable_store_failed"; tenant: string; delivery_id: string; error: string }
  | { event: "rate_limiter_failed"; tenant: string; error: string }
  | { event: "unhandled_error"; error: string };

const ERROR_EVENTS: ReadonlySet<RelayEvent["event"]> = new Set([
  "delivery_consumer_error",
  "durable_store_failed",
  "rate_limiter_failed",
  "unhandled_error",
]);

/**
 * Credentials that could reach a log line through text the relay does not write itself (an
 * upstream's error body, an exception's message): bearer credentials, the relay's ingest tokens
 * and Braintrust-style API keys. Callers never log a key on purpose; this is the backstop.
 */
const CREDENTIAL = /\b(Bearer\s+)\S+|\btbr_[0-9a-f]{16}_[A-Za-z0-9_-]+|\bsk-[A-Za-z0-9_-]{8,}/gi;

function scrub(text: string): string {
  return text.replace(CREDENTIAL, (_match, bearer: string | undefined) => `${bearer ?? ""}[redacted]`);
}

/** Writes one event as one JSON line, every string field scrubbed of credentials. */
export function logEvent(event: RelayEvent): void {
  const line = JSON.stringify(event, (_key, value: unknown) => (typeof value === "string" ? scrub(value) : value));
  if (ERROR_EVENTS.has(event.event)) console.error(line);
  else console.log(line);
}

/** What an exception says, for an event's `error` field. */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
