import { clone } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ScopeSpansSchema, type Span, SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { tenantRecord } from "../../scripts/lib/tenants.js";
import { attr, randomId, spansOf, toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";
import { leavesSpansAlone } from "../../src/process/process-spans.js";
import { addedKeyValue } from "../../src/process/translate.js";
import { relayed, usageCounted } from "../support/pipeline.js";
import { attributesOf, requestOf, spanWith } from "../support/traces.js";
import { DROP, translateInPlace } from "../support/translation.js";

/** Translation as the relay runs it: on decoded spans, over a tenant's request, and in the bytes sent. */
describe("translating a span", () => {
  it("leaves spans without tfy.* or Traceloop attributes alone, and reports what it changed in the others", () => {
    const plain = spanWith("db.query", [attr("db.system", "postgresql"), attr("gen_ai.system", "x")]);
    const gateway = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.model.metric.input_tokens", 1)]);

    expect(translateInPlace(plain, DROP).added).toEqual([]);
    const { added, removedKeys } = translateInPlace(gateway, DROP);

    expect(plain.attributes).toEqual([attr("db.system", "postgresql"), attr("gen_ai.system", "x")]);
    expect(added.map((a) => a.key)).toEqual(["braintrust.span_attributes", "braintrust.metrics"]);
    expect([...removedKeys]).toEqual(["tfy.model.metric.input_tokens"]);
    expect(gateway.attributes).toEqual([attr("tfy.span_type", "Model"), ...added.map(addedKeyValue)]);
  });

  it("keeps every braintrust.* attribute a span already has, as it is, and the sources with it", () => {
    const own = [
      attr("braintrust.span_attributes", "own"),
      attr("braintrust.input_json", "own"),
      attr("braintrust.output_json", "own"),
      attr("braintrust.metrics", "own"),
      attr("braintrust.metadata", "own"),
      attr("braintrust.tags", "own"),
    ];
    const attributes = [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", "in"),
      attr("tfy.output", "out"),
      attr("tfy.model.metric.input_tokens", 1),
      attr("tfy.model.name", "m"),
      attr("tfy.request.metadata", JSON.stringify({ tags: ["t"] })),
      ...own,
    ];
    const span = spanWith("Model: x", attributes);

    expect(translateInPlace(span, DROP)).toMatchObject({ added: [], removedKeys: new Set() });
    expect(span.attributes).toEqual(attributes);
  });

  it("translates every span of every resource and scope", () => {
    const request = requestOf([spanWith("a", [attr("tfy.span_type", "Model")])]);
    request.resourceSpans.push(...requestOf([spanWith("b", [attr("tfy.span_type", "MCP")])], "other").resourceSpans);

    const [sent] = relayed(request).requests;

    expect(spansOf(sent!.request).map((s) => JSON.parse(attributesOf(s)["braintrust.span_attributes"] as string).type)).toEqual([
      "llm",
      "tool",
    ]);
  });
});

describe("processing a tenant's spans", () => {
  it("leaves spans alone only for a tenant with nothing to change", () => {
    const nothing = { translate: false };
    expect(leavesSpansAlone(tenantRecord(nothing))).toBe(true);
    for (const setting of [
      { translate: true },
      { routes: [{ match: { field: "span_name", equals: "x" }, parent: "project_id:p" }] },
      { parent_from_attribute: true },
      { drop_non_ai_spans: true },
      { redact: { keys: [{ pattern: "x" }] } },
      { redact: { values: ["emails"] } },
    ]) {
      expect(leavesSpansAlone(tenantRecord({ ...nothing, ...setting }))).toBe(false);
    }
  });

  it("sends the very bytes that came for a tenant with nothing to change", () => {
    const request = requestOf([spanWith("ChatCompletion", [attr("tfy.span_type", "ChatCompletion")])]);

    const { deliveries, body } = relayed(request, { translate: false });

    expect(deliveries.map((d) => [d.parent, d.payload.protobuf])).toEqual([["project_name:default", body]]);
  });

  it("routes on the spans as they arrived, before the filter drops any", () => {
    const traceId = randomId(16);
    const root = spanWith("root", [], { traceId });
    const request = requestOf([root, spanWith("redis GET", [attr("env", "eval")], { traceId, parentSpanId: root.spanId })]);

    const { requests } = relayed(request, {
      translate: false,
      drop_non_ai_spans: true,
      routes: [{ match: { field: "attributes.env", equals: "eval" }, parent: "experiment_id:e" }],
    });

    expect(requests.map((b) => [b.parent, spansOf(b.request).map((s) => s.name)])).toEqual([["experiment_id:e", ["root"]]]);
  });

  it("redacts keys before translating, so nothing is derived from them, and masks values after, so the translation is masked", () => {
    const span = spanWith("Model: x", [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content: "mail bob@example.com" }] })),
      attr("tfy.output", "secret answer"),
    ]);

    const [sent] = relayed(requestOf([span]), { redact: { keys: [{ pattern: "tfy.output" }], values: ["emails"] } }).requests;

    const attributes = attributesOf(spansOf(sent!.request)[0]!);
    expect(attributes["braintrust.input_json"]).toBe(JSON.stringify([{ role: "user", content: "mail [REDACTED]" }]));
    expect(attributes).not.toHaveProperty("braintrust.output_json");
    expect(attributes).not.toHaveProperty("tfy.output");
  });

  it("sends a translated span as its original fields, less the sources it restated, with the translation after them", () => {
    const span = () => spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.input", '{"messages":[]}'), attr("n", 1)]);

    const [dropped] = relayed(requestOf([span()])).requests;
    const [kept] = relayed(requestOf([span()]), { keep_source_attributes: true }).requests;

    expect(spansOf(dropped!.request)[0]!.attributes.map((a) => a.key)).toEqual([
      "tfy.span_type",
      "n",
      "braintrust.span_attributes",
      "braintrust.input_json",
    ]);
    expect(spansOf(kept!.request)[0]!.attributes.map((a) => a.key)).toEqual([
      "tfy.span_type",
      "tfy.input",
      "n",
      "braintrust.span_attributes",
      "braintrust.input_json",
    ]);
  });
});

