import { toBinary } from "@bufbuild/protobuf";
import { Hono } from "hono";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { postTraces, type OtlpPayload } from "../deliver/braintrust.js";
import type { DeliveryOutcome } from "../deliver/outcome.js";
import { relayConfig } from "../env.js";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { authenticateIngest, type BraintrustCredential } from "../tenants/credentials.js";
import { requireTenantId, TenantStore } from "../tenants/store.js";
import { readBody, type RequestBody } from "./body.js";
import { contentCodingOf, requireOtlpFormat, type OtlpFormat } from "./content-type.js";
import { decodeExportRequest } from "./decode.js";
import { otlpSuccessResponse, type PartialSuccess } from "./respond.js";
import { rejectInvalidSpans, type AcceptedSpans } from "./validate.js";

/** `POST /t/:tenant/v1/traces`: OTLP/HTTP in, Braintrust out. */
export const tracesRoute = new Hono<AppEnv>();

/** Retry-After when Braintrust gives none: long enough not to hammer it, short enough to recover quickly. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

tracesRoute.post("/:tenant/v1/traces", async (c) => {
  const tenantId = requireTenantId(c.req.param("tenant"));
  const format = requireOtlpFormat(c.req.header("content-type"));
  const coding = contentCodingOf(c.req.header("content-encoding"));
  const config = relayConfig(c.env);
  const tenant = await new TenantStore(c.env.TENANTS, config.tenantCacheTtlSeconds).get(tenantId);
  if (!tenant) throw new RelayError("not_found", `no such tenant: ${tenantId}`);
  const credential = await authenticateIngest(tenant, c.req.header("authorization"), c.env.ENCRYPTION_KEY);
  const body = await readBody(c.req.raw, coding, config);
  const accepted = rejectInvalidSpans(decodeExportRequest(body.bytes, format));
  const ownRejections: PartialSuccess = { rejectedSpans: BigInt(accepted.rejected), errorMessage: accepted.rejectionMessage };
  if (accepted.accepted === 0) return otlpSuccessResponse(format, ownRejections);

  const outcome = await postTraces(
    { apiUrl: tenant.api_url, apiKey: credential.apiKey, parent: tenant.parent },
    payloadFor(body, format, accepted),
    { timeoutMs: config.upstreamTimeoutMs, allowInsecureUpstream: config.allowInsecureUpstream },
  );
  return respondToOutcome(outcome, credential, format, ownRejections);
});

tracesRoute.all("/:tenant/v1/traces", (c) => {
  throw new RelayError("method_not_allowed", `${c.req.method} is not supported here: send traces with POST`, { allow: "POST" });
});

/**
 * A protobuf request that lost no spans goes upstream as the very bytes that came in (unknown
 * fields and all), and a gzip one without even recompressing; anything else is encoded anew.
 */
function payloadFor(body: RequestBody, format: OtlpFormat, accepted: AcceptedSpans): OtlpPayload {
  if (format === "protobuf" && accepted.rejected === 0) {
    return body.coding === "gzip" ? { protobuf: body.bytes, gzipped: body.wire } : { protobuf: body.bytes };
  }
  return { protobuf: toBinary(ExportTraceServiceRequestSchema, accepted.request) };
}

function respondToOutcome(outcome: DeliveryOutcome, credential: BraintrustCredential, format: OtlpFormat, own: PartialSuccess): Response {
  switch (outcome.kind) {
    case "delivered":
      return otlpSuccessResponse(format, mergePartialSuccess(own, outcome.partialSuccess));
    case "retryable":
      throw new RelayError("unavailable", `Braintrust is unavailable, retry later: ${outcome.reason}`, {
        retryAfterSeconds: Math.min(Math.max(outcome.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS, 1), 300),
      });
    case "rejected":
      throw rejectionError(outcome, credential);
  }
}

function rejectionError(outcome: Extract<DeliveryOutcome, { kind: "rejected" }>, credential: BraintrustCredential): RelayError {
  switch (outcome.fault) {
    case "credentials":
      // Only a passthrough client can fix its own key; a stored key is the operator's to fix.
      if (credential.mode === "passthrough") return new RelayError(outcome.status === 403 ? "forbidden" : "unauthenticated", outcome.reason);
      return new RelayError("upstream_rejected", `Braintrust refused the tenant's stored API key; an operator must update it. ${outcome.reason}`);
    case "data":
      return new RelayError("malformed", outcome.reason);
    case "too_large":
      return new RelayError("too_large", outcome.reason);
    case "config":
      return new RelayError("upstream_rejected", outcome.reason);
  }
}

function mergePartialSuccess(own: PartialSuccess, upstream: PartialSuccess | undefined): PartialSuccess {
  if (!upstream) return own;
  return {
    rejectedSpans: own.rejectedSpans + upstream.rejectedSpans,
    errorMessage: [own.errorMessage, upstream.errorMessage && `Braintrust: ${upstream.errorMessage}`].filter(Boolean).join("; "),
  };
}
