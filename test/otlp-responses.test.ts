import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import { ResourceSpansSchema, ScopeSpansSchema, Span_LinkSchema, SpanSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, randomId, spansOf, toOtlpJson, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { hex } from "../src/encoding/bytes.js";
import { loggedWhile } from "./support/logs.js";
import { createTenant, relayFetch, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { compress, exportResponseOf, otlpJsonOfSize, rpcStatusOf, spanIdsOf, spanWith } from "./support/traces.js";
import { bytesAt, holdsBytes } from "./support/wire.js";

const MiB = 1024 * 1024;

const BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest";

/** The descriptions of a google.rpc.BadRequest's field violations (field_violations = 1, each's description = 2). */
function violationDescriptions(badRequest: Uint8Array): string[] {
  const descriptions: string[] = [];
  const reader = new BinaryReader(badRequest);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 1) {
      reader.skip(wireType);
      continue;
    }
    const violation = new BinaryReader(reader.bytes());
    while (violation.pos < violation.len) {
      const [member, memberType] = violation.tag();
      if (member === 2) descriptions.push(violation.string());
      else violation.skip(memberType);
    }
  }
  return descriptions;
}

/** Transport fidelity is about bytes, so these tenants leave spans untranslated. */
const untranslated = { config: { translate: false } };

