import { describe, expect, it } from "vitest";
import { type HeapCappedRun, runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { attr, toProtobuf } from "../../scripts/lib/traces.js";
import { CONTAINER_SHAPES, oneSpanOfTinyAttributes, WORST_SHAPES, worstRequest } from "../../scripts/lib/worst-shapes.js";
import { relayConfig } from "../../src/env.js";
import { MAX_SPANS_PER_REQUEST } from "../../src/receive/request-limits.js";
import { requestOf, spanWith } from "../support/traces.js";
import { deeplyNestedAnyValue, lengthDelimited, spanFields } from "../support/wire.js";

/**
 * The worst shapes at the default limits, each through the relay's pipeline in a process whose heap
 * is capped at 128 MiB as a Worker's isolate is: each completes, or is refused with 413 up front.
 */
const limit = relayConfig({} as Env).maxDecompressedBytes;
const translating = {};
const routingEverything = {
  drop_non_ai_spans: true,
  redact: { keys: [{ pattern: "secret*" }], values: ["emails"] },
  routes: [{ match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:evals" }],
};

describe("a request at the default limits, under a 128 MiB heap", () => {
  it.each([
    ["tiny spans, at the span limit", translating],
    ["tiny spans, at the span limit", routingEverything],
    ["tiny attributes", translating],
    ["tiny attributes", routingEverything],
    ["deep values", routingEverything],
    ["many small prompts", translating],
    ["many Traceloop messages", translating],
    ["many usage counts", translating],
  ])("%s, fills the body limit and completes (%o)", (shape, settings) => {
    const body = worstRequest(WORST_SHAPES[shape]!, limit);
    const run = runHeapCapped(body, "protobuf", settings);

    expect(run).toMatchObject({ outcome: "completed" });
    // Filled to within one span (or 64 KiB, for the small ones).
    const slack = Math.max(64 * 1024, WORST_SHAPES[shape]!.span.byteLength);
    if (shape !== "tiny spans, at the span limit") expect(body.byteLength).toBeGreaterThan(limit - slack);
  });

  it("of as many spans as a request may hold, each with a value nested past the limit, completes rejecting each", () => {
    const deeper = lengthDelimited(9, [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, deeplyNestedAnyValue(48, "array"))]);
    const body = worstRequest({ format: "protobuf", span: new Uint8Array(spanFields(deeper)), maxSpans: MAX_SPANS_PER_REQUEST }, limit);

    expect(runHeapCapped(body, "protobuf", routingEverything)).toMatchObject({
      outcome: "completed",
      spans: 0,
      rejected: MAX_SPANS_PER_REQUEST,
    });
  });

  it("of JSON, tiny attributes filling the body limit, completes", () => {
    const body = worstRequest(WORST_SHAPES["tiny attributes, JSON"]!, limit);
    expect(body.byteLength).toBeGreaterThan(limit - 64 * 1024);

    expect(runHeapCapped(body, "json", translating)).toMatchObject({ outcome: "completed" });
  });

  it("of one span whose attribute is JSON of 700,000 members, under a key rule reaching into JSON, completes", () => {
    const members = Object.fromEntries(Array.from({ length: 700_000 }, (_, i) => [`k${i}`, "a@b.co"]));
    const body = toProtobuf(requestOf([spanWith("s", [attr("v", JSON.stringify(members))])]));

    expect(runHeapCapped(body, "protobuf", { translate: false, redact: { keys: [{ pattern: "*.other" }] } })).toMatchObject({
      outcome: "completed",
      spans: 1,
    });
  });

  it.each([
    ["JSON of 830,000 addresses", () => JSON.stringify(Object.fromEntries(Array.from({ length: 830_000 }, (_, i) => [`k${i}`, "a@b.co"])))],
    ["text of 830,000 addresses", () => "hello a@b.co world ".repeat(830_000)],
    ["text of a million words and no address", () => "hello world abc ".repeat(1_000_000)],
  ])("of one span whose attribute is %s, masking emails, completes", (_value, value) => {
    const body = toProtobuf(requestOf([spanWith("s", [attr("v", value())])]));

    expect(runHeapCapped(body, "protobuf", { translate: false, redact: { values: ["emails"] } })).toMatchObject({
      outcome: "completed",
      spans: 1,
    });
  });

  it.each(["1e399", "1"])(
    "of one span whose request settings are numbers (%s) filling the body limit beside an integer past 2^53, completes",
    (number) => {
      // The integer makes the settings parsed keeping such integers' digits; `1e399` written out in full would be 400 bytes.
      const numbers = Array(Math.floor((limit - 64 * 1024) / (number.length + 1)))
        .fill(number)
        .join(",");
      const input = `{"messages":[{"role":"user","content":"hi"}],"logit_bias":[12345678901234567890,${numbers}]}`;
      const body = toProtobuf(requestOf([spanWith("s", [attr("tfy.span_type", "ChatCompletion"), attr("tfy.input", input)])]));

      expect(runHeapCapped(body, "protobuf", translating)).toMatchObject({ outcome: "completed", spans: 1 });
    },
  );

  it("of one span sending a Traceloop message's field as a key-value list under a long key, then as text, completes", () => {
    // Each field below the long key, put flat beside the text, was once named by the whole key: 90 KB took past 128 MiB.
    const fields = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`m${i}`, "x"]));
    const listed = attr("gen_ai.prompt.0.content", { ["k".repeat(65_536)]: fields });
    const body = toProtobuf(requestOf([spanWith("s", [listed, attr("gen_ai.prompt.0.content", "x")])]));

    expect(runHeapCapped(body, "protobuf", translating)).toMatchObject({ outcome: "completed", spans: 1 });
  });

  it("of more tiny spans than a request may hold, is refused with 413 before any is decoded", () => {
    const body = worstRequest(WORST_SHAPES["tiny spans"]!, limit);

    expect(runHeapCapped(body, "protobuf", translating)).toMatchObject({
      outcome: "refused" as const,
      status: 413,
      message: `request holds more than ${MAX_SPANS_PER_REQUEST} spans, the limit per request: export smaller batches`,
    });
  });

  it("of one span made of millions of tiny attributes, rejects it on its own before it is decoded", () => {
    expect(runHeapCapped(oneSpanOfTinyAttributes(limit), "protobuf", translating)).toEqual({ outcome: "completed", spans: 0, rejected: 1 });
  });

  /** What each container shape comes to: its spans read and sent, or a 413 up front for what it holds. */
  const tooMany = (what: string) => ({
    outcome: "refused" as const,
    status: 413,
    message: `request holds more than ${what}, the limit per request: export smaller batches`,
  });
  const CONTAINER_OUTCOMES: Record<string, Partial<HeapCappedRun>> = {
    "empty scopes, one span": { outcome: "completed", spans: 1 },
    "empty resources, one span": { outcome: "completed", spans: 1 },
    "a resource of 150 attributes around every span": { outcome: "completed" },
    "empty resources, JSON": tooMany(`${3 * MAX_SPANS_PER_REQUEST} resources, scopes and spans in all`),
    "empty spans, JSON": tooMany(`${MAX_SPANS_PER_REQUEST} spans`),
    "a resource of 150 attributes around every span, JSON": { outcome: "completed" },
  };

  it.each(Object.keys(CONTAINER_SHAPES).flatMap((shape) => [[shape, translating] as const, [shape, routingEverything] as const]))(
    "of %s, completes, or is refused with 413 naming the limit, as what it holds says (%o)",
    (shape, settings) => {
      const { format, body } = CONTAINER_SHAPES[shape]!;

      const run = runHeapCapped(body(limit), format, settings);

      expect(run, JSON.stringify(run).slice(0, 300)).toMatchObject(CONTAINER_OUTCOMES[shape]!);
    },
  );
});
