import { env } from "cloudflare:workers";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { SpanSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { planDeliveries } from "../src/deliver/plan.js";
import { locateSpans, spanShape } from "../src/deliver/splice.js";
import { relayConfig } from "../src/env.js";
import { prepareDeliveries } from "../src/ingest/prepare-deliveries.js";
import { leavesSpansAlone, processSpans } from "../src/process/process-spans.js";
import { decodeExportRequest } from "../src/receive/decode.js";
import { rejectInvalidSpans } from "../src/receive/validate.js";
import { ProcessingSchema } from "../src/tenants/processing-schema.js";
import type { Tenant } from "../src/tenants/schema.js";
import { tenantRecord } from "./support/tenants.js";
import { attr, spanWith, variedRequest } from "./support/traces.js";
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
 * The upstream requests for `body` twice: through the fast path (spliced from the bytes) and the
 * path that encodes anew (as JSON input takes), per parent.
 */
function bothPaths(body: Uint8Array, config: Record<string, unknown>): Array<[string, Uint8Array, Uint8Array]> {
  const tenant = tenantRecord(config);
  const run = (useSplice: boolean) => {
    const decoded = decodeExportRequest(body, "protobuf");
    const shape = useSplice ? spanShape(decoded) : undefined;
    if (useSplice) expect(locateSpans(body, spanShape(decoded))).toBeDefined();
    const accepted = rejectInvalidSpans(decoded);
    const processed = processSpans(accepted.request, tenant);
    return planDeliveries({
      body: { wire: body, coding: "identity", bytes: body },
      format: "protobuf",
      shape,
      spansRejected: accepted.rejected > 0,
      processed,
      tenant,
      credential: CREDENTIAL,
      config: { upstreamCompression: "auto" },
    });
  };
  const fast = run(true);
  const slow = run(false);
  expect(fast.map((d) => d.parent)).toEqual(slow.map((d) => d.parent));
  return fast.map((d, i) => [d.parent, d.payload.protobuf, slow[i]!.payload.protobuf]);
}

describe("the fast path", () => {
  it.each(Object.entries(TENANTS))("decodes to exactly what encoding anew produces, on varied payloads (%s)", (_name, config) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        const body = toBinary(ExportTraceServiceRequestSchema, variedRequest(seed));
        for (const [parent, fast, slow] of bothPaths(body, config)) expect(canonical(fast), parent).toEqual(canonical(slow));
      }),
      { seed: 6, numRuns: 60 },
    );
  });

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
      const { deliveries, rejections } = prepareDeliveries(
        { wire: bytes, coding: "identity", bytes },
        "protobuf",
        tenant,
        CREDENTIAL,
        relayConfig(env),
      );
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
    const refinements: Record<string, unknown> = { keep_source_attributes: true };
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
