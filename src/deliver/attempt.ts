import type { RetryPolicy } from "../env.js";
import { logEvent } from "../log/events.js";
import type { PartialSuccess } from "../otlp/partial-success.js";
import { countSpans, countUpstreamAttempt } from "../stats/recorder.js";
import { type OtlpPayload, postTraces, type SendOptions, sentCompressed, type UpstreamTarget } from "./braintrust.js";
import { refusedTenantSettings } from "./newer-tenant.js";
import { type AttemptState, type NextStep, nextStep } from "./next-step.js";
import type { DeliveryOutcome } from "./outcome.js";

/** The attempt's state but for whether it went compressed, which the payload itself says. */
interface AttemptContext extends Omit<AttemptState, "compressed"> {
  tenant: string;
  /** The incarnation the spans were accepted for, whose statistics count the attempt. */
  incarnation: string | undefined;
  deliveryId: string;
  /** Whether the client that sent the spans waits for this attempt: during its request, not from the queue. */
  clientWaits: boolean;
}

/**
 * One attempt and what follows from it, with the attempt's one structured log line: tenant,
 * parent, spans, bytes, attempt, outcome, upstream status, latency. Never the key.
 * `newerSettings`: asked when Braintrust refused the tenant's stored key or api_url and the spans
 * would become a dead letter (see newer-tenant.ts); what it finds (`newer`) sends them again at once,
 * which the log line says as a retry in 0 s, not as the dead letter that is not made.
 */
export async function attemptDelivery<Newer>(
  target: UpstreamTarget,
  payload: OtlpPayload,
  options: SendOptions,
  context: AttemptContext,
  policy: RetryPolicy,
  newerSettings?: () => Promise<Newer | undefined>,
): Promise<{ outcome: DeliveryOutcome; next: NextStep; newer?: Newer }> {
  const started = Date.now();
  const outcome = withinSpansSent(await postTraces(target, payload, options), context.spans);
  const latencyMs = Date.now() - started;
  const decided = nextStep(outcome, { ...context, compressed: sentCompressed(payload) }, policy);
  const newer = newerSettings && decided.step === "dead_letter" && refusedTenantSettings(outcome) ? await newerSettings() : undefined;
  const next: NextStep = newer === undefined ? decided : { step: "retry", delaySeconds: 0, serverErrors: context.serverErrors };
  const reason =
    outcome.kind === "delivered" ? (outcome.unreadAnswer ?? partialSuccessReason(outcome.partialSuccess, context.spans)) : outcome.reason;
  const rejectedSpans = outcome.kind === "delivered" ? Number(outcome.partialSuccess?.rejectedSpans ?? 0n) : 0;
  countAttempt(context, outcome, next, latencyMs, rejectedSpans);
  logEvent({
    event: "delivery_attempt",
    tenant: context.tenant,
    parent: target.parent,
    delivery_id: context.deliveryId,
    spans: context.spans,
    bytes: payload.protobuf.byteLength,
    attempt: context.attempts,
    outcome: outcome.kind,
    upstream_status: outcome.status ?? null,
    latency_ms: latencyMs,
    next: next.step,
    ...(next.step === "retry" ? { retry_in_s: next.delaySeconds } : {}),
    ...(rejectedSpans > 0 ? { rejected_spans: rejectedSpans } : {}),
    ...(reason === undefined ? {} : { reason }),
  });
  return newer === undefined ? { outcome, next } : { outcome, next, newer };
}

/**
 * An upstream's partial success, its count held to the spans it was sent: the answer comes from
 * Braintrust or a tenant's own `api_url`, and a count past them (past int64, or summed over a
 * request's parents) or below zero is no count a client's answer or a log line could carry. Its
 * message was scrubbed and cut where it was read.
 */
function withinSpansSent(outcome: DeliveryOutcome, spans: number): DeliveryOutcome {
  if (outcome.kind !== "delivered" || !outcome.partialSuccess) return outcome;
  const { rejectedSpans } = outcome.partialSuccess;
  const rejected = rejectedSpans < 0n ? 0n : rejectedSpans > BigInt(spans) ? BigInt(spans) : rejectedSpans;
  return { ...outcome, partialSuccess: { ...outcome.partialSuccess, rejectedSpans: rejected } };
}

/**
 * What a 2xx answer's partial success said: the spans Braintrust rejected, or a warning about spans
 * it took (OTLP lets a server warn with none rejected). A waiting client hears of either, but a
 * queued delivery's client was answered long ago, so this log line is the only record of it.
 */
function partialSuccessReason(partial: PartialSuccess | undefined, spans: number): string | undefined {
  if (!partial) return undefined;
  if (partial.rejectedSpans === 0n) return partial.errorMessage ? `Braintrust warned: ${partial.errorMessage}` : undefined;
  return `Braintrust rejected ${partial.rejectedSpans} of ${spans} spans${partial.errorMessage ? `: ${partial.errorMessage}` : ""}`;
}

/**
 * The tenant's statistics: the attempt and its latency, and what became of its spans (`rejected` of
 * them by a delivered answer's partial success). Retries count
 * once queued, refusals of a client's key where the spans are dropped, dead letters where they are kept.
 * A passthrough client's key Braintrust refuses while the client waits is the client's request refused
 * (its 401 or 403 counts with the requests), not the tenant's delivery failing: anyone may send a
 * bearer shaped like a key, and strangers' keys would otherwise show a healthy tenant's Braintrust
 * failing. From the queue, where the client is gone and the spans become a dead letter, it counts.
 */
function countAttempt(context: AttemptContext, outcome: DeliveryOutcome, next: NextStep, latencyMs: number, rejected: number): void {
  if (context.clientWaits && next.step === "refuse_client") return;
  countUpstreamAttempt(
    context,
    latencyMs,
    outcome.kind === "delivered" ? undefined : { status: outcome.status ?? null, reason: outcome.reason },
  );
  if (next.step === "done") {
    // What the 2xx's partial success rejected (held to the spans sent) Braintrust did not keep: the client was told so, if it waited.
    countSpans(context, "delivered", context.spans - rejected);
    countSpans(context, "rejected_by_braintrust", rejected);
  }
  if (next.step === "reject") countSpans(context, "refused_upstream", context.spans);
}
