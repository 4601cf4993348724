import { clone, type JsonObject, toBinary, toJson } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { SpanSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { spansOf, toOtlpJson, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { viewsByParent } from "./support/parent-views.js";
import { createTenant, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { attributesOf, exportResponseOf, requestOf, spanWith } from "./support/traces.js";
import { holdsBytes } from "./support/wire.js";

/**
 * Two gateway traces in one request, the first one's top span sent with a parent_span_id of zeros,
 * as some exporters and converters send a root's, and a field our schema does not know; and the
 * request Braintrust must get: the same, that parent left out.
 */
function zeroParentRequest(): { sent: ExportTraceServiceRequest; expected: ExportTraceServiceRequest } {
  const sent = trueFoundryTrace();
  sent.resourceSpans.push(...trueFoundryTrace().resourceSpans);
  const [root] = spansOf(sent);
  root!.parentSpanId = new Uint8Array(8);
  root!.$unknown = [{ no: 99, wireType: WireType.LengthDelimited, data: new Uint8Array([2, 0x68, 0x69]) }];
  const expected = clone(ExportTraceServiceRequestSchema, sent);
  spansOf(expected)[0]!.parentSpanId = new Uint8Array();
  return { sent, expected };
}

/** Both traces, listed in the tenant's Logs with their three spans each. */
const BOTH_LISTED = (parent: string) => ({
  [parent]: { traces: [0, 1].map(() => ({ root: "ChatCompletion: openai/gpt-4.1-mini", spans: 3 })), unlisted: 0 },
});

describe.concurrent("a root sent with a parent_span_id of zeros", () => {
  it("reaches a tenant with nothing to change without it, every other byte as sent; a request without one still goes as its own bytes", async () => {
    const tenant = await createTenant({ config: { translate: false } });
    const { sent, expected } = zeroParentRequest();
    const plain = toProtobuf(trueFoundryTrace());

    const response = await sendTraces(tenant, toProtobuf(sent));
    const after = await sendTraces(tenant, plain);

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    expect(after.status).toBe(200);
    const [received, receivedAfter, ...more] = await standin.received(tenant.apiKey);
    expect(more).toHaveLength(0);
    expect(toBinary(ExportTraceServiceRequestSchema, received!.request)).toEqual(toProtobuf(expected));
    // Every span's bytes are in the request as they were sent, the root's but for its parent.
    for (const span of spansOf(expected)) expect(holdsBytes(received!.bytes, toBinary(SpanSchema, span)), span.name).toBe(true);
    expect(receivedAfter!.bytes).toEqual(plain);
    expect(viewsByParent([received!])).toEqual(BOTH_LISTED(tenant.parent));
  });

  it("reaches a tenant with nothing to change without it from OTLP JSON, as does a root whose parent is empty text", async () => {
    const tenant = await createTenant({ config: { translate: false } });
    const { sent, expected } = zeroParentRequest();
    const json = toOtlpJson(sent);
    const spansOfJson = (json.resourceSpans as JsonObject[]).map((rs) => ((rs.scopeSpans as JsonObject[])[0]!.spans as JsonObject[])[0]!);
    expect(spansOfJson[0]!.parentSpanId).toBe("0000000000000000");
    spansOfJson[1]!.parent_span_id = "";

    const response = await sendTraces(tenant, JSON.stringify(json), { contentType: "application/json" });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    const [received, ...more] = await standin.received(tenant.apiKey);
    expect(more).toHaveLength(0);
    expect(toJson(ExportTraceServiceRequestSchema, received!.request)).toEqual(toJson(ExportTraceServiceRequestSchema, expected));
    expect(viewsByParent([received!])).toEqual(BOTH_LISTED(tenant.parent));
  });

  it.each(["protobuf", "json"] as const)(
    "reaches a translating tenant without it, even one that keeps callers' parents: no caller's (%s)",
    async (format) => {
      const tenant = await createTenant({ config: { keep_caller_parent: true } });
      const { sent } = zeroParentRequest();
      const body = format === "protobuf" ? toProtobuf(sent) : JSON.stringify(toOtlpJson(sent));

      const response = await sendTraces(tenant, body, {
        contentType: format === "protobuf" ? "application/x-protobuf" : "application/json",
      });

      expect(response.status).toBe(200);
      const received = await standin.received(tenant.apiKey);
      const spans = received.flatMap((r) => spansOf(r.request));
      const [root, , http] = spans;
      expect(root!.parentSpanId).toHaveLength(0);
      expect(attributesOf(root!)["braintrust.span_attributes"]).toBe(
        JSON.stringify({ type: "task", name: "ChatCompletion: openai/gpt-4.1-mini" }),
      );
      expect(toBinary(SpanSchema, http!)).toEqual(toBinary(SpanSchema, spansOf(sent)[2]!));
      expect(viewsByParent(received)).toEqual(BOTH_LISTED(tenant.parent));
    },
  );

  it("is kept by the non-AI filter, as every root is", async () => {
    const tenant = await createTenant({ config: { drop_non_ai_spans: true, translate: false } });
    const root = spanWith("HTTP POST /chat", [], { parentSpanId: new Uint8Array(8) });
    const child = (name: string) => spanWith(name, [], { traceId: root.traceId, parentSpanId: root.spanId });

    const response = await sendTraces(tenant, toProtobuf(requestOf([root, child("gen_ai.chat"), child("redis GET")])));

    expect(response.status).toBe(200);
    const [received] = await standin.received(tenant.apiKey);
    expect(spansOf(received!.request).map((s) => [s.name, s.parentSpanId.length])).toEqual([
      ["HTTP POST /chat", 0],
      ["gen_ai.chat", 8],
    ]);
    expect(viewsByParent([received!])).toEqual({ [tenant.parent]: { traces: [{ root: "HTTP POST /chat", spans: 2 }], unlisted: 0 } });
  });
});
