import { create, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { SpanSchema, Status_StatusCode, StatusSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, spansOf, toOtlpJson, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { createTenant, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { attributesOf, requestOf, rpcStatusOf, spanIdsOf, spanWith } from "./support/traces.js";
import { lengthDelimited, requestWithSpanFields, varint } from "./support/wire.js";

const json = (value: unknown) => JSON.stringify(value);

describe.concurrent("TrueFoundry → Braintrust translation", () => {
  it.each(["protobuf", "json"] as const)(
    "turns a gateway trace (%s) into Braintrust's attributes, and sends no source it restated",
    async (format) => {
      const tenant = await createTenant();
      const trace = trueFoundryTrace();
      const [, model] = spansOf(trace);
      model!.attributes.push(
        attr("tfy.input", json({ model: "gpt-4.1-mini", messages: [{ role: "user", content: "Hi" }] })),
        attr("tfy.output", "not json"),
      );

      const body = format === "protobuf" ? toProtobuf(trace) : JSON.stringify(toOtlpJson(trace));
      expect((await sendTraces(tenant, body, { contentType: `application/${format === "protobuf" ? "x-protobuf" : "json"}` })).status).toBe(
        200,
      );

      const spans = await standin.spansByName(tenant.apiKey);
      const root = attributesOf(spans.get("ChatCompletion: openai/gpt-4.1-mini")!);
      expect(root["braintrust.span_attributes"]).toBe(json({ type: "task", name: "ChatCompletion: openai/gpt-4.1-mini" }));
      expect(root["braintrust.input_json"]).toBe(json([{ role: "user", content: "What is the capital of France?" }]));
      expect(root["braintrust.output_json"]).toBe(
        json([{ index: 0, message: { role: "assistant", content: "Paris." }, finish_reason: "stop" }]),
      );
      // The caller's metadata shows key by key, its tags as tags.
      expect(JSON.parse(root["braintrust.metadata"] as string)).toEqual({
        env: "prod",
        stream: false,
        model: "gpt-4.1-mini",
        response: { id: "chatcmpl-1" },
      });
      expect(root["braintrust.tags"]).toEqual(["checkout"]);
      expect(Object.keys(root).filter((key) => !key.startsWith("braintrust."))).toEqual([
        "tfy.span_type",
        "tfy.request.model_name",
        "tfy.request.created_by_subject",
        "tfy.request.conversation_id",
      ]);

      const llm = attributesOf(spans.get("Model: openai/gpt-4.1-mini")!);
      expect(llm["braintrust.span_attributes"]).toBe(json({ type: "llm", name: "Model: openai/gpt-4.1-mini" }));
      expect(llm["braintrust.input_json"]).toBe(json([{ role: "user", content: "Hi" }]));
      expect(llm["braintrust.output_json"]).toBe(json("not json"));
      expect(JSON.parse(llm["braintrust.metrics"] as string)).toEqual({
        prompt_tokens: 14,
        completion_tokens: 3,
        tokens: 17,
        estimated_cost: 0.0000134,
        time_to_first_token: 0.23025,
      });
      expect(JSON.parse(llm["braintrust.metadata"] as string)).toEqual({ model: "gpt-4.1-mini" });
      expect(Object.keys(llm).filter((key) => key.startsWith("tfy.model.metric."))).toEqual(["tfy.model.metric.latency_in_ms"]);
      expect(spans.get("Model: openai/gpt-4.1-mini")!.events).toEqual(spansOf(trace)[1]!.events);

      const http = spans.get("POST https://api.openai.com/v1/chat/completions")!;
      expect(toBinary(SpanSchema, http)).toEqual(toBinary(SpanSchema, spansOf(trace)[2]!));
    },
  );

  it("keeps the source attributes beside their translation for a tenant that asks to", async () => {
    const tenant = await createTenant({ config: { keep_source_attributes: true } });
    const trace = trueFoundryTrace();

    await sendTraces(tenant, toProtobuf(trace));

    const spans = await standin.spansByName(tenant.apiKey);
    for (const sent of spansOf(trace)) {
      const delivered = spans.get(sent.name)!;
      expect(delivered.attributes.slice(0, sent.attributes.length)).toEqual(sent.attributes);
    }
    expect(attributesOf(spans.get("ChatCompletion: openai/gpt-4.1-mini")!)["braintrust.input_json"]).toBe(
      json([{ role: "user", content: "What is the capital of France?" }]),
    );
  });

  it.each([
    ["MCP", "tool"],
    ["Guardrail", "function"],
    ["Embedding", "task"],
    ["Completion", "task"],
    ["AgentResponse", "task"],
  ])("gives a %s span the Braintrust type %s", async (tfyType, type) => {
    const tenant = await createTenant();
    await sendTraces(tenant, toProtobuf(requestOf([spanWith(`${tfyType}: x`, [attr("tfy.span_type", tfyType)])])));
    const [span] = (await standin.spansByName(tenant.apiKey)).values();
    expect(attributesOf(span!)["braintrust.span_attributes"]).toBe(json({ type, name: `${tfyType}: x` }));
  });

  it("records a streaming call's time to first token, and shows a failed call's error, from its status or tfy.error_message", async () => {
    const tenant = await createTenant();
    // A root shows as a task in Braintrust's Logs, so the model call is the child of its request.
    const request = spanWith("ChatCompletion: claude", [attr("tfy.span_type", "ChatCompletion")]);
    const streaming = spanWith(
      "Model: claude",
      [
        attr("tfy.span_type", "Model"),
        attr("tfy.model.streaming", true),
        attr("tfy.model.metric.time_to_first_token_in_ms", 1250),
        attr("tfy.model.metric.output_tokens", 40),
      ],
      { traceId: request.traceId, parentSpanId: request.spanId },
    );
    const failed = spanWith("ChatCompletion: x", [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.error_message", "rate limited by provider"),
    ]);
    failed.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: "rate limited by provider" });
    // Failed by its attribute alone, its status left unset: the error comes from the attribute.
    const unsetStatus = spanWith("ChatCompletion: y", [attr("tfy.span_type", "ChatCompletion"), attr("tfy.error_message", "timed out")]);
    const sent = requestOf([streaming, request, failed, unsetStatus]);

    await sendTraces(tenant, toProtobuf(sent));
    await standin.waitForSpans(tenant.apiKey, spanIdsOf(sent));

    const view = await standin.view(tenant.apiKey);
    const byName = new Map(view.traces.map((t) => [t.root, t.tree]));
    expect(byName.get("ChatCompletion: claude")?.children[0]).toMatchObject({
      type: "llm",
      metrics: { completion_tokens: 40, tokens: 40, time_to_first_token: 1.25 },
      metadata: { "tfy.model.streaming": true, "tfy.span_type": "Model" },
      error: null,
    });
    // The message is the span's error, so it is not shown a second time in metadata.
    expect(byName.get("ChatCompletion: x")).toMatchObject({ type: "task", error: "rate limited by provider" });
    expect(byName.get("ChatCompletion: x")?.metadata).not.toHaveProperty("tfy.error_message");
    expect(byName.get("ChatCompletion: y")).toMatchObject({ type: "task", error: "timed out" });
    expect(byName.get("ChatCompletion: y")?.metadata).not.toHaveProperty("tfy.error_message");
  });

  it("turns Traceloop-style gen_ai.prompt/completion attributes into message lists", async () => {
    const tenant = await createTenant();
    const span = spanWith("openai.chat", [
      attr("gen_ai.system", "openai"),
      attr("gen_ai.request.model", "gpt-4o"),
      attr("gen_ai.prompt.1.role", "user"),
      attr("gen_ai.prompt.1.content", "42"),
      attr("gen_ai.prompt.0.role", "system"),
      attr("gen_ai.prompt.0.content", "Be brief."),
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.content", "Yes."),
      attr("gen_ai.usage.prompt_tokens", 9),
    ]);

    await sendTraces(tenant, toProtobuf(requestOf([span])));

    const attributes = attributesOf([...(await standin.spansByName(tenant.apiKey)).values()][0]!);
    expect(attributes["braintrust.span_attributes"]).toBe(json({ type: "llm", name: "openai.chat" }));
    expect(attributes["braintrust.input_json"]).toBe(
      json([
        { role: "system", content: "Be brief." },
        { role: "user", content: "42" },
      ]),
    );
    expect(attributes["braintrust.output_json"]).toBe(json([{ role: "assistant", content: "Yes." }]));
    expect(JSON.parse(attributes["braintrust.metadata"] as string)).toEqual({ model: "gpt-4o" });
    expect(JSON.parse(attributes["braintrust.metrics"] as string)).toEqual({ prompt_tokens: 9, tokens: 9 });
    // The model goes: metadata.model says it.
    expect(Object.keys(attributes).filter((key) => !key.startsWith("braintrust."))).toEqual(["gen_ai.system"]);
  });

  it("shows the request's settings and the rest of the response digit for digit, integers past 2^53 too", async () => {
    const tenant = await createTenant();
    const span = spanWith("ChatCompletion: x", [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"model":"gpt-4o","seed":12345678901234567890,"temperature":0.5,"messages":[{"role":"user","content":"Hi"}]}'),
      attr("tfy.output", '{"id":"r1","created":-9223372036854775808,"choices":[{"message":{"role":"assistant","content":"Hello"}}]}'),
    ]);

    await sendTraces(tenant, toProtobuf(requestOf([span])));

    const attributes = attributesOf([...(await standin.spansByName(tenant.apiKey)).values()][0]!);
    expect(attributes["braintrust.metadata"]).toBe(
      '{"seed":12345678901234567890,"temperature":0.5,"model":"gpt-4o","response":{"id":"r1","created":-9223372036854775808}}',
    );
    expect(Object.keys(attributes).filter((key) => key.startsWith("tfy."))).toEqual(["tfy.span_type"]);
  });

  it("leaves a span's own braintrust.* attributes as they are", async () => {
    const tenant = await createTenant();
    const span = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("braintrust.span_attributes", json({ type: "score" }))]);

    await sendTraces(tenant, toProtobuf(requestOf([span])));

    const attributes = [...(await standin.spansByName(tenant.apiKey)).values()][0]!.attributes;
    expect(attributes.filter((a) => a.key === "braintrust.span_attributes").map((a) => a.value?.value.value)).toEqual([
      json({ type: "score" }),
    ]);
  });

  it("keeps fields the schema does not know on a translated span, and leaves non-gateway spans byte for byte", async () => {
    const tenant = await createTenant();
    const translated = spanWith("Model: x", [attr("tfy.span_type", "Model")]);
    translated.$unknown = [{ no: 99, wireType: WireType.LengthDelimited, data: new Uint8Array([2, 0x68, 0x69]) }];
    const plain = spanWith("db.query", [attr("db.system", "postgresql")]);
    plain.$unknown = [{ no: 98, wireType: WireType.Varint, data: new Uint8Array([7]) }];

    await sendTraces(tenant, toProtobuf(requestOf([translated, plain])));

    const spans = await standin.spansByName(tenant.apiKey);
    expect(spans.get("Model: x")!.$unknown).toEqual(translated.$unknown);
    expect(toBinary(SpanSchema, spans.get("db.query")!)).toEqual(toBinary(SpanSchema, plain));
  });

  it("refuses a span whose bytes hide a prompt where protobuf-es reads it but other decoders skip it: nothing half read goes on", async () => {
    const tenant = await createTenant();
    const utf8 = (text: string) => new TextEncoder().encode(text);
    const stringAttribute = (key: string, value: string) =>
      lengthDelimited(9, [...lengthDelimited(1, utf8(key)), ...lengthDelimited(2, lengthDelimited(1, utf8(value)))]);
    const prompt = stringAttribute("tfy.input", json({ messages: [{ role: "user", content: "hi" }] }));
    // Span.kind (6) sent length-delimited: protobuf-es reads the length as the kind and the bytes
    // after it as the span's own fields, the prompt among them, where a decoder that follows
    // protobuf's rules skips them, an unknown field.
    const body = requestWithSpanFields([
      ...varint((6 << 3) | 2),
      ...varint(prompt.length),
      ...prompt,
      ...stringAttribute("tfy.span_type", "ChatCompletion"),
    ]);

    const response = await sendTraces(tenant, body);

    expect(response.status).toBe(400);
    expect((await rpcStatusOf(response)).message).toBe(
      "request body is not a valid ExportTraceServiceRequest: field 6 of opentelemetry.proto.trace.v1.Span has wire type 2, where it has 0",
    );
    expect(await standin.received(tenant.apiKey)).toEqual([]);
  });

  it("is off when the tenant says translate: false: spans arrive as they were sent", async () => {
    const tenant = await createTenant({ config: { translate: false } });
    const trace = trueFoundryTrace();

    await sendTraces(tenant, toProtobuf(trace));

    const [received] = await standin.received(tenant.apiKey);
    expect(received!.bytes).toEqual(toProtobuf(trace));
  });
});
