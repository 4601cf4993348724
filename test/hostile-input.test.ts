import { fromBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { attr, spansOf, toOtlpJson, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { MAX_HEADER_FIELDS_PER_REQUEST, MAX_MESSAGES_PER_SPAN } from "../src/receive/request-limits.js";
import { createTenant, sendTraces, type TestTenant } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { exportResponseOf, requestOf, rpcStatusOf, spanIdsOf, spanWith } from "./support/traces.js";
import {
  deeplyNestedAnyValue,
  group,
  lengthDelimited,
  requestWithScopeFields,
  requestWithSpanFields,
  spanFields,
  varint,
} from "./support/wire.js";

const utf8 = (text: string) => [...new TextEncoder().encode(text)];
const EMAIL_ATTRIBUTE = [...lengthDelimited(1, utf8("user.email")), ...lengthDelimited(2, lengthDelimited(1, utf8("ana@example.com")))];
/** A span of a 3-byte trace id carrying an email, which no stage of the relay would let through. */
const HIDDEN_SPAN = [...lengthDelimited(1, [1, 2, 3]), ...lengthDelimited(5, utf8("hidden")), ...lengthDelimited(9, EMAIL_ATTRIBUTE)];

/**
 * Whatever arrives, the relay answers with a 4xx that says why (or 200 for what is valid after
 * all), forwards nothing it refused, never answers 5xx, and the next valid request still goes
 * through. Fuzzing is seeded and bounded, so a failure reproduces. The gzip bomb is in
 * otlp-responses.test.ts.
 */
const SEED = 20261127;
const RUNS = 150;

const SETUPS = {
  // Translation, redaction and routing on, so hostile spans go through every stage.
  "processing every span": {
    redact: { values: ["emails"] },
    routes: [{ match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:e" }],
  },
  // Nothing to change, so spans are checked on the wire rather than decoded.
  "forwarding spans as they came": { translate: false },
};

const tenants = {} as Record<keyof typeof SETUPS, TestTenant>;

beforeAll(async () => {
  for (const [name, config] of Object.entries(SETUPS) as [keyof typeof SETUPS, Record<string, unknown>][]) {
    tenants[name] = await createTenant({ config: { ...config, rate_limit: { requests_per_second: 100_000, burst: 1_000_000 } } });
  }
});

async function expectRefusedOrAccepted(response: Response): Promise<void> {
  expect([200, 400]).toContain(response.status);
  if (response.status !== 200) expect((await rpcStatusOf(response)).message.length).toBeGreaterThan(0);
}

/** Sends a valid trace and checks it arrives: the relay is still whole. */
async function expectStillServing(tenant: TestTenant): Promise<void> {
  const trace = trueFoundryTrace();
  expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);
  expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
}

async function forwardedSoFar(tenant: TestTenant): Promise<number> {
  return (await standin.attempts(tenant.apiKey)).length;
}

describe.each(Object.keys(SETUPS) as (keyof typeof SETUPS)[])("hostile protobuf, tenant %s", (setup) => {
  let tenant: TestTenant;
  beforeAll(() => {
    tenant = tenants[setup];
  });

  it("random bytes: 200 or 400, never more", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
        const before = await forwardedSoFar(tenant);
        const response = await sendTraces(tenant, bytes);
        await expectRefusedOrAccepted(response);
        if (response.status !== 200) expect(await forwardedSoFar(tenant)).toBe(before);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    await expectStillServing(tenant);
  });

  it("mutated and truncated valid requests: 200 or 400, never more", async () => {
    const valid = toProtobuf(trueFoundryTrace());
    const mutation = fc.record({
      cut: fc.integer({ min: 0, max: valid.byteLength }),
      flips: fc.array(fc.record({ at: fc.integer({ min: 0, max: valid.byteLength - 1 }), value: fc.integer({ min: 0, max: 255 }) }), {
        maxLength: 8,
      }),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ cut, flips }) => {
        const bytes = valid.slice();
        for (const { at, value } of flips) bytes[at] = value;
        const before = await forwardedSoFar(tenant);
        const response = await sendTraces(tenant, bytes.slice(0, cut));
        await expectRefusedOrAccepted(response);
        if (response.status !== 200) expect(await forwardedSoFar(tenant)).toBe(before);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    await expectStillServing(tenant);
  });

  it.each([
    ["a wrong wire type for resource_spans", new Uint8Array([...varint((1 << 3) | 0), 5])],
    ["a length past the end", new Uint8Array([...varint((1 << 3) | 2), ...varint(1000), 1, 2, 3])],
    ["a length that overflows", new Uint8Array([...varint((1 << 3) | 2), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    ["an unterminated varint", new Uint8Array([0x08, 0xff, 0xff, 0xff])],
    // protobuf-es reads each of these as its own field; decoders that follow protobuf's rules skip it.
    ["a span's parent under another wire type", requestWithSpanFields([0x20, 0x08, 0x0f, 1, 2, 3, 4, 5, 6, 7])],
    ["an attribute under another wire type", requestWithSpanFields([0x48, ...varint(EMAIL_ATTRIBUTE.length), ...EMAIL_ATTRIBUTE])],
    [
      "a span hidden in a scope's list under another wire type, beside a valid span",
      new Uint8Array(
        lengthDelimited(1, lengthDelimited(2, [0x10, ...varint(HIDDEN_SPAN.length), ...HIDDEN_SPAN, ...lengthDelimited(2, spanFields())])),
      ),
    ],
  ])("%s: 400 that says why, nothing forwarded", async (_what, body) => {
    const before = await forwardedSoFar(tenant);

    const response = await sendTraces(tenant, body);

    expect(response.status).toBe(400);
    expect((await rpcStatusOf(response)).message).toMatch(/^request body is not a valid ExportTraceServiceRequest: .+/);
    expect(await forwardedSoFar(tenant)).toBe(before);
    await expectStillServing(tenant);
  });

  it.each(["array", "kvlist"] as const)(
    "a span with an AnyValue %s nested 5000 deep: rejected on its own saying so, nothing forwarded",
    async (through) => {
      const before = await forwardedSoFar(tenant);

      const response = await sendTraces(
        tenant,
        requestWithSpanFields(
          lengthDelimited(9, [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, deeplyNestedAnyValue(5000, through))]),
        ),
      );

      expect(response.status).toBe(200);
      expect((await exportResponseOf(response)).partialSuccess).toMatchObject({
        rejectedSpans: 1n,
        errorMessage:
          'rejected 1 of 1 spans: span "hostile": a value in it is nested past 100 levels of messages, the most a request may hold',
      });
      expect(await forwardedSoFar(tenant)).toBe(before);
      await expectStillServing(tenant);
    },
  );

  it("a span whose name is not UTF-8: forwarded with U+FFFD where its bytes are not, never as they came", async () => {
    const before = await forwardedSoFar(tenant);

    const response = await sendTraces(tenant, requestWithSpanFields(lengthDelimited(5, [0xc3, 0x28, 0xff])));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    expect(await forwardedSoFar(tenant)).toBe(before + 1);
    const received = await standin.received(tenant.apiKey);
    expect(spansOf(received.at(-1)!.request).map((span) => span.name)).toEqual(["\ufffd(\ufffd"]);
    await expectStillServing(tenant);
  });

  it("a span with 200,000 attributes: rejected on its own naming the limit, before it is decoded, nothing forwarded", async () => {
    const attributes = new Array(200_000).fill(lengthDelimited(9, lengthDelimited(1, [0x6b]))).flat();
    const before = await forwardedSoFar(tenant);

    const response = await sendTraces(tenant, requestWithSpanFields(attributes));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toMatchObject({
      rejectedSpans: 1n,
      errorMessage: expect.stringContaining(
        `a span holds more than ${MAX_MESSAGES_PER_SPAN} attributes, events, links and values in them, the limit per span`,
      ),
    });
    expect(await forwardedSoFar(tenant)).toBe(before);
    await expectStillServing(tenant);
  });

  it("a scope whose schema_url is given past 200,000 times: 413 naming the limit, nothing forwarded", async () => {
    const schemaUrls = new Array(MAX_HEADER_FIELDS_PER_REQUEST + 1).fill(lengthDelimited(3, [0x78])).flat();
    const before = await forwardedSoFar(tenant);

    const response = await sendTraces(tenant, requestWithScopeFields(schemaUrls));

    expect(response.status).toBe(413);
    expect((await rpcStatusOf(response)).message).toBe(
      `request's resources and scopes hold more than ${MAX_HEADER_FIELDS_PER_REQUEST} fields besides their spans, the limit per request: export smaller batches`,
    );
    expect(await forwardedSoFar(tenant)).toBe(before);
    await expectStillServing(tenant);
  });

  it("a span with an unknown group field, as old encoders write them: delivered, translated", async () => {
    const body = requestWithSpanFields([
      ...lengthDelimited(9, [...lengthDelimited(1, utf8("tfy.span_type")), ...lengthDelimited(2, lengthDelimited(1, utf8("Model")))]),
      // Field 100 as a group: start tag (wire type 3), a varint field inside, end tag (wire type 4).
      ...varint((100 << 3) | 3),
      ...varint((1 << 3) | 0),
      7,
      ...varint((100 << 3) | 4),
    ]);

    const response = await sendTraces(tenant, body);

    expect(response.status).toBe(200);
    const sent = fromBinary(ExportTraceServiceRequestSchema, body);
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(sent));
    expect(arrival.missing).toEqual([]);
  });

  it("unknown groups at the request's top level, nested as deep as protobuf-es reads them: delivered; one deeper: 400, nothing forwarded", async () => {
    const nested = (levels: number): number[] => (levels === 0 ? [...varint((1 << 3) | 0), 1] : group(50, nested(levels - 1)));
    // protobuf-es counts the request as its first level: 99 groups at its top level, not 100.
    const withGroups = (levels: number) => new Uint8Array([...requestWithSpanFields([]), ...nested(levels)]);
    expect(() => fromBinary(ExportTraceServiceRequestSchema, withGroups(100))).toThrow(/recursion/);
    const before = await forwardedSoFar(tenant);

    const tooDeep = await sendTraces(tenant, withGroups(100));

    expect(tooDeep.status).toBe(400);
    expect((await rpcStatusOf(tooDeep)).message).toBe("request body is not a valid ExportTraceServiceRequest: groups nested too deep");
    expect(await forwardedSoFar(tenant)).toBe(before);
    const deepest = withGroups(99);
    expect((await sendTraces(tenant, deepest)).status).toBe(200);
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(fromBinary(ExportTraceServiceRequestSchema, deepest)))).missing).toEqual(
      [],
    );
  });

  it.each([
    ["a list position of 2^32 - 2", "gen_ai.prompt.0.content.4294967294", '[{"content":["x"]}]'],
    ["a list position of five million", "gen_ai.prompt.0.content.5000000", '[{"content":["x"]}]'],
    // Nested 8 levels deep at most: the rest of the path is one key.
    [
      "a path of 250 steps",
      `gen_ai.prompt.0.${"a.".repeat(250)}end`,
      `[${'{"a":'.repeat(7)}{"${"a.".repeat(250 - 7)}end":"x"}${"}".repeat(7)}]`,
    ],
    // A field path past 512 characters names no message field: the attribute stays as it came.
    ["a path of 50,000 steps", `gen_ai.prompt.0.${"a.".repeat(50_000)}end`, undefined],
  ])("a Traceloop key with %s: delivered, its message the one value, in no list padded to its position", async (_what, key, message) => {
    const sent = requestOf([spanWith("llm call", [attr(key, "x")])]);

    const response = await sendTraces(tenant, toProtobuf(sent));

    expect(response.status).toBe(200);
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(sent));
    expect(arrival.missing).toEqual([]);
    const attributes = spansOf(arrival.requests.at(-1)!.request)[0]!.attributes;
    const input = attributes.find((a) => a.key === "braintrust.input_json")?.value?.value;
    const json = input?.case === "stringValue" ? input.value : undefined;
    if (setup === "forwarding spans as they came") expect(json).toBeUndefined();
    else expect(json).toBe(message);
    if (message === undefined) expect(attributes.map((a) => a.key)).toContain(key);
  });

  it.each(["tfy.input", "tfy.output", "tfy.request.metadata"])(
    "%s of JSON nested 100,000 deep: delivered, the text shown as text",
    async (key) => {
      const deep = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
      const sent = requestOf([spanWith("deep", [attr("tfy.span_type", "ChatCompletion"), attr(key, deep)])]);

      const response = await sendTraces(tenant, toProtobuf(sent));

      expect(response.status).toBe(200);
      expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(sent))).missing).toEqual([]);
    },
  );

  it("a resource of more attributes than a span may hold: 413 naming the limit, nothing forwarded", async () => {
    const attributes = new Array(MAX_MESSAGES_PER_SPAN).fill(lengthDelimited(1, [])).flat();
    const resourceSpans = [...lengthDelimited(1, attributes), ...lengthDelimited(2, lengthDelimited(2, spanFields()))];
    const before = await forwardedSoFar(tenant);

    const response = await sendTraces(tenant, new Uint8Array(lengthDelimited(1, resourceSpans)));

    expect(response.status).toBe(413);
    expect((await rpcStatusOf(response)).message).toBe(
      `a resource holds more than ${MAX_MESSAGES_PER_SPAN} attributes, events, links and values in them, the limit per resource`,
    );
    expect(await forwardedSoFar(tenant)).toBe(before);
  });

  it("a span with as many attributes as a span may hold is delivered whole", async () => {
    const attributes = new Array(MAX_MESSAGES_PER_SPAN / 2).fill(lengthDelimited(9, lengthDelimited(1, [0x6b]))).flat();
    const body = requestWithSpanFields(attributes);

    const response = await sendTraces(tenant, body);

    expect(response.status).toBe(200);
    const sent = fromBinary(ExportTraceServiceRequestSchema, body);
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(sent));
    expect(arrival.missing).toEqual([]);
    const delivered = arrival.requests.flatMap((r) => spansOf(r.request)).find((s) => s.spanId.join() === spansOf(sent)[0]!.spanId.join());
    expect(delivered!.attributes.filter((a) => a.key === "k")).toHaveLength(MAX_MESSAGES_PER_SPAN / 2);
  });
});

