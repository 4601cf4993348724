import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema, type ExportTraceServiceRequest } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { SpanSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { planDeliveries } from "../src/deliver/plan.js";
import { locateSpans, spanShape } from "../src/deliver/splice.js";
import { processSpans } from "../src/process/pipeline.js";
import { decodeExportRequest } from "../src/receive/decode.js";
import { rejectInvalidSpans } from "../src/receive/validate.js";
import { StoredTenantSchema } from "../src/tenants/schema.js";
import { attr, spanWith } from "./support/traces.js";
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

/**
 * The upstream requests for `body` twice: through the fast path (spliced from the bytes) and the
 * path that encodes anew (as JSON input takes), per parent.
 */
function bothPaths(body: Uint8Array, config: Record<string, unknown>): Array<[string, Uint8Array, Uint8Array]> {
  const tenant = { ...StoredTenantSchema.parse({ parent: "project_name:default", api_url: "https://api.braintrust.dev", created_at: "", updated_at: "", ...config }), id: "t" };
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
      credential: { mode: "passthrough", apiKey: "k" },
      config: { upstreamCompression: "auto" },
    });
  };
  const fast = run(true);
  const slow = run(false);
  expect(fast.map((d) => d.parent)).toEqual(slow.map((d) => d.parent));
  return fast.map((d, i) => [d.parent, d.payload.protobuf, slow[i]!.payload.protobuf]);
}

/** A varied request from a seed: resources, scopes, traces across them, tfy.* spans, unknown fields, a bad id now and then. */
function variedRequest(seed: number): ExportTraceServiceRequest {
  let state = seed;
  const next = (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  const traces = Array.from({ length: 1 + next(4) }, () => crypto.getRandomValues(new Uint8Array(16)));
  return create(ExportTraceServiceRequestSchema, {
    resourceSpans: Array.from({ length: 1 + next(3) }, (_, r) => ({
      resource: { attributes: [attr("service.name", `svc-${r}`)] },
      schemaUrl: next(2) ? "https://opentelemetry.io/schemas/1.26.0" : "",
      $unknown: next(3) === 0 ? [{ no: 77, wireType: WireType.Varint, data: new Uint8Array([5]) }] : undefined,
      scopeSpans: Array.from({ length: 1 + next(3) }, (_, s) => ({
        scope: { name: `scope-${s}`, version: "1" },
        spans: Array.from({ length: next(5) }, (_, i) => {
          const span = spanWith(next(2) ? `ChatCompletion ${i}` : `db.query ${i}`, [
            ...(next(2) ? [attr("tfy.span_type", ["Model", "ChatCompletion", "MCP"][next(3)]!), attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content: `${"x".repeat(next(300))} é ✓ 🙂 ${"ü".repeat(next(200))}` }] }))] : []),
            ...(next(3) === 0 ? [attr("tfy.request.metadata", JSON.stringify({ env: next(2) ? "eval" : "prod" }))] : []),
            attr("n", i),
          ], { traceId: traces[next(traces.length)]!, parentSpanId: next(3) ? crypto.getRandomValues(new Uint8Array(8)) : new Uint8Array() });
          if (next(4) === 0) span.$unknown = [{ no: 99, wireType: WireType.LengthDelimited, data: new Uint8Array([2, 0x68, 0x69]) }];
          if (next(10) === 0) span.traceId = new Uint8Array(4);
          return span;
        }),
      })),
    })),
  });
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
    const resourceSpans = [...lengthDelimited(2, scopeSpans), ...lengthDelimited(51, [9]), ...lengthDelimited(1, lengthDelimited(1, lengthDelimited(1, [0x6b])))];
    const body = new Uint8Array(lengthDelimited(1, resourceSpans));

    const [[, fast, slow]] = bothPaths(body, {}) as [[string, Uint8Array, Uint8Array]];

    expect(canonical(fast)).toEqual(canonical(slow));
    expect(fromBinary(ExportTraceServiceRequestSchema, fast).resourceSpans[0]!.$unknown).toHaveLength(1);
  });
});
