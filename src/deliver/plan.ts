import type { RelayConfig } from "../env.js";
import type { OtlpFormat, RequestBody } from "../otlp/format.js";
import { assembleRequest, chunkBySize } from "../otlp/outgoing.js";
import type { ProcessedSpans } from "../process/process-spans.js";
import type { BraintrustCredential } from "../tenants/credentials.js";
import type { Tenant } from "../tenants/schema.js";
import { isWholeGzipOf } from "./gzip.js";
import type { Delivery } from "./message.js";

/** Braintrust takes at most 10 MB per request and answers more with 413; this leaves room for estimates. */
export const MAX_UPSTREAM_REQUEST_BYTES = 9_000_000;

interface PlanInput {
  body: RequestBody;
  format: OtlpFormat;
  /** Whether validation left spans out of the request. */
  spansRejected: boolean;
  processed: ProcessedSpans;
  tenant: Tenant;
  credential: BraintrustCredential;
  config: Pick<RelayConfig, "upstreamCompression">;
}

/**
 * The upstream requests for one ingest request: one per parent, each under Braintrust's limit.
 * Bytes that did not change are never encoded or compressed again: an untouched request goes out
 * as it came (gzip ones without recompressing), and otherwise each request is assembled from the
 * spans' outgoing bytes, mostly ranges of the original.
 */
export function planDeliveries({ body, format, spansRejected, processed, tenant, credential, config }: PlanInput): Delivery[] {
  const [only] = processed.batches;
  if (format === "protobuf" && !spansRejected && !processed.changed && processed.batches.length === 1 && only) {
    const unchanged = unchangedDelivery(body, only.parent, only.spans.length, { tenant, credential, config });
    if (unchanged) return [unchanged];
  }
  const base = addressedTo(tenant, credential);
  return processed.batches.flatMap(({ parent, spans }) =>
    chunkBySize(spans, MAX_UPSTREAM_REQUEST_BYTES).map((chunk) => {
      const protobuf = assembleRequest(body.bytes, chunk);
      return {
        ...base,
        id: crypto.randomUUID(),
        parent,
        payload: { protobuf, compress: compressesEncoded(config, protobuf) },
        spans: chunk.length,
      };
    }),
  );
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
  const payload =
    body.coding === "gzip" && isWholeGzipOf(body)
      ? { protobuf: body.bytes, compress, gzipped: body.wire }
      : { protobuf: body.bytes, compress };
  return { ...addressedTo(tenant, credential), id: crypto.randomUUID(), parent, payload, spans };
}

/** Whose deliveries these are and where they go. */
function addressedTo(
  tenant: Tenant,
  credential: BraintrustCredential,
): Pick<Delivery, "tenantId" | "incarnation" | "apiUrl" | "credential" | "rules"> {
  return { tenantId: tenant.id, incarnation: tenant.incarnation, apiUrl: tenant.api_url, credential, rules: tenant.redact };
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
