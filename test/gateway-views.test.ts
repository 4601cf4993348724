import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { type Span, SpanSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { spansOf, toOtlpJson, toProtobuf } from "../scripts/lib/traces.js";
import { hex } from "../src/encoding/bytes.js";
import { GATEWAY_SHAPES, SENT_CREDENTIALS } from "./fixtures/gateway-shapes.js";
import { createTenant, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { spanIdsOf } from "./support/traces.js";
import { bytesAt } from "./support/wire.js";

/**
 * What a Braintrust user sees of each trace shape TrueFoundry's gateway sends, through the Worker
 * and the stand-in, in both encodings. The views are checked in (test/fixtures/<shape>.view.json):
 * a change to what Braintrust shows fails here, and is accepted by updating the file on purpose
 * (`npx vitest run --project worker test/gateway-views.test.ts -u`).
 */
describe.concurrent("what Braintrust shows of each gateway shape", () => {
  for (const [shape, build] of Object.entries(GATEWAY_SHAPES)) {
    // The test's own expect: file snapshots need to know their test, which concurrent tests share otherwise.
    it.for(["protobuf", "json"] as const)(`${shape}, sent as %s`, async (format, { expect }) => {
      const tenant = await createTenant();
      const trace = build();
      const body = format === "protobuf" ? toProtobuf(trace) : JSON.stringify(toOtlpJson(trace));

      const response = await sendTraces(tenant, body, {
        contentType: format === "protobuf" ? "application/x-protobuf" : "application/json",
      });

      expect(response.status).toBe(200);
      const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
      expect(arrival.missing).toEqual([]);
      // Translation touches attributes, message events (the view shows those it sends), and the status and
      // parent the view shows (unit tests check those): every other field of every span arrives as it was sent.
      const withoutAttributes = (span: Span) =>
        toBinary(
          SpanSchema,
          create(SpanSchema, {
            ...span,
            attributes: [],
            events: span.events.filter((e) => !e.name.startsWith("gen_ai.")),
            status: undefined,
            parentSpanId: new Uint8Array(),
          }),
        );
      const sent = new Map(spansOf(trace).map((s) => [hex(s.spanId), withoutAttributes(s)]));
      for (const span of arrival.requests.flatMap((r) => spansOf(r.request)))
        expect(withoutAttributes(span)).toEqual(sent.get(hex(span.spanId)));
      // A credential the caller's request gave the gateway reaches Braintrust nowhere, masked where its setting shows.
      const delivered = JSON.stringify(arrival.requests.map((r) => toOtlpJson(r.request)));
      for (const credential of SENT_CREDENTIALS) expect(delivered).not.toContain(credential);
      const view = await standin.view(tenant.apiKey);
      expect(view.unlisted).toBe(0);
      await expect(`${JSON.stringify(view, null, 2)}\n`).toMatchFileSnapshot(`./fixtures/${shape}.view.json`);
    });
  }
});

describe("a gateway trace whose text an exporter cut inside an emoji", () => {
  /**
   * The trace-inspection example, its root's `tfy.input_short_hand` cut between an emoji's halves, as
   * cutting a string by UTF-16 length leaves it: in OTLP/JSON the half comes as the escape "\ud83d", in
   * protobuf as an encoder writing UTF-16 units one by one writes it, the bytes ED A0 BD.
   */
  const cutTrace = () => {
    const trace = GATEWAY_SHAPES["chat-with-guardrail"]!();
    const root = spansOf(trace).find((s) => s.parentSpanId.length === 0)!;
    root.attributes.find((a) => a.key === "tfy.input_short_hand")!.value!.value = { case: "stringValue", value: "A joke \u0000MARK" };
    return trace;
  };

  it("shows the same whole trace sent as protobuf as sent as OTLP/JSON: the root, and every span under it, listed", async () => {
    const views = [];
    for (const format of ["protobuf", "json"] as const) {
      const tenant = await createTenant();
      const trace = cutTrace();
      const protobuf = toProtobuf(trace).slice();
      protobuf.set([0xed, 0xa0, 0xbd], bytesAt(protobuf, new TextEncoder().encode("\u0000MARK")));
      const body = format === "protobuf" ? protobuf : JSON.stringify(toOtlpJson(trace)).replace("\\u0000MARK", "\\ud83dRK");

      const response = await sendTraces(tenant, body, {
        contentType: format === "protobuf" ? "application/x-protobuf" : "application/json",
      });

      expect(response.status).toBe(200);
      expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
      views.push(await standin.view(tenant.apiKey));
    }
    const [fromProtobuf, fromJson] = views;
    expect(fromProtobuf!.traces.map((t) => t.root)).toEqual(["ChatCompletion: openai-main/gpt-4o-mini"]);
    expect(fromProtobuf!.unlisted).toBe(0);
    expect(fromProtobuf).toEqual(fromJson);
  });
});
