import { env } from "cloudflare:workers";
import { toJson } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { spansOf, toOtlpJson, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { concat } from "../src/encoding/bytes.js";
import { createTenant, sendTraces, sendTracesWith } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { compress, exportResponseOf, spanIdsOf } from "./support/traces.js";

/** A trace whose first span carries field 99, unknown to our schema, as a newer OTLP might send. */
function traceWithUnknownField() {
  const trace = trueFoundryTrace();
  spansOf(trace)[0]!.$unknown = [{ no: 99, wireType: WireType.LengthDelimited, data: new Uint8Array([2, 0x68, 0x69]) }];
  return trace;
}

/** Transport fidelity is about bytes, so these tenants leave spans untranslated. */
const untranslated = { config: { translate: false } };

describe("forwarding to Braintrust", () => {
  it("sends protobuf spans on byte for byte, unknown fields included, with the tenant's key and parent", async () => {
    const tenant = await createTenant(untranslated);
    const body = toProtobuf(traceWithUnknownField());

    const response = await sendTraces(tenant, body);

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-protobuf");
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    const [received, ...more] = await standin.received(tenant.apiKey);
    expect(more).toHaveLength(0);
    expect(received!.bytes).toEqual(body);
    expect(received!.parent).toBe(tenant.parent);
    expect(received!.contentType).toBe("application/x-protobuf");
    // An uncompressed request goes on uncompressed: compressing is CPU the client chose not to spend.
    expect(received!.contentEncoding).toBe("");
    expect(received!.path).toBe("/otel/v1/traces");
  });

  it("sends a gateway's spans to the tenant's parent, whatever x-bt-parent the gateway still sends, as set up for Braintrust itself", async () => {
    const tenant = await createTenant({ ...untranslated, mode: "passthrough" });

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()), { headers: { "x-bt-parent": "project_name:elsewhere" } });

    expect(response.status).toBe(200);
    expect((await standin.received(tenant.apiKey)).map((received) => received.parent)).toEqual([tenant.parent]);
  });

  it("compresses every upstream request when UPSTREAM_COMPRESSION is gzip", async () => {
    const tenant = await createTenant(untranslated);
    const body = toProtobuf(trueFoundryTrace());

    const response = await sendTracesWith(tenant, body, { UPSTREAM_COMPRESSION: "gzip" });

    expect(response.status).toBe(200);
    const [received] = await standin.received(tenant.apiKey);
    expect(received!.contentEncoding).toBe("gzip");
    expect(received!.bytes).toEqual(body);
  });

  it.each(["gzip", "deflate", "deflate-raw"] as const)("accepts a %s-compressed body and delivers the same spans", async (format) => {
    const tenant = await createTenant(untranslated);
    const body = toProtobuf(traceWithUnknownField());

    const response = await sendTraces(tenant, await compress(body, format), { contentEncoding: format === "gzip" ? "gzip" : "deflate" });

    expect(response.status).toBe(200);
    const [received] = await standin.received(tenant.apiKey);
    expect(received!.bytes).toEqual(body);
    // The client's own gzip bytes go on as they are; nothing else is compressed again.
    expect(received!.contentEncoding).toBe(format === "gzip" ? "gzip" : "");
  });

  it("forwards a gzip member whose header carries the optional fields (an extra field, a file name, a comment) as it came", async () => {
    const tenant = await createTenant(untranslated);
    const body = toProtobuf(trueFoundryTrace());
    const member = await compress(body, "gzip");
    const extra = [4, 0, 0x41, 0x42, 2, 0];
    const header = [...member.subarray(0, 10)];
    header[3] = 0x04 | 0x08 | 0x10;
    const named = concat([new Uint8Array([...header, ...extra]), new TextEncoder().encode("spans.pb\0a comment\0"), member.subarray(10)]);

    const response = await sendTraces(tenant, named, { contentEncoding: "gzip" });

    expect(response.status).toBe(200);
    const [received] = await standin.received(tenant.apiKey);
    expect(received!.bytes).toEqual(body);
    // Only the client's own bytes go compressed (UPSTREAM_COMPRESSION auto), and these are theirs, every one.
    expect(await standin.attempts(tenant.apiKey)).toMatchObject([{ status: 200, contentEncoding: "gzip", bytes: named.byteLength }]);
  });

  it.each([
    ["zero bytes after its gzip member", async (body: Uint8Array) => concat([await compress(body, "gzip"), new Uint8Array(16)])],
    [
      "two gzip members",
      async (body: Uint8Array) => concat([await compress(body.subarray(0, 100), "gzip"), await compress(body.subarray(100), "gzip")]),
    ],
    // zlib leaves what follows the data unread; a size field of the body's length at the end passes for the member's.
    [
      "zero bytes and the body's length after its gzip member",
      async (body: Uint8Array) => {
        const size = new Uint8Array(4);
        new DataView(size.buffer).setUint32(0, body.byteLength, true);
        return concat([await compress(body, "gzip"), new Uint8Array(8), size]);
      },
    ],
    // The last member's size field is then the whole body's, as a lone member's is.
    [
      "an empty gzip member before it",
      async (body: Uint8Array) => concat([await compress(new Uint8Array(), "gzip"), await compress(body, "gzip")]),
    ],
  ])("sends a gzip body with %s on as the spans it holds, not as it came: stricter decoders refuse such bytes", async (_, encode) => {
    const tenant = await createTenant(untranslated);
    const body = toProtobuf(trueFoundryTrace());

    const response = await sendTraces(tenant, await encode(body), { contentEncoding: "gzip" });

    expect(response.status).toBe(200);
    const [received] = await standin.received(tenant.apiKey);
    expect(received!.bytes).toEqual(body);
    expect(received!.contentEncoding).toBe("");
  });

  it("sends a request with a resource without spans that is not UTF-8 as its spans alone, which Braintrust decodes", async () => {
    const tenant = await createTenant(untranslated);
    const trace = trueFoundryTrace();
    // A resource_spans of a resource whose one attribute's key is "a\xff": protobuf-es refuses the text, so the request with it.
    const unreadable = new Uint8Array([0x0a, 0x08, 0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0x61, 0xff]);
    const body = concat([toProtobuf(trace), unreadable]);

    const response = await sendTraces(tenant, body);

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    const [received, ...more] = await standin.received(tenant.apiKey);
    expect(more).toHaveLength(0);
    expect(spanIdsOf(received!.request)).toEqual(spanIdsOf(trace));
  });

  it("sends it so too when its text cannot be mended within the body limit: its faulty resource is left out, not forwarded", async () => {
    const tenant = await createTenant(untranslated);
    const trace = trueFoundryTrace();
    // Mended, 0xFF becomes the three bytes of U+FFFD: two more than a body limit of the body's own size leaves.
    const unreadable = new Uint8Array([0x0a, 0x08, 0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0x61, 0xff]);
    const body = concat([toProtobuf(trace), unreadable]);

    const response = await sendTracesWith(tenant, body, { MAX_DECOMPRESSED_BYTES: String(body.byteLength) });

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    const [received, ...more] = await standin.received(tenant.apiKey);
    expect(more).toHaveLength(0);
    expect(received!.request).toEqual(trace);
  });

  it("re-encodes a JSON request as protobuf, every field intact, and answers in JSON", async () => {
    const tenant = await createTenant(untranslated);
    const trace = trueFoundryTrace();

    const response = await sendTraces(tenant, JSON.stringify(toOtlpJson(trace)), { contentType: "application/json" });

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({});
    const [received] = await standin.received(tenant.apiKey);
    expect(received!.contentType).toBe("application/x-protobuf");
    expect(toJson(ExportTraceServiceRequestSchema, received!.request)).toEqual(toJson(ExportTraceServiceRequestSchema, trace));
  });

  it("forwards a passthrough client's own Braintrust key", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    expect(tenant.bearer).toBe(tenant.apiKey);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(200);
    expect(await standin.received(tenant.apiKey)).toHaveLength(1);
  });

  it("posts to <api_url>/otel/v1/traces for a self-hosted base URL with a path", async () => {
    const tenant = await createTenant({ apiUrl: `${env.STANDIN_URL}/self-hosted/` });

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(200);
    const [received] = await standin.received(tenant.apiKey);
    expect(received!.path).toBe("/self-hosted/otel/v1/traces");
  });

  it("carries Braintrust's partial success back to the client", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ partialSuccess: { rejectedSpans: 2, errorMessage: "2 spans too old" } }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(200);
    const partial = (await exportResponseOf(response)).partialSuccess;
    expect(partial?.rejectedSpans).toBe(2n);
    expect(partial?.errorMessage).toBe("Braintrust: 2 spans too old");
  });

  it("counts no more spans rejected than went upstream, and none below zero, whatever an upstream's partial success says", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    const answer = (rejectedSpans: string) => ({
      status: 200,
      body: JSON.stringify({ partialSuccess: { rejectedSpans, errorMessage: "odd" } }),
    });
    // Past int64, which no protobuf answer could carry; and below zero.
    await standin.script(tenant.apiKey, [answer("99999999999999999999"), answer("-5")]);

    const past = await sendTraces(tenant, toProtobuf(trace));
    const below = await sendTraces(tenant, toProtobuf(trace));

    expect(past.status).toBe(200);
    expect((await exportResponseOf(past)).partialSuccess?.rejectedSpans).toBe(BigInt(spanIdsOf(trace).length));
    expect(below.status).toBe(200);
    expect((await exportResponseOf(below)).partialSuccess).toMatchObject({ rejectedSpans: 0n, errorMessage: "Braintrust: odd" });
  });

  it("never passes a stored key an upstream echoes in its partial success on to the client, and reads a message of another type as none", async () => {
    const tenant = await createTenant();
    const answer = (errorMessage: unknown) => ({
      status: 200,
      body: JSON.stringify({ partialSuccess: { rejectedSpans: "1", errorMessage } }),
    });
    await standin.script(tenant.apiKey, [answer(`key ${tenant.apiKey} refused\n${"x".repeat(1_000)}`), answer({ nested: true })]);

    const echoed = await exportResponseOf(await sendTraces(tenant, toProtobuf(trueFoundryTrace())));
    const odd = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(echoed.partialSuccess?.errorMessage).not.toContain(tenant.apiKey);
    expect(echoed.partialSuccess?.errorMessage).toMatch(/^Braintrust: key \[redacted\] refused x+…$/);
    expect(echoed.partialSuccess?.errorMessage.length).toBeLessThanOrEqual("Braintrust: ".length + 301);
    expect(odd.status).toBe(200);
    expect((await exportResponseOf(odd)).partialSuccess).toMatchObject({ rejectedSpans: 1n, errorMessage: "" });
  });

  it("answers an empty request with success and sends nothing upstream", async () => {
    const tenant = await createTenant();

    const protobuf = await sendTraces(tenant, new Uint8Array());
    const json = await sendTraces(tenant, "{}", { contentType: "application/json; charset=utf-8" });
    // A client that names its coding on every request, a bodiless one too.
    const gzip = await sendTraces(tenant, new Uint8Array(), { contentEncoding: "gzip" });

    expect(protobuf.status).toBe(200);
    expect(json.status).toBe(200);
    expect(gzip.status).toBe(200);
    expect(await json.json()).toEqual({});
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });
});
