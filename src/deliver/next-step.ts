import { MAX_QUEUE_DELAY_SECONDS } from "../cloudflare/limits.js";
import type { RetryPolicy } from "../env.js";
import { TRANSIENT_RETRY_AFTER_SECONDS } from "../http/retry-after.js";
import type { DeliveryOutcome } from "./outcome.js";
import { retryDelaySeconds } from "./retry-policy.js";

/** What to do after an attempt. Decided here only, for the ingest request and the queue consumer alike. */
export type NextStep =
  | { step: "done" }
  | { step: "retry"; delaySeconds: number; serverErrors: number }
  | { step: "split" }
  | { step: "dead_letter"; reason: string }
  /**
   * Braintrust refuses a passthrough client's key: only the client can fix that. A waiting client
   * is told; spans from the queue, whose client heard 200 long ago, become a dead letter.
   */
  | { step: "refuse_client" }
  /** Not taken, for a passthrough key Braintrust has not accepted yet: nothing is kept; the client keeps its spans and retries. */
  | { step: "hand_back"; retryAfterSeconds: number; reason: string }
  /**
   * Refused in a way no retry fixes (the spans, a span too large even compressed, the URL), for a
   * passthrough key Braintrust has not accepted yet: nothing is kept, and the client hears the spans
   * were rejected, so it does not send the same bytes again and again.
   */
  | { step: "reject"; reason: string };

export interface AttemptState {
  /** Attempts made, this one included. */
  attempts: number;
  /** Server errors (SERVER_ERRORS: 500, 520) before this attempt. */
  serverErrors: number;
  spans: number;
  mode: "stored_key" | "passthrough";
  /** Whether this attempt's body went gzip-compressed. */
  compressed: boolean;
  /** Whether what this attempt does not deliver may be kept (queued or dead-lettered): see BraintrustCredential. */
  trusted: boolean;
  /** For a credential not trusted: whether a 413 may be answered at once, while the client waits (during-request.ts). */
  resendAtOnce?: boolean;
}

/**
 * Answers of a server that failed on the request rather than being away: Braintrust's own 500, and
 * Cloudflare's 520 (its origin's answer was empty or unreadable, a crash). Usually brief, but one that
 * persists is a bug, so only MAX_SERVER_ERROR_RETRIES of them are retried.
 */
const SERVER_ERRORS = new Set([500, 520]);

export function nextStep(outcome: DeliveryOutcome, state: AttemptState, policy: RetryPolicy): NextStep {
  // Junk keys are never queued or dead-lettered: a key Braintrust never accepted earns no durable work.
  if (!state.trusted && outcome.kind === "retryable") {
    return { step: "hand_back", retryAfterSeconds: clientRetryAfterSeconds(outcome.retryAfterSeconds), reason: outcome.reason };
  }
  // A 413 is answered as for any key, by halves or compressed: for such a key, once, while the client waits, where it may be.
  const answeredAtOnce = outcome.kind === "rejected" && outcome.fault === "too_large" && state.resendAtOnce === true;
  if (!state.trusted && outcome.kind === "rejected" && outcome.fault !== "credentials" && !answeredAtOnce)
    return { step: "reject", reason: outcome.reason };
  switch (outcome.kind) {
    case "delivered":
      return { step: "done" };
    case "retryable": {
      const serverErrors = state.serverErrors + (SERVER_ERRORS.has(outcome.status ?? 0) ? 1 : 0);
      if (serverErrors > policy.maxServerErrorRetries) {
        return { step: "dead_letter", reason: `Braintrust kept failing with 500 or 520 (${serverErrors} times): ${outcome.reason}` };
      }
      const retry = state.attempts;
      if (retry > policy.maxRetries) return { step: "dead_letter", reason: `gave up after ${state.attempts} attempts: ${outcome.reason}` };
      return { step: "retry", delaySeconds: retryDelaySeconds(policy, retry, outcome.retryAfterSeconds), serverErrors };
    }
    case "rejected":
      switch (outcome.fault) {
        case "too_large":
          if (state.spans > 1) return { step: "split" };
          // A single span cannot be split, but compressed it may fit, and the queue always compresses;
          // nothing needs to pass first, hence no delay.
          if (!state.compressed) return { step: "retry", delaySeconds: 0, serverErrors: state.serverErrors };
          return state.trusted
            ? { step: "dead_letter", reason: `a single span is over Braintrust's request limit: ${outcome.reason}` }
            : { step: "reject", reason: outcome.reason };
        case "credentials":
          if (state.mode === "passthrough") return { step: "refuse_client" };
          return { step: "dead_letter", reason: `Braintrust refused the tenant's stored API key: ${outcome.reason}` };
        case "data":
        case "config":
          return { step: "dead_letter", reason: outcome.reason };
      }
  }
}

/**
 * When a client whose spans are handed back should send them again: soon enough that an OTLP exporter
 * still does within its export timeout, as for any passing refusal, unless Braintrust asks for longer
 * (up to the queue's longest delay, as the queue's retries honour it). Not the queue's backoff, which
 * spaces out the relay's own retries: past the export timeout, the exporter drops the spans at once.
 */
function clientRetryAfterSeconds(braintrustRetryAfter: number | undefined): number {
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(TRANSIENT_RETRY_AFTER_SECONDS, braintrustRetryAfter ?? 0));
}
