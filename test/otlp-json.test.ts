import { describe, expect, it } from "vitest";
import { Span_SpanKind, Status_StatusCode } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { hex } from "../src/encoding/bytes.js";
import { createTenant, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { rpcStatusOf } from "./support/traces.js";

const TRACE_ID = "5B8EFFF798038103D269B633813FC60C";
const SPAN_ID = "EEE19B7EC3C1B174";
const PARENT_ID = "eee19b7ec3c1b173";

describe("OTLP JSON, read as leniently as the Collector reads it", () => {
  it("takes hex ids in any case, snake_case keys, enum names and 64-bit integers as strings or numbers", async () => {
    const tenant = await createTenant();
    const body = `{
      "resource_spans": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "string_value": "gw" } }] },
        "scope_spans": [{
          "scope": { "name": "tfy" },
          "spans": [{
            "trace_id": "${TRACE_ID}", "span_id": "${SPAN_ID}", "parent_span_id": "${PARENT_ID}",
            "name": "ChatCompletion", "kind": "SPAN_KIND_SERVER",
            "start_time_unix_nano": 1764000000123456789, "end_time_unix_nano": "1764000000987654321",
            "attributes": [
              { "key": "tokens", "value": { "int_value": 9007199254740993 } },
              { "key": "cost", "value": { "doubleValue": 0.25 } },
              { "key": "stream", "value": { "boolValue": true } }
            ],
            "status": { "code": 2, "message": "boom" },
            "links": [{ "traceId": "${TRACE_ID.toLowerCase()}", "spanId": "${SPAN_ID}" }],
            "fieldFromTheFuture": { "ignored": true }
          }]
        }]
      }]
    }`;

    const response = await sendTraces(tenant, body, { contentType: "application/json" });

    expect(response.status).toBe(200);
    const [span, ...rest] = await standin.spans(tenant.apiKey);
    expect(rest).toHaveLength(0);
    expect(hex(span!.traceId)).toBe(TRACE_ID.toLowerCase());
    expect(hex(span!.spanId)).toBe(SPAN_ID.toLowerCase());
    expect(hex(span!.parentSpanId)).toBe(PARENT_ID);
    expect(span!.kind).toBe(Span_SpanKind.SERVER);
    expect(span!.startTimeUnixNano).toBe(1764000000123456789n);
    expect(span!.endTimeUnixNano).toBe(1764000000987654321n);
    expect(span!.attributes.map((a) => [a.key, a.value?.value.value])).toEqual([
      ["tokens", 9007199254740993n],
      ["cost", 0.25],
      ["stream", true],
    ]);
    expect(span!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "boom" });
    expect(hex(span!.links[0]!.traceId)).toBe(TRACE_ID.toLowerCase());
  });

  it("reads the instrumentationLibrary of a pre-1.0 exporter's instrumentationLibrarySpans as the spans' scope", async () => {
    const tenant = await createTenant();
    const spans = (name: string, spanId: string) => [{ traceId: TRACE_ID, spanId, name }];
    const body = JSON.stringify({
      resourceSpans: [
        {
          instrumentationLibrarySpans: [
            { instrumentationLibrary: { name: "io.opentelemetry.okhttp", version: "0.9.0" }, spans: spans("camel", SPAN_ID) },
          ],
        },
        {
          instrumentation_library_spans: [
            { instrumentation_library: { name: "opentelemetry.requests", version: "0.16b1" }, spans: spans("snake", PARENT_ID) },
          ],
        },
      ],
    });

    const response = await sendTraces(tenant, body, { contentType: "application/json" });

    expect(response.status).toBe(200);
    const scopes = (await standin.received(tenant.apiKey)).flatMap((r) =>
      r.request.resourceSpans.flatMap((rs) => rs.scopeSpans.map((ss) => [ss.spans[0]?.name, ss.scope?.name, ss.scope?.version])),
    );
    expect(scopes).toEqual(
      expect.arrayContaining([
        ["camel", "io.opentelemetry.okhttp", "0.9.0"],
        ["snake", "opentelemetry.requests", "0.16b1"],
      ]),
    );
    expect(scopes).toHaveLength(2);
  });

  it("rejects an id that is not hex with 400, instead of reading it as base64", async () => {
    const tenant = await createTenant();
    const body = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: "AAECAwQFBgcICQoLDA0ODw==", spanId: SPAN_ID, name: "x" }] }] }],
    });

    const response = await sendTraces(tenant, body, { contentType: "application/json" });

    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect((await rpcStatusOf(response)).message).toMatch(/traceId must be a hex string/);
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });

  it.each([
    ["not JSON", "{", /not valid JSON/],
    [
      "invalid JSON in a member no span is in",
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","name":"x"}]}]}],"extra":tru}`,
      /not valid JSON/,
    ],
    ["not an object", "[1,2]", /must be a JSON object/],
    [
      "a field of the wrong type",
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID, name: 5 }] }] }] }),
      /not a valid OTLP JSON/,
    ],
    [
      "an unknown enum name",
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID, kind: "SPAN_KIND_BOGUS" }] }] }] }),
      /kind must be a SpanKind name, got "SPAN_KIND_BOGUS"/,
    ],
    [
      "a span kind past 2^53, which protobuf-es would drop as an unknown name and send as unspecified",
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","kind":9007199254740993}]}]}]}`,
      /Span\.kind from JSON: expected enum opentelemetry\.proto\.trace\.v1\.Span\.SpanKind: \d+ out of range/,
    ],
    [
      "a status code past 2^53, which protobuf-es would drop and send as unset",
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","status":{"code":18446744073709551618}}]}]}]}`,
      /Status\.code from JSON: expected enum opentelemetry\.proto\.trace\.v1\.Status\.StatusCode: \d+ out of range/,
    ],
    [
      "a list of spans given twice in one scope, whose first list JSON.parse would drop",
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","name":"a"}],"spans":[{"traceId":"${TRACE_ID}","spanId":"${PARENT_ID}","name":"b"}]}]}]}`,
      /the key "spans" at position \d+ is given twice in one object/,
    ],
    [
      "resource spans under both their names",
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","name":"a"}]}]}],"resource_spans":[{"scope_spans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${PARENT_ID}","name":"b"}]}]}]}`,
      /gives both "resourceSpans" and "resource_spans"/,
    ],
    [
      "an integer of more digits than 64 bits hold, as text, refused before it costs a BigInt",
      JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID, startTimeUnixNano: "9".repeat(100_000) }] }] }],
      }),
      "startTimeUnixNano must be a whole number of at most 64 bits, got a string of 100000 characters",
    ],
    [
      "an integer of more digits than 64 bits hold, as a number",
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","attributes":[{"key":"n","value":{"intValue":-${"1".repeat(21)}}}]}]}]}]}`,
      `intValue must be a whole number of at most 64 bits, got "-${"1".repeat(21)}"`,
    ],
    [
      "a span's attributes given twice",
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","name":"a","attributes":[{"key":"x","value":{"stringValue":"1"}}],"attributes":[{"key":"y","value":{"stringValue":"2"}}]}]}]}]}`,
      /the key "attributes" at position \d+ is given twice in one object/,
    ],
  ])("answers %s with 400 and a google.rpc.Status saying why", async (_what, body, message) => {
    const tenant = await createTenant();

    const response = await sendTraces(tenant, body, { contentType: "application/json" });

    expect(response.status).toBe(400);
    const status = await rpcStatusOf(response);
    expect(status.code).toBe(3);
    expect(status.message).toMatch(message);
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });

  // The refusal is logged, and the request has not met the tenant's redaction yet.
  const PROMPT_LINE = "Customer jane.doe@example.com asks about invoice 4471";
  it.each([
    [
      "an id",
      { traceId: PROMPT_LINE, spanId: SPAN_ID },
      `span traceId must be a hex string, got a string of ${PROMPT_LINE.length} characters`,
    ],
    [
      "a whole number",
      { traceId: TRACE_ID, spanId: SPAN_ID, startTimeUnixNano: PROMPT_LINE },
      `startTimeUnixNano must be a whole number, as a number or a string of decimal digits, got a string of ${PROMPT_LINE.length} characters`,
    ],
    [
      "an enum's name",
      { traceId: TRACE_ID, spanId: SPAN_ID, kind: PROMPT_LINE },
      `kind must be a SpanKind name, got a string of ${PROMPT_LINE.length} characters`,
    ],
    ["an id with an odd digit", { traceId: `${TRACE_ID}0`, spanId: SPAN_ID }, `span traceId must be a hex string, got "${TRACE_ID}0"`],
    ["a fraction", { traceId: TRACE_ID, spanId: SPAN_ID, startTimeUnixNano: "1764000000123456789.5" }, /got "1764000000123456789\.5"$/],
  ])("names text where %s belongs by its length alone unless it has that shape", async (_what, span, message) => {
    const tenant = await createTenant();

    const response = await sendTraces(tenant, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }), {
      contentType: "application/json",
    });

    expect(response.status).toBe(400);
    const refusal = (await rpcStatusOf(response)).message;
    expect(refusal).toMatch(message);
    expect(refusal).not.toContain("jane.doe");
  });

  it("answers invalid UTF-8 with 400", async () => {
    const tenant = await createTenant();

    const response = await sendTraces(tenant, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), { contentType: "application/json" });

    expect(response.status).toBe(400);
    expect((await rpcStatusOf(response)).message).toMatch(/UTF-8/);
  });
});
