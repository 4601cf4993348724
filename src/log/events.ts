import { currentRequestId } from "./request-id.js";

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
      next: "done" | "retry" | "split" | "dead_letter" | "refuse_client" | "hand_back" | "reject";
      retry_in_s?: number;
      /** Of `spans`, those Braintrust rejected in a delivered attempt's partial success; absent when none. */
      rejected_spans?: number;
      reason?: string;
    }
  | { event: "dead_letter"; tenant: string; parent: string; delivery_id: string; spans: number; attempts: number; reason: string }
  /** Braintrust asked, with an export of no spans, whether it takes a passthrough key before a body larger than such a key may send is read. */
  | {
      event: "client_key_checked";
      tenant: string;
      parent: string;
      outcome: "delivered" | "retryable" | "rejected";
      upstream_status: number | null;
      latency_ms: number;
      reason?: string;
    }
  | { event: "duplicate_delivery_skipped"; tenant: string; delivery_id: string; spans: number; why: string }
  | { event: "tenant_gone_discarded"; tenant: string; delivery_id: string; spans: number }
  | { event: "ingest_refused"; tenant: string; status: number; code: string; reason: string }
  /** Spans of a request answered 200 that the relay itself refused (OTLP's rules broken), as the client's partial_success says. */
  | { event: "ingest_spans_rejected"; tenant: string; spans: number; reason: string }
  /**
   * Spans of a request answered 200 whose `braintrust.parent` could not be their trace's parent
   * (`parent_from_attribute`): their traces went where anything else decides, as if they had none.
   */
  | { event: "caller_parent_ignored"; tenant: string; spans: number; reason: string }
  /**
   * Also for a call that failed once it had changed something (dead letters deleted or replayed
   * before a 409, 412 or 503): `dead_letters` and `spans` are what it deleted or replayed.
   */
  | {
      event: "admin_change";
      method: string;
      path: string;
      status: number;
      tenant?: string;
      /** A tenant's PUT that carried `braintrust.api_key`: a key stored (new or the same), or removed. */
      stored_key?: "set" | "removed";
      token_id?: string;
      /** A token issued under the issue key of an earlier one, which it replaced (revoked). */
      replaced_token_id?: string;
      dead_letters?: number;
      spans?: number;
    }
  | { event: "delivered_marker_failed"; tenant: string; delivery_id: string; error: string }
  /** A message split in two for Braintrust's size cap whose own spill R2 would not delete: left behind, the halves queued. */
  | { event: "split_release_failed"; tenant: string; delivery_id: string; error: string }
  /** A message Braintrust took, with no delivered marker, whose spans R2 would not delete: left behind, the message done. */
  | { event: "delivered_release_failed"; tenant: string; delivery_id: string; error: string }
  | { event: "delivery_consumer_error"; tenant: string; delivery_id: string; error: string }
  /** A queue body the relay did not make (sent by hand, another producer's): acked, since it names no tenant. */
  | { event: "malformed_queue_message"; queue: string; message_id: string }
  | { event: "durable_store_failed"; tenant: string; delivery_id: string; error: string }
  | { event: "rate_limiter_failed"; tenant: string; error: string }
  /** `dropped`: the object refused the counts itself and would again, so they are not kept for the next flush. */
  | { event: "stats_flush_failed"; tenant: string; error: string; dropped: boolean }
  | { event: "tenant_replica_failed"; tenant: string; error: string }
  /** A tenant's object did not answer for its statistics: the all-tenants page names it under `unavailable`. */
  | { event: "stats_read_failed"; tenant: string; error: string }
  /** A tenant's key could not be sealed again (its object did not answer): `keys reseal` names it under `failed`, to run again. */
  | { event: "key_reseal_failed"; tenant: string; error: string }
  /** A tenant's object did not answer to claim its dead letters: a page of everyone's names them under `unavailable`; a replay by id or tenant is a 503. */
  | { event: "replay_claim_failed"; tenant: string; error: string }
  | { event: "trace_routes_failed"; tenant: string; error: string }
  /** A trace decided when spans of it could not wait for the span that might have decided it otherwise. */
  | { event: "trace_decided_early"; tenant: string; trace: string; parent: string; spans: number; reason: string }
  /** `spans`: of the piece the queue refused, the first of its trace's; the others wait too. */
  | { event: "trace_release_failed"; tenant: string; trace: string; spans: number; error: string }
  | { event: "unhandled_error"; error: string };

/**
 * What an admin route says its change did, beyond the call itself (admin/app.ts writes the line):
 * the tenant it was of, the token it issued, the dead letters (and their spans) it replayed or deleted.
 */
export type AdminChangeDetail = Omit<Extract<RelayEvent, { event: "admin_change" }>, "event" | "method" | "path" | "status">;

const ERROR_EVENTS: ReadonlySet<RelayEvent["event"]> = new Set([
  "delivered_marker_failed",
  "split_release_failed",
  "delivered_release_failed",
  "delivery_consumer_error",
  "malformed_queue_message",
  "durable_store_failed",
  "rate_limiter_failed",
  "stats_flush_failed",
  "stats_read_failed",
  "key_reseal_failed",
  "replay_claim_failed",
  "tenant_replica_failed",
  "trace_routes_failed",
  "trace_release_failed",
  "unhandled_error",
]);

/** The fields that carry text the relay did not write itself: an upstream's error body, an exception's message. */
const FREE_TEXT_FIELDS: ReadonlySet<string> = new Set(["reason", "error"]);

/**
 * Credentials shaped as they are sent: a bearer credential (RFC 6750's token characters), the
 * relay's ingest tokens and Braintrust-style API keys. Callers never log a key on purpose; this is
 * the backstop for free text, shaped tightly enough to leave ids and prose alone.
 */
const CREDENTIAL = /\b([Bb]earer\s+)[A-Za-z0-9._~+/=-]{16,}|\btbr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}|(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}/g;

export function scrubCredentials(text: string): string {
  return text.replace(CREDENTIAL, (_match, bearer: string | undefined) => `${bearer ?? ""}[redacted]`);
}

/** Writes one event as one JSON line, with the id of the request or batch it belongs to, its free-text fields scrubbed of credentials. */
export function logEvent(event: RelayEvent): void {
  const requestId = currentRequestId();
  const line = JSON.stringify(requestId ? { ...event, request_id: requestId } : event, (key, value: unknown) =>
    typeof value === "string" && FREE_TEXT_FIELDS.has(key) ? scrubCredentials(value) : value,
  );
  if (ERROR_EVENTS.has(event.event)) console.error(line);
  else console.log(line);
}

/** What an exception says, for an event's `error` field: its message, after its kind unless it is a plain Error. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name === "Error" ? err.message : `${err.name}: ${err.message}`;
}
