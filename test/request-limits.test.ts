import { create, fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { attr, toOtlpJson, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { oneSpanOfTinyAttributes, requestOfSpans, WORST_SHAPES, worstRequest } from "../scripts/lib/worst-shapes.js";
import { concat } from "../src/encoding/bytes.js";
import { MAX_MESSAGES_PER_SPAN, MAX_SPANS_PER_REQUEST } from "../src/receive/request-limits.js";
import { createTenant, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { exportResponseOf, requestOf, rpcStatusOf, spanIdsOf, spanWith } from "./support/traces.js";

/** What a request may hold beyond its size: refused up front with 413 naming the limit, whatever the tenant does with spans. */
const SETUPS = {
  "forwarding spans as they came": { translate: false },
  translating: {},
  "routing and redacting": {
    redact: { values: ["emails"] },
    routes: [{ match: { field: "span_name", equals: "Model" }, parent: "experiment_id:e" }],
  },
};

/** A request of one span of more attributes than a span may hold. */
const oversizedSpan = () => oneSpanOfTinyAttributes(4 * MAX_MESSAGES_PER_SPAN);

const tooManySpans = `request holds more than ${MAX_SPANS_PER_REQUEST} spans, the limit per request: export smaller batches`;

describe.each(Object.entries(SETUPS))("a tenant %s", (_setup, config) => {
  it("takes a request of exactly the span limit and delivers every span", async () => {
    const tenant = await createTenant({ config });

    const response = await sendTraces(tenant, requestOfSpans(WORST_SHAPES["tiny spans"]!, MAX_SPANS_PER_REQUEST));

    expect(response.status).toBe(200);
    const received = await standin.received(tenant.apiKey);
    expect(received.reduce((n, r) => n + r.request.resourceSpans[0]!.scopeSpans[0]!.spans.length, 0)).toBe(MAX_SPANS_PER_REQUEST);
  });

  it.each([
    ["protobuf", "application/x-protobuf", WORST_SHAPES["tiny spans"]!],
    ["JSON", "application/json", { ...WORST_SHAPES["tiny spans"]!, format: "json" as const }],
  ])("refuses one span more, in %s, with 413 naming the limit, and forwards nothing", async (_format, contentType, shape) => {
    const tenant = await createTenant({ config });

    const response = await sendTraces(tenant, requestOfSpans(shape, MAX_SPANS_PER_REQUEST + 1), { contentType });

    expect(response.status).toBe(413);
    expect((await rpcStatusOf(response)).message).toBe(tooManySpans);
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
  });

  it.each([
    ["protobuf", "application/x-protobuf", (trace: ExportTraceServiceRequest) => concat([toProtobuf(trace), oversizedSpan()])],
    [
      "JSON",
      "application/json",
      (trace: ExportTraceServiceRequest) => {
        const request = toOtlpJson(trace) as { resourceSpans: unknown[] };
        const oversized = toOtlpJson(fromBinary(ExportTraceServiceRequestSchema, oversizedSpan())) as { resourceSpans: unknown[] };
        return JSON.stringify({ resourceSpans: [...request.resourceSpans, ...oversized.resourceSpans] });
      },
    ],
  ])(
    "rejects a span of more attributes than a span may hold on its own, unread, in %s: the rest of the request is delivered",
    async (_format, contentType, body) => {
      const tenant = await createTenant({ config });
      const trace = trueFoundryTrace();

      const response = await sendTraces(tenant, body(trace), { contentType });

      expect(response.status).toBe(200);
      const answer = contentType === "application/json" ? await response.json() : await exportResponseOf(response);
      expect(answer).toMatchObject({
        partialSuccess: {
          errorMessage: `rejected 1 of 4 spans: span "Model": a span holds more than ${MAX_MESSAGES_PER_SPAN} attributes, events, links and values in them, the limit per span`,
        },
      });
      const received = await standin.received(tenant.apiKey);
      expect(received.flatMap((r) => spanIdsOf(r.request)).sort()).toEqual(spanIdsOf(trace).sort());
    },
  );
});

describe("a tenant whose key rule lengthens every short value", () => {
  const lengthening = { translate: false, redact: { keys: [{ pattern: "*", action: "replace", replacement: "x".repeat(100) }] } };

  /** Requests of many tiny attributes, each of which the rule makes a value of 100 characters. */
  const manyTinyAttributes = {
    "in spans": () => worstRequest(WORST_SHAPES["tiny attributes"]!, 2 * 1024 * 1024),
    "in resources and scopes": () => {
      const attributes = Array.from({ length: 1000 }, (_, i) => attr(`k${i}`, ""));
      return toProtobuf(
        create(ExportTraceServiceRequestSchema, {
          resourceSpans: Array.from({ length: 100 }, () => ({
            resource: { attributes },
            scopeSpans: [{ scope: { name: "s", attributes }, spans: [spanWith("s", [])] }],
          })),
        }),
      );
    },
  };

  it.each(Object.entries(manyTinyAttributes))(
    "refuses a request its processing would more than triple, its values %s, with 413, and forwards nothing",
    async (_where, request) => {
      const tenant = await createTenant({ config: lengthening });
      const body = request();

      const response = await sendTraces(tenant, body);

      expect(response.status).toBe(413);
      expect((await rpcStatusOf(response)).message).toBe(
        `request of ${body.byteLength} bytes would more than triple in the tenant's processing, past what one request may take (its redaction lengthens many short values); export smaller batches`,
      );
      expect(await standin.attempts(tenant.apiKey)).toEqual([]);
    },
  );

  it("delivers a small request of such values: a request may grow by 1 MiB whatever its size", async () => {
    const tenant = await createTenant({ config: lengthening });
    const request = requestOf([
      spanWith(
        "s",
        Array.from({ length: 2000 }, (_, i) => attr(`k${i}`, "")),
      ),
    ]);

    const response = await sendTraces(tenant, toProtobuf(request));

    expect(response.status).toBe(200);
    const [received] = await standin.received(tenant.apiKey);
    const values = received!.request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.map((a) => a.value?.value.value);
    expect(values).toEqual(Array.from({ length: 2000 }, () => "x".repeat(100)));
  });
});
