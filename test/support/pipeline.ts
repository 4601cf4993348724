import { fromBinary } from "@bufbuild/protobuf";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { ResourceSpans, ScopeSpans } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { deliveriesAlone } from "../../scripts/lib/pipeline.js";
import { tenantRecord } from "../../scripts/lib/tenants.js";
import { toOtlpJson, toProtobuf } from "../../scripts/lib/traces.js";
import type { Delivery } from "../../src/deliver/message.js";
import { relayConfig } from "../../src/env.js";
import { prepareDeliveries } from "../../src/ingest/prepare-deliveries.js";
import type { OtlpFormat } from "../../src/otlp/format.js";
import type { IncomingResource, IncomingScope } from "../../src/otlp/incoming.js";
import type { ProcessedSpans } from "../../src/process/process-spans.js";
import { readSpans } from "../../src/receive/read-spans.js";
import { allAtOnce } from "../../src/receive/turns.js";
import type { SpanRejections } from "../../src/receive/validate.js";

/** The relay's reader and pipeline run in process, as the unit tests read a request and judge what would be sent upstream. */

/** What the reader hands over, gathered back into one request (each span under its resource and scope). */
export function readRequest(bytes: Uint8Array, format: OtlpFormat): { request: ExportTraceServiceRequest; rejections: SpanRejections } {
  const request: ExportTraceServiceRequest = { $typeName: ExportTraceServiceRequestSchema.typeName, resourceSpans: [] };
  const resources = new Map<IncomingResource, ResourceSpans>();
  const scopes = new Map<IncomingScope, ScopeSpans>();
  const { rejections } = allAtOnce(
    readSpans(bytes, format, ({ span, scope }) => {
      let resourceSpans = resources.get(scope.resource);
      if (!resourceSpans) {
        resourceSpans = { ...scope.resource.resourceSpans, scopeSpans: [] };
        resources.set(scope.resource, resourceSpans);
        request.resourceSpans.push(resourceSpans);
      }
      let scopeSpans = scopes.get(scope);
      if (!scopeSpans) {
        scopeSpans = { ...scope.scopeSpans, spans: [] };
        scopes.set(scope, scopeSpans);
        resourceSpans.scopeSpans.push(scopeSpans);
      }
      scopeSpans.spans.push(span);
    }),
  );
  return { request, rejections };
}

interface Relayed {
  /** Each upstream request, decoded, with its parent. */
  requests: Array<{ parent: string; request: ExportTraceServiceRequest }>;
  deliveries: Delivery[];
  /** The request's own bytes, to tell whether a delivery is them, untouched. */
  body: Uint8Array;
}

const CREDENTIAL = { mode: "passthrough", apiKey: "k", trusted: true } as const;

/** The model calls the relay counts in these protobuf bytes, for a tenant at its defaults, as the ingest route counts them. */
export function usageCounted(body: Uint8Array): ProcessedSpans["usage"] {
  return allAtOnce(
    prepareDeliveries({ wire: body, coding: "identity", bytes: body }, "protobuf", tenantRecord(), CREDENTIAL, relayConfig({} as Env), {}),
  ).usage;
}

/** What the relay would send upstream for `request` (or these protobuf bytes, as they are) from a tenant with these settings. */
export function relayed(
  request: ExportTraceServiceRequest | Uint8Array,
  settings: Record<string, unknown> = {},
  format: OtlpFormat = "protobuf",
): Relayed {
  const body =
    request instanceof Uint8Array
      ? request
      : format === "protobuf"
        ? toProtobuf(request)
        : new TextEncoder().encode(JSON.stringify(toOtlpJson(request)));
  const config = relayConfig({} as Env);
  const deliveries = deliveriesAlone({ wire: body, coding: "identity", bytes: body }, format, tenantRecord(settings), CREDENTIAL, config);
  return {
    requests: deliveries.map((d) => ({ parent: d.parent, request: fromBinary(ExportTraceServiceRequestSchema, d.payload.protobuf) })),
    deliveries,
    body,
  };
}
