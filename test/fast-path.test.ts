import { env } from "cloudflare:workers";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { type Span, SpanSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { deliveriesAlone } from "../scripts/lib/pipeline.js";
import { tenantRecord } from "../scripts/lib/tenants.js";
import { attr, spansOf } from "../scripts/lib/traces.js";
import { hex } from "../src/encoding/bytes.js";
import { relayConfig } from "../src/env.js";
import { prepareDeliveries } from "../src/ingest/prepare-deliveries.js";
import { leavesSpansAlone } from "../src/process/process-spans.js";
import { applyTranslation, translateSpan } from "../src/process/translate.js";
import { allAtOnce } from "../src/receive/turns.js";
import { ProcessingSchema } from "../src/tenants/processing-schema.js";
import type { Tenant } from "../src/tenants/schema.js";
import { attributesOf, spanWith, variedRequest } from "./support/traces.js";
import { lengthDelimited } from "./support/wire.js";

/** Canonical bytes of a decoded request: equal exactly when the requests are (unknown fields included). */
const canonical = (bytes: Uint8Array) => toBinary(ExportTraceServiceRequestSchema, fromBinary(ExportTraceServiceRequestSchema, bytes));

const TENANTS = {
  "single parent": {},
  "translation off": { translate: false },
  "three parents": {
    routes: [
      { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:evals" },
      { match: { field: "resource.service.name", equals: "svc-1" }, parent: "project_name:svc-1" },
    ],
  },
  "non-AI filter": { drop_non_ai_spans: true },
} as const;

const CREDENTIAL = { mode: "passthrough", apiKey: "k", trusted: true } as const;

/**
 * The upstream requests for `body`, per parent, twice: as the relay makes them (the body itself,
 * or copied byte ranges of it; a routing tenant's traces as the request alone decides them) and as a
 * plain reference makes them: the body decoded whole, each delivered span translated in memory when
 * the tenant translates, and the request encoded anew.
 */
function bothPaths(body: Uint8Array, settings: Record<string, unknown>): Array<[string, Uint8Array, Uint8Array]> {
  const tenant = tenantRecord(settings);
  const deliveries = deliveriesAlone({ wire: body, coding: "identity", bytes: body }, "protobuf", tenant, CREDENTIAL, relayConfig(env));
  return deliveries.map((d) => {
    // Untouched: the body itself, empty scopes and all, where the reference has any parent of zeros left out.
    if (d.payload.protobuf === body) {
      const whole = fromBinary(ExportTraceServiceRequestSchema, body);
      withoutZeroParents(whole);
      return [d.parent, body, toBinary(ExportTraceServiceRequestSchema, whole)];
    }
    const delivered = new Set(spansOf(fromBinary(ExportTraceServiceRequestSchema, d.payload.protobuf)).map((s) => hex(s.spanId)));
    const input = fromBinary(ExportTraceServiceRequestSchema, body);
    const reference = create(ExportTraceServiceRequestSchema, {
      resourceSpans: input.resourceSpans
        .map((rs) => ({
          ...rs,
          scopeSpans: rs.scopeSpans
            .map((ss) => ({ ...ss, spans: ss.spans.filter((span) => delivered.has(hex(span.spanId))) }))
            .filter((ss) => ss.spans.length > 0),
        }))
        .filter((rs) => rs.scopeSpans.length > 0),
    });
    withoutZeroParents(reference);
    // A gateway request span whose parent is not in the request becomes its trace's root (README, keep_caller_parent).
    const sentIds = new Set(spansOf(input).map((span) => hex(span.spanId)));
    const requestSpan = (span: Span) =>
      ["ChatCompletion", "Completion", "Embedding", "Rerank", "AgentResponse"].includes(attributesOf(span)["tfy.span_type"] as string);
    if (tenant.translate)
      for (const span of spansOf(reference)) {
        applyTranslation(span, translateSpan(span, { keepSourceAttributes: tenant.keep_source_attributes }));
        if (requestSpan(span) && span.parentSpanId.length > 0 && !sentIds.has(hex(span.parentSpanId))) span.parentSpanId = new Uint8Array();
      }
    return [d.parent, d.payload.protobuf, toBinary(ExportTraceServiceRequestSchema, reference)];
  });
}

/** A parent of zeros is none: the span goes as a root, without it (README, "Routes, translation, filtering and redaction"). */
function withoutZeroParents(request: ExportTraceServiceRequest): void {
  for (const span of spansOf(request)) if (span.parentSpanId.every((byte) => byte === 0)) span.parentSpanId = new Uint8Array();
}

describe("the fast path", () => {
  it.each(Object.entries(TENANTS))(
    "sends exactly what decoding whole and encoding anew would, on varied payloads (%s)",
    (_name, config) => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
          const body = toBinary(ExportTraceServiceRequestSchema, variedRequest(seed));
          for (const [parent, fast, slow] of bothPaths(body, config)) expect(canonical(fast), parent).toEqual(canonical(slow));
        }),
        { seed: 6, numRuns: 60 },
      );
    },
  );

  it.each(Object.entries(TENANTS))(
    "sends a parent of zeros as none, and the rest exactly as decoding whole and encoding anew would (%s)",
    (_name, config) => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
          const request = variedRequest(seed);
          // Every other span's parent zeros, roots' as converters send them, children's as a root's.
          for (const [i, span] of spansOf(request).entries()) if (i % 2 === 0) span.parentSpanId = new Uint8Array(8);
          const body = toBinary(ExportTraceServiceRequestSchema, request);
          for (const [parent, fast, slow] of bothPaths(body, config)) expect(canonical(fast), parent).toEqual(canonical(slow));
        }),
        { seed: 8, numRuns: 60 },
      );
    },
  );

  it("copies fields in whatever order the sender wrote them, unknown ones included", () => {
    const span = toBinary(SpanSchema, spanWith("Model: x", [attr("tfy.span_type", "Model")]));
    // ResourceSpans with scope_spans before resource and an unknown field between; ScopeSpans with spans before scope.
    const scopeSpans = [...lengthDelimited(2, span), ...lengthDelimited(1, lengthDelimited(1, [0x73])), ...lengthDelimited(42, [1, 2])];
    const resourceSpans = [
      ...lengthDelimited(2, scopeSpans),
      ...lengthDelimited(51, [9]),
      ...lengthDelimited(1, lengthDelimited(1, lengthDelimited(1, [0x6b]))),
    ];
    const body = new Uint8Array(lengthDelimited(1, resourceSpans));

    const [[, fast, slow]] = bothPaths(body, {}) as [[string, Uint8Array, Uint8Array]];

    expect(canonical(fast)).toEqual(canonical(slow));
    expect(fromBinary(ExportTraceServiceRequestSchema, fast).resourceSpans[0]!.$unknown).toHaveLength(1);
  });

  it("forwards, for a tenant that changes nothing, exactly what decoding would have: bytes, spans and rejections", () => {
    const checked = tenantRecord({ translate: false });
    // A route that never matches makes the relay decode, and then change nothing all the same.
    const decoding = tenantRecord({
      translate: false,
      routes: [{ match: { field: "span_name", equals: "no such span" }, parent: "project_name:never" }],
    });
    expect([leavesSpansAlone(checked), leavesSpansAlone(decoding)]).toEqual([true, false]);
    const plan = (bytes: Uint8Array, tenant: Tenant) => {
      const body = { wire: bytes, coding: "identity", bytes } as const;
      const { rejections } = allAtOnce(prepareDeliveries(body, "protobuf", tenant, CREDENTIAL, relayConfig(env), env));
      // A routing tenant's traces as the request alone decides them, as the first request of each trace goes.
      const deliveries = deliveriesAlone(body, "protobuf", tenant, CREDENTIAL, relayConfig(env));
      return { rejections, deliveries: deliveries.map(({ id: _id, ...delivery }) => delivery) };
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        const bytes = toBinary(ExportTraceServiceRequestSchema, variedRequest(seed));
        expect(plan(bytes, checked)).toEqual(plan(bytes, decoding));
      }),
      { seed: 7, numRuns: 100 },
    );
  });

  it("decodes for every processing option a tenant can set: none is missed by the shortcut", () => {
    const options: Record<string, unknown> = {
      routes: [{ match: { field: "span_name", exists: true }, parent: "project_name:routed" }],
      parent_from_attribute: true,
      translate: true,
      drop_non_ai_spans: true,
      redact: { keys: [{ pattern: "secret.*" }] },
    };
    // Options that only refine another one change nothing alone.
    const refinements: Record<string, unknown> = { keep_source_attributes: true, keep_caller_parent: true, trace_wait_seconds: 60 };
    // A new option in the schema must be added here, and to leavesSpansAlone if it changes spans.
    expect(
      Object.keys(ProcessingSchema.shape)
        .filter((key) => key !== "rate_limit")
        .sort(),
    ).toEqual([...Object.keys(options), ...Object.keys(refinements)].sort());
    for (const [key, value] of Object.entries(options))
      expect(leavesSpansAlone(tenantRecord({ translate: false, [key]: value })), key).toBe(false);
    for (const [key, value] of Object.entries(refinements))
      expect(leavesSpansAlone(tenantRecord({ translate: false, [key]: value })), key).toBe(true);
    expect(leavesSpansAlone(tenantRecord({ translate: false, redact: { values: ["emails"] } }))).toBe(false);
    expect(leavesSpansAlone(tenantRecord({ translate: false, rate_limit: { requests_per_second: 5, burst: 5 } }))).toBe(true);
  });
});
