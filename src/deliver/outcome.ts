import type { PartialSuccess } from "../otlp/partial-success.js";

/**
 * What one attempt to deliver to Braintrust came to, classified once, here. Retryable follows
 * OTLP (429, 502, 503, 504), plus 408, Braintrust's intermittent 500s, Cloudflare's 520-524 and 530,
 * timeouts and connection errors;
 * a rejection says whose fault it is, which decides what the client is told. The rules and
 * Braintrust's answers: docs/otlp-http.md and docs/braintrust-otlp.md.
 */
export type DeliveryOutcome =
  /** `unreadAnswer`: why Braintrust's answer was not read, so whatever partial success it held is unknown. */
  | { kind: "delivered"; status: number; partialSuccess?: PartialSuccess; unreadAnswer?: string }
  | { kind: "retryable"; status?: number; retryAfterSeconds?: number; reason: string }
  /** No `status` when the relay refused to send at all (the tenant's URL is not allowed). */
  | { kind: "rejected"; status?: number; fault: RejectionFault; reason: string };

/**
 * - `data`: Braintrust refused the spans themselves (400, other 4xx).
 * - `credentials`: the API key was refused (401, 403).
 * - `too_large`: over Braintrust's request limit (413).
 * - `config`: the upstream URL is wrong (404, redirects, 5xx that are not transient).
 */
type RejectionFault = "data" | "credentials" | "too_large" | "config";

/**
 * OTLP's, Braintrust's intermittent 500, and the 520-524 Cloudflare answers with when the server
 * behind it did not (down, unreachable, timed out), with 530, its answer when it could not reach
 * that server at all (a Cloudflare Tunnel reconnecting, error 1033): Braintrust's API, or a
 * self-hosted one, behind Cloudflare shows a bad minute as these. Refused, a passthrough key's
 * first spans would be answered as rejected, and lost.
 */
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 530]);

export function classifyStatus(status: number, reason: string, retryAfterSeconds?: number): DeliveryOutcome {
  if (status >= 200 && status < 300) return { kind: "delivered", status };
  if (RETRYABLE_STATUSES.has(status))
    return { kind: "retryable", status, reason, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
  if (status === 401 || status === 403) return { kind: "rejected", status, fault: "credentials", reason };
  if (status === 413) return { kind: "rejected", status, fault: "too_large", reason };
  if (status >= 400 && status < 500 && status !== 404) return { kind: "rejected", status, fault: "data", reason };
  return { kind: "rejected", status, fault: "config", reason };
}
