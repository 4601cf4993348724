import type { Delivery } from "../deliver/message.js";
import { planDeliveries, unchangedDelivery } from "../deliver/plan.js";
import type { RelayConfig } from "../env.js";
import type { OtlpFormat, RequestBody } from "../otlp/format.js";
import { type OutgoingSpan, outgoingSpansOf } from "../otlp/outgoing.js";
import type { PartialSuccess } from "../otlp/partial-success.js";
import { maskedText } from "../process/mask-values.js";
import { leavesSpansAlone, type ProcessedSpans, type RequestTrace, type RequestTraces, SpanProcessor } from "../process/process-spans.js";
import { compileRedaction } from "../process/redact.js";
import { readSpans } from "../receive/read-spans.js";
import { grownTooLarge, MAX_SPANS_PER_REQUEST, maxOutgoingBytes, tooManySpans } from "../receive/request-limits.js";
import { textRepaired } from "../receive/text-repair.js";
import { passIsAStep, type Steps } from "../receive/turns.js";
import { checkWire, type WireCheck } from "../receive/wire-check.js";
import type { BraintrustCredential, RelaySecrets } from "../tenants/credentials.js";
import type { Tenant } from "../tenants/schema.js";

interface PreparedRequest {
  /** The body the deliveries were cut from: the request's, or a copy with its text mended (text-repair.ts). */
  body: RequestBody;
  deliveries: Delivery[];
  /** Spans refused here, for the client's partial_success. */
  rejections: PartialSuccess;
  /** Why, for the log line: without the long span names the client's message quotes (validate.ts). */
  rejectionsLogged: string;
  /** The model calls translation read, by model, for the tenant's statistics. */
  usage: ProcessedSpans["usage"];
  /**
   * A routing tenant's spans by trace instead of deliveries: where each trace goes is decided
   * across requests (settle-traces.ts), then planned with `planSettled`.
   */
  traces?: RequestTraces;
}

/**
 * All the relay's work on a request between reading the body and sending upstream, with no I/O:
 * read one span at a time (decode, validate) → route, filter, redact, translate → plan one request
 * per parent. In steps (receive/turns.ts): the ingest route runs exactly this, giving other requests
 * their turn between them, the benchmark all at once. `secrets`: the relay's own, which no parent a
 * span names may hold.
 */
export function* prepareDeliveries(
  received: RequestBody,
  format: OtlpFormat,
  tenant: Tenant,
  credential: BraintrustCredential,
  config: RelayConfig,
  secrets: RelaySecrets,
): Steps<PreparedRequest> {
  // When the wire check vouches that the decode would succeed, validation keep every span and no
  // root needs its parent of zeros left out, a tenant that changes nothing needs no decoded spans:
  // the bytes go as they came, split by their ranges when over the upstream limit. Any other
  // tenant's spans are then decoded only as far as its processing reads them. A request without
  // spans takes the full path, which answers it without sending anything.
  const { body, wire } = withTextMended(received, format === "protobuf" ? checkWire(received.bytes) : undefined, config);
  // The wire check (and mending), passes over the whole body, are a step of their own for a body of more than one.
  if (format === "protobuf" && passIsAStep(received.bytes.byteLength)) yield;
  const vouched = wire?.vouched ? wire.spans : undefined;
  if (vouched !== undefined && vouched > 0 && leavesSpansAlone(tenant)) {
    if (vouched > MAX_SPANS_PER_REQUEST) throw tooManySpans();
    const whole = unchangedDelivery(body, tenant.parent, vouched, { tenant, credential, config });
    const rejections = { rejectedSpans: 0n, errorMessage: "" };
    const usage = {};
    if (whole) return { body, deliveries: [whole], rejections, rejectionsLogged: "", usage };
    const processed = { batches: [{ parent: tenant.parent, spans: outgoingSpansOf(body.bytes) }], changed: false, usage };
    return {
      body,
      deliveries: planDeliveries({ body, format, spansRejected: false, processed, tenant, credential, config }),
      rejections,
      rejectionsLogged: "",
      usage,
    };
  }
  const processor = new SpanProcessor(tenant, body.bytes, vouched !== undefined, credential.apiKey, secrets);
  let spans = 0;
  const read = yield* readSpans(
    body.bytes,
    format,
    (incoming) => {
      processor.add(incoming);
      if (processor.outgoingBytes > maxOutgoingBytes(body.bytes.byteLength, ++spans)) throw grownTooLarge(body.bytes.byteLength);
    },
    { vouched: vouched !== undefined, framed: wire !== undefined },
  );
  const validation = read.rejections;
  const rejections = { rejectedSpans: BigInt(validation.rejected), errorMessage: validation.message };
  const redaction = compileRedaction(tenant.redact);
  const rejectionsLogged = validation.loggedMessage((text) => (redaction ? maskedText(text, redaction) : text));
  const byTrace = processor.finishByTrace(read.leftOut);
  if (byTrace) return { body, deliveries: [], rejections, rejectionsLogged, usage: byTrace.usage, traces: byTrace };
  const processed = processor.finish(read.leftOut);
  return {
    body,
    deliveries: planDeliveries({ body, format, spansRejected: validation.rejected > 0, processed, tenant, credential, config }),
    rejections,
    rejectionsLogged,
    usage: processed.usage,
  };
}

/**
 * The request with its text mended when the wire check found it framed but for strings that are not
 * UTF-8 (text-repair.ts), and the check of what it sends; as it came otherwise. One that cannot be
 * mended (over the body limit mended, or too many strings) goes as it came with no check: framed
 * means all its text reads, so the full decode reads it, and rejects the spans its faulty text is in
 * (those under a faulty resource or scope, one without spans among them, left out).
 */
function withTextMended(
  body: RequestBody,
  wire: WireCheck | undefined,
  config: RelayConfig,
): { body: RequestBody; wire: WireCheck | undefined } {
  if (wire === undefined || wire.textValid) return { body, wire };
  const mended = textRepaired(body.bytes, config.maxDecompressedBytes);
  return mended ? { body: { wire: mended, coding: "identity", bytes: mended }, wire: checkWire(mended) } : { body, wire: undefined };
}

/**
 * A routing tenant's spans as batches, one per parent, in the order they arrived: `parentOf` says
 * where each trace goes, or undefined when its spans wait (then left out, so the request's own
 * bytes can no longer be sent as they came). With each trace's own verdict, this is what the
 * request would send were it the only one of its traces.
 */
export function batchesByParent(
  { spans, traceOf, changed, usage }: RequestTraces,
  parentOf: (trace: RequestTrace) => string | undefined,
): ProcessedSpans {
  const byParent = new Map<string, OutgoingSpan[]>();
  let leftOut = false;
  for (const [i, span] of spans.entries()) {
    const parent = parentOf(traceOf[i]!);
    if (parent === undefined) leftOut = true;
    else {
      const batch = byParent.get(parent);
      if (batch) batch.push(span);
      else byParent.set(parent, [span]);
    }
  }
  return { batches: [...byParent].map(([parent, spans]) => ({ parent, spans })), changed: changed || leftOut, usage };
}

/** The deliveries of a routing tenant's request once its traces are settled. */
export function planSettled(
  body: RequestBody,
  format: OtlpFormat,
  rejections: PartialSuccess,
  processed: ProcessedSpans,
  { tenant, credential, config }: { tenant: Tenant; credential: BraintrustCredential; config: RelayConfig },
): Delivery[] {
  return planDeliveries({ body, format, spansRejected: rejections.rejectedSpans > 0n, processed, tenant, credential, config });
}
