import { describe, expect, it } from "vitest";
import { attr, randomId, spansOf, toProtobuf } from "../scripts/lib/traces.js";
import { createTenant, sendTraces } from "./support/relay.js";
import { ids } from "./support/routing.js";
import { standin } from "./support/standin.js";
import { requestOf, spanWith } from "./support/traces.js";

describe("routing a trace whose caller exports through the relay too", () => {
  it("a caller's root exported after the gateway's spans still routes them when drop_non_ai_spans drops the caller's HTTP span", async () => {
    const tenant = await createTenant({
      parent: "project_name:default",
      config: { translate: true, drop_non_ai_spans: true, parent_from_attribute: true },
    });
    const traceId = randomId(16);
    const root = spanWith("caller root", [attr("braintrust.parent", "project_name:caller")], { traceId });
    const http = spanWith("POST https://gateway/api/llm", [attr("http.request.method", "POST")], { traceId, parentSpanId: root.spanId });
    const request = spanWith("ChatCompletion", [attr("tfy.span_type", "ChatCompletion")], { traceId, parentSpanId: http.spanId });
    const call = spanWith("Model", [attr("tfy.span_type", "Model")], { traceId, parentSpanId: request.spanId });

    expect((await sendTraces(tenant, toProtobuf(requestOf([call, request, http])))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([root])))).status).toBe(200);

    const received = await standin.waitForSpans(tenant.apiKey, ids([call, request, root]));
    // The caller's root names its own parent, and the gateway's spans of its trace go with it: the trace stays whole.
    expect(received.missing).toEqual([]);
    expect(new Set(received.requests.map((r) => r.parent))).toEqual(new Set(["project_name:caller"]));
    expect(received.requests.reduce((sum, r) => sum + spansOf(r.request).length, 0)).toBe(3);
  });
});