describe("hostile JSON", () => {
  let tenant: TestTenant;
  beforeAll(() => {
    tenant = tenants["processing every span"];
  });

  it("random JSON documents: 200 or 400, never more", async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 6 }), async (text) => {
        const before = await forwardedSoFar(tenant);
        const response = await sendTraces(tenant, text, { contentType: "application/json" });
        await expectRefusedOrAccepted(response);
        if (response.status !== 200) expect(await forwardedSoFar(tenant)).toBe(before);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    await expectStillServing(tenant);
  });

  it("randomly corrupted OTLP JSON: 200 or 400, never more", async () => {
    const valid = JSON.stringify(toOtlpJson(trueFoundryTrace()));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: valid.length }), fc.string({ maxLength: 8 }), async (at, insert) => {
        const response = await sendTraces(tenant, valid.slice(0, at) + insert + valid.slice(at + 1), { contentType: "application/json" });
        await expectRefusedOrAccepted(response);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    await expectStillServing(tenant);
  });

  it.each([
    ["arrays nested 100,000 deep", `${"[".repeat(100_000)}${"]".repeat(100_000)}`, /^request body must be a JSON object$/],
    [
      "an attribute value nested 5,000 deep",
      JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: "5b8efff798038103d269b633813fc60c",
                    spanId: "eee19b7ec3c1b174",
                    attributes: [
                      {
                        key: "k",
                        value: JSON.parse(`${'{"arrayValue":{"values":['.repeat(5000)}{"stringValue":"x"}${"]}}".repeat(5000)}`),
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
      /^request body is not valid JSON: brackets are nested deeper than 200 levels \(messages nest 100 levels at most\)$/,
    ],
    ["resourceSpans that is not a list", '{"resourceSpans": {"scopeSpans": []}}', /^resourceSpans must be an array of objects$/],
    // Past the position, what JSON.parse says of the key.
    ["a key with a bad escape", '{"a\\qb": 1, "resourceSpans": []}', /^request body is not valid JSON: the key at position 1: .+/],
    [
      "a key with an unfinished unicode escape",
      '{"\\u12": 1, "resourceSpans": []}',
      /^request body is not valid JSON: the key at position 1: .+/,
    ],
    [
      "a key with a raw control character",
      '{"a\u0001b": 1, "resourceSpans": []}',
      /^request body is not valid JSON: the key at position 1: .+/,
    ],
    ["resourceSpans that only starts like null", '{"resourceSpans": nullx}', /^request body is not valid JSON$/],
  ])("%s: 400 saying why, nothing forwarded", async (_what, body, message) => {
    const before = await forwardedSoFar(tenant);

    const response = await sendTraces(tenant, body, { contentType: "application/json" });

    expect(response.status).toBe(400);
    expect((await rpcStatusOf(response)).message).toMatch(message);
    expect(await forwardedSoFar(tenant)).toBe(before);
    await expectStillServing(tenant);
  });
});

