import { toBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { RelayConfig } from "../env.js";
import type { OtlpFormat, RequestBody } from "../otlp/format.js";
import { countSpans, type PlacedSpan, placedSpans, regroup } from "../otlp/placed-spans.js";
import type { ProcessedSpans } from "../process/process-spans.js";
import type { BraintrustCredential } from "../tenants/credentials.js";
import type { Tenant } from "../tenants/schema.js";
import type { Delivery } from "./message.js";
import { encodeAppended, type LocatedSpans, locateSpans, type SpanShape, splicedSizes, spliceRequest } from "./splice.js";
import { chunkBySize, type EncodedChunk, splitBySize } from "./split.js";

/** Braintrust takes at most 10 MB per request and answers more with 413; this leaves room for estimates. */
export const MAX_UPSTREAM_REQUEST_BYTES = 9_000_000;

export interface PlanInput {
  body: RequestBody;
  format: OtlpFormat;
  /** The decoded spans as they sat in the body (protobuf only), to find their bytes when needed. */
  shape: SpanShape | undefined;
  /** Whether validation took spans out of the request. */
  spansRejected: boolean;
  processed: ProcessedSpans;
  tenant: Tenant;
  credential: BraintrustCredential;
  config: Pick<RelayConfig, "upstreamCompression">;
}

/**
 * The upstream requests for one ingest request: one per parent, each under Braintrust's limit.
 * Bytes that did not change are never encoded or compressed again: an untouched request goes out
 * as it came (gzip ones without recompressing), and otherwise each request is spliced from the
 * original bytes with only translated attributes encoded. Encoding anew is left for JSON input,
 * redaction, and pieces split to fit the limit.
 */
export function planDeliveries({ body, format, shape, spansRejected, processed, tenant, credential, config }: PlanInput): Delivery[] {
  const [only] = processed.batches;
  if (format === "protobuf" && !spansRejected && !processed.changed && processed.batches.length === 1 && only) {
    const unchanged = unchangedDelivery(body, only.parent, countSpans(only.request), { tenant, credential, config });
    if (unchanged) return [unchanged];
  }
  const base = addressedTo(tenant, credential);
  const located = shape && !processed.rewritten ? locateSpans(body.bytes, shape) : undefined;
  const splice = located ? { located, appended: encodeAppended(processed.appended) } : undefined;
  return processed.batches.flatMap(({ parent, request }) => {
    const placed = placedSpans(request);
    if (placed.length === 0) return [];
    const pieces = splice ? splicedPieces(splice.located, splice.appended, placed) : encodedPieces(placed);
    return pieces.map((piece) => ({
      ...base,
      id: crypto.randomUUID(),
      parent,
      payload: { protobuf: piece.protobuf, compress: compressesEncoded(config, piece.protobuf) },
      spans: piece.spans,
    }));
  });
}

/**
 * The protobuf request exactly as it came, to one parent; undefined when it is over the upstream
 * limit and has to be split.
 */
export function unchangedDelivery(
  body: RequestBody,
  parent: string,
  spans: number,
  { tenant, credential, config }: Pick<PlanInput, "tenant" | "credential" | "config">,
): Delivery | undefined {
  if (body.bytes.byteLength > MAX_UPSTREAM_REQUEST_BYTES) return undefined;
  const compress = compressesEncoded(config, body.bytes);
  const payload = body.coding === "gzip" ? { protobuf: body.bytes, compress, gzipped: body.wire } : { protobuf: body.bytes, compress };
  return { ...addressedTo(tenant, credential), id: crypto.randomUUID(), parent, payload, spans };
}

/** Whose deliveries these are and where they go. */
function addressedTo(
  tenant: Tenant,
  credential: BraintrustCredential,
): Pick<Delivery, "tenantId" | "incarnation" | "apiUrl" | "credential"> {
  return { tenantId: tenant.id, incarnation: tenant.incarnation, apiUrl: tenant.api_url, credential };
}

/**
 * On Workers CPU is what is limited and billed, egress is not: bytes the relay had to encode go
 * out uncompressed unless the operator asks for gzip; the client's own gzip bytes go as they are.
 * Bytes over the limit (a single span, which cannot be split) are compressed all the same: sent
 * as they are they would only earn a 413.
 */
function compressesEncoded(config: PlanInput["config"], protobuf: Uint8Array): boolean {
  return config.upstreamCompression === "gzip" || protobuf.byteLength > MAX_UPSTREAM_REQUEST_BYTES;
}

/** One upstream request's bytes and how many spans they carry. */
type Piece = Pick<EncodedChunk, "protobuf" | "spans">;

/** A parent's spans spliced from the original bytes, in pieces under the upstream limit. */
function splicedPieces(located: LocatedSpans, appended: Map<Span, Uint8Array[]>, placed: PlacedSpan[]): Piece[] {
  return chunkBySize(placed, splicedSizes(located, appended), MAX_UPSTREAM_REQUEST_BYTES).flatMap((chunk) => {
    const protobuf = spliceRequest(located, chunk, appended);
    return protobuf ? [{ protobuf, spans: chunk.length }] : encodedPieces(chunk);
  });
}

/** A parent's spans encoded anew, in pieces under the upstream limit. */
function encodedPieces(placed: PlacedSpan[]): Piece[] {
  const request = regroup(placed);
  const protobuf = toBinary(ExportTraceServiceRequestSchema, request);
  return protobuf.byteLength <= MAX_UPSTREAM_REQUEST_BYTES
    ? [{ protobuf, spans: placed.length }]
    : splitBySize(request, MAX_UPSTREAM_REQUEST_BYTES);
}