describe("a tenant's spans on their way out", () => {
  /** The span as translation would leave it, decoded: what the relay must send whatever way it takes. */
  const translatedCopy = (span: Span) => {
    const copy = clone(SpanSchema, span);
    translateInPlace(copy, DROP);
    return copy;
  };
  const longPrompt = JSON.stringify({ messages: [{ role: "user", content: "x".repeat(400) }] });

  it.each([
    ["a short payload", '{"messages":[]}'],
    ["a payload too long to copy among the new attributes", longPrompt],
  ])("are sent as translation leaves them, from %s", (_what, input) => {
    const span = spanWith("Model: x", [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", input),
      attr("tfy.request.metadata", JSON.stringify({ env: "prod", tags: ["a", "b"] })),
      attr("tfy.inputs", "only starts like a source"),
    ]);

    const [sent] = relayed(requestOf([span])).requests;

    expect(spansOf(sent!.request)).toEqual([translatedCopy(span)]);
    expect(attributesOf(spansOf(sent!.request)[0]!)).toMatchObject({
      "braintrust.tags": ["a", "b"],
      "tfy.inputs": "only starts like a source",
    });
  });

  it("keep every field but the restated attributes, however much their bytes look like an attribute", () => {
    // Ids of valid fields, and a name that reads as a KeyValue of the key tfy.input.
    const fieldsOnly = (length: number) => Uint8Array.from({ length }, (_, i) => (i % 2 === 0 ? 0x08 : 1));
    const span = spanWith("\n\ttfy.input", [attr("tfy.span_type", "Model"), attr("tfy.input", '{"messages":[]}')], {
      traceId: fieldsOnly(16),
    });
    span.spanId = fieldsOnly(8);

    const [sent] = relayed(requestOf([span])).requests;

    expect(spansOf(sent!.request)).toEqual([translatedCopy(span)]);
  });

  it("are sent without the Traceloop messages restated, whatever script their keys are in", () => {
    // U+0080, the first code point past ASCII, then ü; a few keys are compared as a list, more than eight as a set.
    // Keys that come twice were not restated, and stay: they differ from a restated one only past its first non-ASCII character.
    for (const count of [2, 9]) {
      const messages = Array.from({ length: count }, (_, i) => attr(`gen_ai.prompt.${i}.inhalt_\u0080ü`, `hi ${i}`));
      const twice = [attr("gen_ai.prompt.0.inhalt_\u0080ä", "twice"), attr("gen_ai.prompt.0.inhalt_\u0080üx", "twice")];
      const span = spanWith("Model: x", [attr("tfy.span_type", "Model"), ...messages, ...twice, ...twice, attr("n", 1)]);

      const [sent] = relayed(requestOf([span])).requests;

      expect(spansOf(sent!.request)).toEqual([translatedCopy(span)]);
      expect(spansOf(sent!.request)[0]!.attributes.map((a) => a.key)).not.toContain("gen_ai.prompt.0.inhalt_\u0080ü");
      for (const { key } of twice) expect(spansOf(sent!.request)[0]!.attributes.filter((a) => a.key === key)).toHaveLength(2);
    }
  });

  it("are translated when they came as OTLP JSON, as when they came as protobuf", () => {
    const request = trueFoundryTrace();

    expect(relayed(request, {}, "json").requests).toEqual(relayed(request, {}, "protobuf").requests);
    expect(spansOf(relayed(request, {}, "json").requests[0]!.request)).toEqual(spansOf(request).map(translatedCopy));
  });

  it("leave each resource and scope once, with all their spans", () => {
    const request = trueFoundryTrace();
    const other = clone(ScopeSpansSchema, request.resourceSpans[0]!.scopeSpans[0]!);
    other.scope!.name = "other";
    request.resourceSpans[0]!.scopeSpans.push(other);

    const [sent] = relayed(request).requests;

    expect(sent!.request.resourceSpans).toHaveLength(1);
    expect(sent!.request.resourceSpans[0]!.scopeSpans.map((s) => [s.scope?.name, s.spans.length])).toEqual([
      ["tfy-llm-gateway", 3],
      ["other", 3],
    ]);
  });

  it("are the very bytes that came when translation finds nothing to restate", () => {
    const { deliveries, body } = relayed(requestOf([spanWith("db.query", [attr("db.system", "postgresql")])]));

    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.payload.protobuf).toBe(body);
  });

  it("send nothing when the request held none", () => {
    expect(relayed(requestOf([])).deliveries).toEqual([]);
    expect(relayed(requestOf([]), { translate: false }).deliveries).toEqual([]);
  });

  it("count the model calls translation read", () => {
    expect(usageCounted(toProtobuf(trueFoundryTrace()))).toEqual({
      "gpt-4.1-mini": { calls: 1, prompt_tokens: 14, completion_tokens: 3, cost_usd: 0.0000134 },
    });
  });
});