describe("OTLP/HTTP responses", () => {
  it("rejects spans with bad ids one by one: 200 with partial_success, the rest delivered", async () => {
    const tenant = await createTenant({ config: { redact: { values: ["emails"] } } });
    const trace = trueFoundryTrace();
    const scope = trace.resourceSpans[0]!.scopeSpans[0]!;
    scope.spans.push(
      create(SpanSchema, { traceId: randomId(8), spanId: randomId(8), name: "short trace id" }),
      create(SpanSchema, { traceId: randomId(16), spanId: new Uint8Array(8), name: "zero id for bob@b.co" }),
      create(SpanSchema, { traceId: randomId(16), spanId: randomId(8).slice(0, 4), name: "password reset for alice@example.com" }),
    );

    const { result: response, events } = await loggedWhile(() => sendTraces(tenant, toProtobuf(trace)));

    expect(response.status).toBe(200);
    const partial = (await exportResponseOf(response)).partialSuccess;
    const [shortTraceId, zeroSpanId] = [
      'span "short trace id": trace_id must be 16 bytes and not all zero, got 8 bytes',
      "span_id must be 8 bytes and not all zero, got 8 zero bytes",
    ];
    const shortSpanId = "span_id must be 8 bytes and not all zero, got 4 bytes";
    expect(partial?.rejectedSpans).toBe(3n);
    expect(partial?.errorMessage).toBe(
      `rejected 3 of 6 spans: ${shortTraceId}; span "zero id for bob@b.co": ${zeroSpanId}; span "password reset for alice@example.com": ${shortSpanId}`,
    );
    // The operator's record of them: one line for the request, not one per span, naming a span as the
    // tenant's value rules leave its name, and, as a 400 quotes caller text, a long one by its length.
    expect(events.filter((e) => e.event === "ingest_spans_rejected" && e.tenant === tenant.id)).toEqual([
      {
        event: "ingest_spans_rejected",
        tenant: tenant.id,
        spans: 3,
        reason: `rejected 3 of 6 spans: ${shortTraceId}; span "zero id for [REDACTED]": ${zeroSpanId}; span of a name of 36 characters: ${shortSpanId}`,
        request_id: expect.any(String),
      },
    ]);
    const [received] = await standin.received(tenant.apiKey);
    expect(spansOf(received!.request).map((s) => s.name)).toEqual(spansOf(trueFoundryTrace()).map((s) => s.name));
  });

  it("reads a span's string that is not UTF-8 (half of an emoji, as an encoder writing UTF-16 units writes it) with U+FFFD in its place, as OTLP/JSON's escape reads: every span arrives, the others byte for byte", async () => {
    const tenant = await createTenant(untranslated);
    const trace = trueFoundryTrace();
    trace.resourceSpans[0]!.scopeSpans[0]!.spans.splice(1, 0, spanWith("cut in half", [attr("tool.output", "ok \u0000MARK")]));
    const body = toProtobuf(trace).slice();
    // What an encoder writing UTF-16 code units writes for half of a surrogate pair (U+D83D), over the marker's first 3 bytes.
    body.set([0xed, 0xa0, 0xbd], bytesAt(body, new TextEncoder().encode("\u0000MARK")));

    const response = await sendTraces(tenant, body);

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    const [received, ...more] = await standin.received(tenant.apiKey);
    expect(more).toEqual([]);
    expect(spanIdsOf(received!.request)).toEqual(spansOf(trace).map((span) => hex(span.spanId)));
    const mended = spansOf(received!.request)[1]!;
    expect(mended.name).toBe("cut in half");
    expect(mended.attributes.find((a) => a.key === "tool.output")?.value?.value).toEqual({ case: "stringValue", value: "ok \ufffdRK" });
    for (const span of spansOf(trace).filter((_, i) => i !== 1)) expect(holdsBytes(received!.bytes, toBinary(SpanSchema, span))).toBe(true);
  });

  it("reads a resource's or scope's own text that is not UTF-8 with U+FFFD in its place: every span arrives byte for byte, under them", async () => {
    const tenant = await createTenant(untranslated);
    const trace = trueFoundryTrace();
    trace.resourceSpans[0]!.scopeSpans.push(
      create(ScopeSpansSchema, { scope: { name: "lib \u0000SCOPE" }, spans: [spanWith("under a bad scope", [])] }),
    );
    trace.resourceSpans.push(
      create(ResourceSpansSchema, {
        resource: { attributes: [attr("host.name", "box \u0000HOST")] },
        scopeSpans: [{ scope: { name: "lib" }, spans: [spanWith("under a bad resource", [])] }],
      }),
    );
    const body = toProtobuf(trace).slice();
    // Half of a surrogate pair (U+D83D) as an encoder writing UTF-16 code units writes it, over each marker's first 3 bytes.
    for (const marker of ["\u0000SCOPE", "\u0000HOST"]) body.set([0xed, 0xa0, 0xbd], bytesAt(body, new TextEncoder().encode(marker)));

    const response = await sendTraces(tenant, body);

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    const [received, ...more] = await standin.received(tenant.apiKey);
    expect(more).toEqual([]);
    expect(spanIdsOf(received!.request)).toEqual(spansOf(trace).map((span) => hex(span.spanId)));
    for (const span of spansOf(trace)) expect(holdsBytes(received!.bytes, toBinary(SpanSchema, span))).toBe(true);
    expect(received!.request.resourceSpans[0]!.scopeSpans[1]!.scope?.name).toBe("lib \ufffdOPE");
    expect(received!.request.resourceSpans[1]!.resource?.attributes).toEqual([attr("host.name", "box \ufffdST")]);
  });

  describe("a span's links", () => {
    /** A gateway trace with a span between its spans whose links are these. */
    function traceWithLinkedSpan(links: { traceId: Uint8Array; spanId: Uint8Array }[]) {
      const trace = trueFoundryTrace();
      const linked = spanWith("batch consumer", [attr("messaging.batch.message_count", 2)]);
      linked.links = links.map((ids) => create(Span_LinkSchema, { ...ids, attributes: [attr("messaging.message.id", "m-1")] }));
      trace.resourceSpans[0]!.scopeSpans[0]!.spans.splice(1, 0, linked);
      return trace;
    }
    const goodLink = { traceId: randomId(16), spanId: randomId(8) };
    const badLink = { traceId: randomId(16).slice(0, 3), spanId: randomId(8) };
    const rejection = 'rejected 1 of 4 spans: span "batch consumer": links[1].trace_id must be empty or 16 bytes, got 3 bytes';

    it("rejects a span with a link id of the wrong length one by one: the other spans arrive byte for byte", async () => {
      const tenant = await createTenant(untranslated);
      const trace = traceWithLinkedSpan([goodLink, badLink]);

      const response = await sendTraces(tenant, toProtobuf(trace));

      expect(response.status).toBe(200);
      expect((await exportResponseOf(response)).partialSuccess).toMatchObject({ rejectedSpans: 1n, errorMessage: rejection });
      const [received, ...more] = await standin.received(tenant.apiKey);
      expect(more).toEqual([]);
      const good = spansOf(trace).filter((_, i) => i !== 1);
      expect(spanIdsOf(received!.request)).toEqual(good.map((span) => hex(span.spanId)));
      for (const span of good) expect(holdsBytes(received!.bytes, toBinary(SpanSchema, span))).toBe(true);
    });

    it("rejects it for a tenant that translates, and in OTLP JSON, as hex of the wrong length", async () => {
      const translating = await createTenant();
      const trace = traceWithLinkedSpan([goodLink, badLink]);
      const good = spanIdsOf(trace).filter((_, i) => i !== 1);

      const protobuf = await sendTraces(translating, toProtobuf(trace));
      const json = await sendTraces(translating, JSON.stringify(toOtlpJson(trace)), { contentType: "application/json" });

      expect((await exportResponseOf(protobuf)).partialSuccess).toMatchObject({ rejectedSpans: 1n, errorMessage: rejection });
      expect(await json.json()).toEqual({ partialSuccess: { rejectedSpans: "1", errorMessage: rejection } });
      expect((await standin.received(translating.apiKey)).map((r) => spanIdsOf(r.request))).toEqual([good, good]);
    });

    it("forwards links to an invalid context, with zero or empty ids, as they came: OpenTelemetry records them", async () => {
      const tenant = await createTenant(untranslated);
      const body = toProtobuf(
        traceWithLinkedSpan([
          { traceId: new Uint8Array(16), spanId: new Uint8Array(8) },
          { traceId: new Uint8Array(), spanId: new Uint8Array() },
        ]),
      );

      const response = await sendTraces(tenant, body);

      expect(response.status).toBe(200);
      expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
      const [received] = await standin.received(tenant.apiKey);
      expect(received!.bytes).toEqual(body);
    });
  });

  it("reports partial success in JSON for a JSON request", async () => {
    const tenant = await createTenant();
    const json = toOtlpJson(trueFoundryTrace());
    (json.resourceSpans as { scopeSpans: { spans: { traceId: string }[] }[] }[])[0]!.scopeSpans[0]!.spans[0]!.traceId = "";

    const response = await sendTraces(tenant, JSON.stringify(json), { contentType: "application/json" });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      partialSuccess: { rejectedSpans: "1", errorMessage: expect.stringMatching(/^rejected 1 of 3 spans: .*trace_id must be 16 bytes/) },
    });
  });

  it("answers a malformed protobuf body with 400 and a protobuf google.rpc.Status", async () => {
    const tenant = await createTenant();
    const body = toProtobuf(trueFoundryTrace());

    const response = await sendTraces(tenant, body.slice(0, body.byteLength - 7));

    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/x-protobuf");
    const status = await rpcStatusOf(response);
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/^request body is not a valid ExportTraceServiceRequest/);
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });

  it("describes the bad data of a 400 in a google.rpc.BadRequest detail, in protobuf and JSON, and only there", async () => {
    const tenant = await createTenant();
    const body = toProtobuf(trueFoundryTrace());

    const protobuf = await sendTraces(tenant, body.slice(0, 10));
    const json = await sendTraces(tenant, "{", { contentType: "application/json" });
    const unauthenticated = await sendTraces(tenant, body, { bearer: "wrong" });

    expect(protobuf.status).toBe(400);
    const status = fromBinary(StatusSchema, new Uint8Array(await protobuf.arrayBuffer()));
    const detail = status.details.find((d) => d.typeUrl === BAD_REQUEST);
    expect(detail && violationDescriptions(detail.value)).toEqual([status.message]);
    expect(json.status).toBe(400);
    const jsonStatus = (await json.json()) as { message: string; details: Array<{ "@type": string }> };
    expect(jsonStatus.details.filter((d) => d["@type"] === BAD_REQUEST)).toEqual([
      { "@type": BAD_REQUEST, fieldViolations: [{ description: jsonStatus.message }] },
    ]);
    expect(unauthenticated.status).toBe(401);
    const refusal = fromBinary(StatusSchema, new Uint8Array(await unauthenticated.arrayBuffer()));
    expect(refusal.details.map((d) => d.typeUrl)).not.toContain(BAD_REQUEST);
  });

  it("answers in the request's own content type: application/protobuf, as some clients name protobuf, success or failure", async () => {
    const tenant = await createTenant();
    const body = toProtobuf(trueFoundryTrace());
    const send = (bytes: Uint8Array, contentType: string) => sendTraces(tenant, bytes, { contentType });

    const delivered = await send(body, "application/protobuf");
    const refused = await send(body.slice(0, body.byteLength - 7), "application/protobuf; charset=binary");
    const registered = await send(body, "application/x-protobuf");

    expect([delivered.status, delivered.headers.get("content-type")]).toEqual([200, "application/protobuf"]);
    expect([refused.status, refused.headers.get("content-type")]).toEqual([400, "application/protobuf"]);
    expect((await rpcStatusOf(refused)).message).toMatch(/^request body is not a valid ExportTraceServiceRequest/);
    expect([registered.status, registered.headers.get("content-type")]).toEqual([200, "application/x-protobuf"]);
  });

  it("answers a body that ends early with 400 saying so", async () => {
    const tenant = await createTenant();
    const body = toProtobuf(trueFoundryTrace());
    // A resource_spans field declaring more bytes than follow.
    const truncated = body.slice(0, 10);
    expect(body[0]).toBe(0x0a);

    const response = await sendTraces(tenant, truncated);

    expect(response.status).toBe(400);
    expect((await rpcStatusOf(response)).message).toBe(
      "request body is not a valid ExportTraceServiceRequest: field 1 runs past the end of its message",
    );
  });

  it("answers a body that is not the gzip it claims with 400", async () => {
    const tenant = await createTenant();

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()), { contentEncoding: "gzip" });

    expect(response.status).toBe(400);
    expect((await rpcStatusOf(response)).message).toBe("request body is not valid gzip data");
  });

  it("answers a body gzipped twice under one Content-Encoding: gzip with 400 saying so, not that it came without one", async () => {
    const tenant = await createTenant();
    const twice = await compress(await compress(toProtobuf(trueFoundryTrace()), "gzip"), "gzip");

    const response = await sendTraces(tenant, twice, { contentEncoding: "gzip" });

    expect(response.status).toBe(400);
    expect((await rpcStatusOf(response)).message).toBe(
      "request body is compressed twice: decompressed as its Content-Encoding gzip says, it is gzip still",
    );
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });

  it("answers 401 with WWW-Authenticate when credentials are missing or wrong", async () => {
    const tenant = await createTenant();
    const body = toProtobuf(trueFoundryTrace());

    const missing = await sendTraces(tenant, body, { bearer: null });
    const wrong = await sendTraces(tenant, body, { bearer: `${tenant.bearer.slice(0, -4)}AAAA` });
    const basic = await sendTraces(tenant, body, { bearer: null, headers: { authorization: "Basic dXNlcjpwYXNz" } });

    for (const response of [missing, wrong, basic]) {
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="relay"');
      expect((await rpcStatusOf(response)).code).toBe(16);
    }
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });

  it("answers 404 for an unknown tenant and for a path no tenant can have", async () => {
    const body = toProtobuf(trueFoundryTrace());

    const unknown = await sendTraces({ id: "no-such-tenant", bearer: "x" }, body);
    const invalid = await sendTraces({ id: "Upper-Case", bearer: "x" }, body);
    const tooLong = await sendTraces({ id: "a".repeat(65), bearer: "x" }, body);
    const otherPath = await relayFetch("/t/acme/v1/metrics", {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body,
    });

    expect(unknown.status).toBe(404);
    expect((await rpcStatusOf(unknown)).message).toBe(
      "no such tenant: no-such-tenant (a tenant just created is seen everywhere within 125 s)",
    );
    for (const response of [invalid, tooLong, otherPath]) {
      expect(response.status).toBe(404);
      expect((await rpcStatusOf(response)).code).toBe(5);
    }
  });

  it("answers an exporter pointed at the relay's root (POST /v1/traces) in its own encoding, with where its tenant's path is", async () => {
    for (const [contentType, read] of [
      ["application/x-protobuf", rpcStatusOf],
      ["application/json", async (r: Response) => (await r.json()) as { code: number; message: string }],
    ] as const) {
      const response = await relayFetch("/v1/traces", { method: "POST", headers: { "content-type": contentType }, body: "" });
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toBe(contentType);
      expect(await read(response)).toMatchObject({ code: 5, message: "no such route: traces go to POST /t/<tenant>/v1/traces" });
    }
  });

  it("says so when the tenant's traces URL was given with a slash after it", async () => {
    const tenant = await createTenant();

    const response = await relayFetch(`/t/${tenant.id}/v1/traces/`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${tenant.bearer}` },
      body: toProtobuf(trueFoundryTrace()).slice(),
    });

    expect(response.status).toBe(404);
    expect(await rpcStatusOf(response)).toMatchObject({
      code: 5,
      message: "no such route: traces go to POST /t/<tenant>/v1/traces, without a slash after it",
    });
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });

  it("answers other methods with 405 and Allow: POST", async () => {
    const tenant = await createTenant();

    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await sendTraces(tenant, method === "GET" ? null : "x", { method });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
      expect(await rpcStatusOf(response)).toMatchObject({
        code: 12,
        message: `no such route: ${method} /t/:tenant/v1/traces (this path takes POST)`,
      });
    }
  });

  it("answers other content types and encodings with 415", async () => {
    const tenant = await createTenant();
    const body = toProtobuf(trueFoundryTrace());

    const text = await sendTraces(tenant, body, { contentType: "text/plain" });
    const brotli = await sendTraces(tenant, body, { contentEncoding: "br" });

    expect(text.status).toBe(415);
    expect((await rpcStatusOf(text)).message).toMatch(/unsupported content type "text\/plain"/);
    expect(brotli.status).toBe(415);
    expect((await rpcStatusOf(brotli)).message).toMatch(/unsupported content encoding "br"/);
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });

  it("answers JSON declared in a charset other than UTF-8 with 415 saying so, and takes it declared UTF-8", async () => {
    const tenant = await createTenant(untranslated);
    const json = JSON.stringify(toOtlpJson(trueFoundryTrace()));
    const utf16 = new Uint8Array(new Uint16Array([...json].map((c) => c.charCodeAt(0))).buffer);

    const refused = await sendTraces(tenant, utf16, { contentType: "application/json; charset=utf-16" });
    const taken = await sendTraces(tenant, json, { contentType: "application/json; charset=UTF-8" });

    expect(refused.status).toBe(415);
    expect(refused.headers.get("content-type")).toBe("application/json");
    expect(refused.headers.get("accept")).toBe("application/x-protobuf, application/protobuf, application/json");
    expect((await refused.json()) as { message: string }).toMatchObject({
      message: 'unsupported charset "utf-16" for application/json: OTLP JSON is UTF-8, send it as UTF-8 (charset=utf-8 or none)',
    });
    expect(taken.status).toBe(200);
    expect(await standin.received(tenant.apiKey)).toHaveLength(1);
  });

  it("says in a 415 what it would have taken: Accept for a content type, Accept-Encoding for a content coding (RFC 9110)", async () => {
    const tenant = await createTenant();
    const body = toProtobuf(trueFoundryTrace());

    const text = await sendTraces(tenant, body, { contentType: "text/plain" });
    const zstd = await sendTraces(tenant, body, { contentEncoding: "zstd" });

    expect(text.status).toBe(415);
    expect(text.headers.get("accept")).toBe("application/x-protobuf, application/protobuf, application/json");
    expect(text.headers.get("accept-encoding")).toBeNull();
    expect(zstd.status).toBe(415);
    expect(zstd.headers.get("accept-encoding")).toBe("gzip, x-gzip, deflate");
    expect(zstd.headers.get("accept")).toBeNull();
  });

  it("answers 413 for a body over the wire limit (16 MiB by default)", async () => {
    const tenant = await createTenant();

    const response = await sendTraces(tenant, new Uint8Array(16 * MiB + 1));

    expect(response.status).toBe(413);
    expect((await rpcStatusOf(response)).message).toBe("request body is larger than the limit of 16777216 bytes");
  });

  it("takes a body of exactly the wire limit, and refuses one byte more", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();

    const atLimit = await sendTraces(tenant, otlpJsonOfSize(trace, 16 * MiB), { contentType: "application/json" });
    const overLimit = await sendTraces(tenant, otlpJsonOfSize(trueFoundryTrace(), 16 * MiB + 1), { contentType: "application/json" });

    expect(atLimit.status).toBe(200);
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
    expect(overLimit.status).toBe(413);
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
  });

  it("answers 413 for a body whose chunks exceed the limit without declaring a length", async () => {
    const tenant = await createTenant();
    const chunk = new Uint8Array(MiB);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 17) controller.enqueue(chunk);
        else controller.close();
      },
    });

    const response = await sendTraces(tenant, body);

    expect(response.status).toBe(413);
    expect((await rpcStatusOf(response)).message).toBe("request body is larger than the limit of 16777216 bytes");
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });

  it("takes a body of exactly the limit without a declared length, and refuses one byte more", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    // In 1 MiB chunks, so the limit is crossed by the last chunk's last byte.
    const streamed = (bytes: Uint8Array) => {
      let offset = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= bytes.byteLength) return controller.close();
          controller.enqueue(bytes.subarray(offset, offset + MiB));
          offset += MiB;
        },
      });
    };

    const atLimit = await sendTraces(tenant, streamed(otlpJsonOfSize(trace, 16 * MiB)), { contentType: "application/json" });
    const overLimit = await sendTraces(tenant, streamed(otlpJsonOfSize(trueFoundryTrace(), 16 * MiB + 1)), {
      contentType: "application/json",
    });

    expect(atLimit.status).toBe(200);
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
    expect(overLimit.status).toBe(413);
  });

  it("stops decompressing at the limit: a small gzip bomb is a 413", async () => {
    const tenant = await createTenant();
    const bomb = await compress(new Uint8Array(64 * MiB), "gzip");
    expect(bomb.byteLength).toBeLessThan(MiB);

    const response = await sendTraces(tenant, bomb, { contentEncoding: "gzip" });

    expect(response.status).toBe(413);
    expect((await rpcStatusOf(response)).message).toBe("decompressed request body is larger than the limit of 16777216 bytes");
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });

  it.each(["gzip", "deflate"] as const)("decompresses %s up to exactly the limit, and refuses one byte more", async (coding) => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    const send = async (request: typeof trace, bytes: number) =>
      sendTraces(tenant, await compress(otlpJsonOfSize(request, bytes), coding), {
        contentType: "application/json",
        contentEncoding: coding,
      });

    const atLimit = await send(trace, 16 * MiB);
    const overLimit = await send(trueFoundryTrace(), 16 * MiB + 1);

    expect(atLimit.status).toBe(200);
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
    expect(overLimit.status).toBe(413);
    expect((await rpcStatusOf(overLimit)).message).toBe("decompressed request body is larger than the limit of 16777216 bytes");
  });
});
