import type { RequestDeliveryResult } from "../deliver/during-request.js";
import type { RelayError } from "../http/errors.js";
import type { PartialSuccess } from "../otlp/partial-success.js";

/**
 * What the client is told once every delivery of its request has settled (one per parent), whatever
 * became of its siblings:
 * - any delivery neither delivered nor kept: 503 with Retry-After, the longest any of them asks: the
 *   client sends the whole request again, to every parent, so it waits for the one that waits longest.
 *   Spans its siblings delivered or queued arrive twice: delivery is at least once.
 * - every delivery refused the client's key, and no span of it waits for its trace's top span: that
 *   refusal, 401 or 403 (the first one's, should they differ), as for a request to one parent;
 *   nothing was kept.
 * - otherwise 200, with the relay's own rejections, plus spans refused, not sent or dead-lettered
 *   counted as rejected and said why, so the client does not resend what resending cannot fix. Spans waiting
 *   (`spansWait`: kept by their traces' objects, now or when the request was sent before) are a
 *   success: the relay holds them and will deliver them.
 * Returns the 200's partial success; throws the error answer.
 */
export function clientAnswer(results: RequestDeliveryResult[], rejections: PartialSuccess, spansWait: boolean): PartialSuccess {
  const notKept = results.flatMap((result) => (result.result === "not_kept" ? [result.error] : []));
  if (notKept.length > 0) throw notKept.reduce(longerWait);
  const refusals = results.flatMap((result) => (result.result === "refused" ? [result.refusal] : []));
  const [firstRefusal] = refusals;
  if (firstRefusal && refusals.length === results.length && !spansWait) throw firstRefusal;
  return results.reduce(withDeliveryResult, rejections);
}

/** Of two errors, the one whose Retry-After asks the client to wait longer; the first on a tie. */
function longerWait(a: RelayError, b: RelayError): RelayError {
  return (b.options.retryAfterSeconds ?? 0) > (a.options.retryAfterSeconds ?? 0) ? b : a;
}

/** Delivered and queued spans are a success; refused, not sent and dead-lettered ones are reported as rejected. */
function withDeliveryResult(partial: PartialSuccess, result: RequestDeliveryResult): PartialSuccess {
  const messages = partial.errorMessage ? [partial.errorMessage] : [];
  let rejected = partial.rejectedSpans;
  if (result.result === "delivered" && result.partialSuccess) {
    rejected += result.partialSuccess.rejectedSpans;
    if (result.partialSuccess.errorMessage) messages.push(`Braintrust: ${result.partialSuccess.errorMessage}`);
  }
  if (result.result === "dead_lettered") {
    rejected += BigInt(result.deadLetter.spans);
    messages.push(
      `${spanCount(result.deadLetter.spans)} kept as dead letter ${result.deadLetter.id} for an operator to replay: ${result.deadLetter.reason}`,
    );
  }
  if (result.result === "rejected") {
    rejected += BigInt(result.spans);
    messages.push(
      `${spanCount(result.spans)} for ${result.parent} not kept, since Braintrust refused them and has not yet accepted the client's key: ${result.reason}`,
    );
  }
  if (result.result === "not_sent") {
    rejected += BigInt(result.spans);
    messages.push(
      `${spanCount(result.spans)} for ${result.parent} not sent, since Braintrust refused all spans sent with the client's key to the request's first parents and has not yet accepted the key`,
    );
  }
  if (result.result === "refused") {
    rejected += BigInt(result.spans);
    messages.push(
      `${spanCount(result.spans)} for ${result.parent} not kept, since Braintrust refused the client's key: ${result.refusal.message}`,
    );
  }
  return { rejectedSpans: rejected, errorMessage: messages.join("; ") };
}

function spanCount(count: number): string {
  return count === 1 ? "1 span" : `${count} spans`;
}
