import type { RelayConfig } from "../env.js";
import { RelayError } from "../http/errors.js";
import { logEvent } from "../log/events.js";
import type { OfferedKey } from "../tenants/accepted-keys.js";
import { postTraces } from "./braintrust.js";
import { clientKeyRefused } from "./during-request.js";
import { nextStep } from "./next-step.js";

/**
 * Asks Braintrust whether it takes a passthrough key it has not accepted yet, with an export of no
 * spans at `parent` (an empty ExportTraceServiceRequest, which OTLP receivers answer 200), before
 * the relay reads a body over what such a key may send: OTLP/HTTP clients never resend a request
 * answered 413, so refusing the body would lose it. Taken: this body is read under the tenant's full
 * limits, and nothing more: an answer to no spans is not Braintrust taking spans, so the key earns
 * trust (durable delivery, deciding traces) only as any key does, when spans sent with it are taken.
 * Refused: the client hears Braintrust's 401 or 403, as for any request. Not answered: 503 with
 * Retry-After, and the client keeps its spans. Braintrust refusing the empty export itself: false,
 * and the 413 stands. The answer is decided as a delivery attempt's is (deliver/next-step.ts), for a
 * key not yet trusted.
 */
export async function braintrustTakesKey(key: OfferedKey, parent: string, config: RelayConfig): Promise<boolean> {
  const started = Date.now();
  const outcome = await postTraces(
    { apiUrl: key.apiUrl, apiKey: key.apiKey, parent },
    { protobuf: new Uint8Array(), compress: false },
    { timeoutMs: config.upstreamTimeoutMs, allowInsecureUpstream: config.allowInsecureUpstream },
  );
  const next = nextStep(
    outcome,
    { attempts: 1, serverErrors: 0, spans: 0, mode: "passthrough", compressed: false, trusted: false },
    config.retry,
  );
  logEvent({
    event: "client_key_checked",
    tenant: key.tenantId,
    parent,
    outcome: outcome.kind,
    upstream_status: outcome.status ?? null,
    latency_ms: Date.now() - started,
    ...(outcome.kind === "delivered" ? {} : { reason: outcome.reason }),
  });
  switch (next.step) {
    case "done":
      return true;
    case "refuse_client":
      throw clientKeyRefused(outcome);
    case "hand_back":
      throw new RelayError(
        "unavailable",
        `the body is over what an API key Braintrust has not yet accepted may send, and Braintrust, asked whether it takes the key, did not answer (${next.reason}): retry later`,
        { retryAfterSeconds: next.retryAfterSeconds },
      );
    default:
      return false;
  }
}