describe("hostile headers", () => {
  let tenant: TestTenant;
  beforeAll(() => {
    tenant = tenants["processing every span"];
  });

  it("any content type or encoding: 415 unless OTLP's, never more", async () => {
    const body = toProtobuf(trueFoundryTrace());
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s))),
        fc.option(fc.constantFrom("br", "zstd", "gzip, br", "compress", "x-unknown", "identity", "")),
        async (contentType, encoding) => {
          const response = await sendTraces(tenant, body, {
            contentType: contentType ?? "",
            ...(encoding === null ? {} : { contentEncoding: encoding }),
          });
          expect([200, 400, 415]).toContain(response.status);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    await expectStillServing(tenant);
  });

  const longContentType = `text/${"x".repeat(8000)}`;
  const longEncoding = `x-${"z".repeat(8000)}`;
  it.each([
    ["content type", longContentType, { contentType: longContentType }, "application/x-protobuf or application/json"],
    ["content encoding", longEncoding, { contentEncoding: longEncoding }, "gzip, deflate or no encoding"],
  ])("a long %s is named in the 415 by its length, not repeated", async (what, header, options, wanted) => {
    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()), options);

    expect(response.status).toBe(415);
    expect((await rpcStatusOf(response)).message).toBe(`unsupported ${what} of ${header.length} characters: send ${wanted}`);
  });
});
