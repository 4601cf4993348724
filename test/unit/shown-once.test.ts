import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Span_EventSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { SpanView } from "../../scripts/lib/braintrust-standin-contract.js";
import { braintrustView } from "../../scripts/lib/braintrust-view.js";
import { attr } from "../../scripts/lib/traces.js";
import { relayed } from "../support/pipeline.js";
import { requestOf, spanWith } from "../support/traces.js";

/**
 * A gateway that writes the GenAI conventions beside its own payload says each thing twice: what
 * the payload shows in Braintrust (input, output, metadata) goes once, not again as message events
 * or `gen_ai.request.*` keys in metadata. Checked on the view Braintrust renders.
 */

const json = (value: unknown) => JSON.stringify(value);
const event = (name: string, attributes: KeyValue[]) => create(Span_EventSchema, { name, timeUnixNano: 5n, attributes });

/** The one span the relay sends for this span, as Braintrust shows it. */
function viewOf(span: Span, settings: Record<string, unknown> = {}): SpanView & { messageEvents?: Array<{ name: string }> } {
  return braintrustView(relayed(requestOf([span]), settings).requests.map((r) => r.request)).traces[0]!.tree;
}

/** A model call with its payload, and the conventions' message events restating it. */
function callWithEvents(): Span {
  const span = spanWith("Model: openai-main/gpt-4o", [
    attr("tfy.span_type", "Model"),
    attr("gen_ai.system", "openai"),
    attr("tfy.model.name", "gpt-4o"),
    attr(
      "tfy.input",
      json({
        model: "openai-main/gpt-4o",
        messages: [
          { role: "system", content: "Answer with a city." },
          { role: "user", content: "Capital of Japan?" },
        ],
      }),
    ),
    attr("tfy.output", json({ choices: [{ index: 0, message: { role: "assistant", content: "Tokyo." }, finish_reason: "stop" }] })),
  ]);
  span.events = [
    event("gen_ai.system.message", [attr("content", "Answer with a city.")]),
    event("gen_ai.user.message", [attr("content", "Capital of Japan?")]),
    event("gen_ai.choice", [attr("index", 0), attr("finish_reason", "stop"), attr("message", { role: "assistant", content: "Tokyo." })]),
  ];
  return span;
}

describe("message events beside the gateway's payload, without indexed messages", () => {
  it("go when they restate the payload's messages and choices: the conversation shows once", () => {
    const view = viewOf(callWithEvents());

    expect(view.input).toEqual([
      { role: "system", content: "Answer with a city." },
      { role: "user", content: "Capital of Japan?" },
    ]);
    expect(view.output).toEqual([{ index: 0, message: { role: "assistant", content: "Tokyo." }, finish_reason: "stop" }]);
    expect(view.messageEvents).toBeUndefined();
  });

  it("stay when they say more than the payload, and all of them for a tenant keeping sources", () => {
    const more = callWithEvents();
    more.events.push(event("gen_ai.user.message", [attr("content", "And of France?")]));
    more.events[2] = event("gen_ai.choice", [attr("index", 0), attr("finish_reason", "length"), attr("message", { content: "Tokyo." })]);
    const names = (view: ReturnType<typeof viewOf>) => view.messageEvents?.map((e) => e.name);

    expect(names(viewOf(more))).toEqual(["gen_ai.choice", "gen_ai.user.message"]);
    expect(names(viewOf(callWithEvents(), { keep_source_attributes: true }))).toEqual([
      "gen_ai.system.message",
      "gen_ai.user.message",
      "gen_ai.choice",
    ]);
  });
});

describe("message events as OpenTelemetry's SDKs write them: scalar attributes only", () => {
  const answer = { role: "assistant", content: "Tokyo." };
  const withChoice = (choice: KeyValue[], provider?: string) => {
    const span = callWithEvents();
    const named = (attributes: KeyValue[]) => (provider === undefined ? attributes : [attr("gen_ai.system", provider), ...attributes]);
    span.events = [
      event("gen_ai.system.message", named([attr("content", "Answer with a city.")])),
      event("gen_ai.user.message", named([attr("content", "Capital of Japan?")])),
      event("gen_ai.choice", named([attr("index", 0), attr("finish_reason", "stop"), ...choice])),
    ];
    return span;
  };
  const names = (view: ReturnType<typeof viewOf>) => view.messageEvents?.map((e) => e.name);

  it("a choice's message as JSON text, or flattened into message.* attributes, goes as the key-value list does", () => {
    expect(names(viewOf(withChoice([attr("message", json(answer))])))).toBeUndefined();
    expect(names(viewOf(withChoice([attr("message.role", "assistant"), attr("message.content", "Tokyo.")])))).toBeUndefined();
  });

  it("a choice saying more than the answer, or its message twice, stays", () => {
    expect(names(viewOf(withChoice([attr("message", json({ ...answer, content: "Kyoto." }))])))).toEqual(["gen_ai.choice"]);
    expect(names(viewOf(withChoice([attr("message", "Tokyo.")])))).toEqual(["gen_ai.choice"]);
    expect(names(viewOf(withChoice([attr("message", json(answer)), attr("message.content", "Tokyo.")])))).toEqual(["gen_ai.choice"]);
  });

  it("events naming the provider on a span that names none go, and the provider shows once in metadata", () => {
    const span = withChoice([attr("message", json(answer))], "openai");
    span.attributes = span.attributes.filter((a) => a.key !== "gen_ai.system");
    const view = viewOf(span);

    expect(names(view)).toBeUndefined();
    expect(view.metadata["gen_ai.system"]).toBe("openai");
  });

  it("events naming another provider than the span's, or two providers, stay", () => {
    expect(names(viewOf(withChoice([attr("message", json(answer))], "anthropic")))).toEqual([
      "gen_ai.system.message",
      "gen_ai.user.message",
      "gen_ai.choice",
    ]);
    const two = withChoice([attr("message", json(answer))], "openai");
    two.attributes = two.attributes.filter((a) => a.key !== "gen_ai.system");
    two.events[0] = event("gen_ai.system.message", [attr("gen_ai.system", "azure"), attr("content", "Answer with a city.")]);
    const view = viewOf(two);

    expect(names(view)).toEqual(["gen_ai.system.message", "gen_ai.user.message", "gen_ai.choice"]);
    expect(view.metadata["gen_ai.system"]).toBeUndefined();
  });
});

describe("the conventions' request attributes beside the gateway's payload", () => {
  it("show each setting and model once in metadata: as the payload says them", () => {
    const view = viewOf(
      spanWith("Model: openai-main/gpt-4o", [
        attr("tfy.span_type", "Model"),
        attr("gen_ai.operation.name", "chat"),
        attr("gen_ai.request.model", "openai-main/gpt-4o"),
        attr("gen_ai.request.temperature", 0.2),
        attr("gen_ai.request.max_tokens", 64),
        attr("gen_ai.response.model", "gpt-4o-2024-08-06"),
        attr("tfy.input", json({ model: "openai-main/gpt-4o", temperature: 0.2, messages: [{ role: "user", content: "hi" }] })),
        attr("tfy.output", json({ model: "gpt-4o-2024-08-06", choices: [] })),
      ]),
    );

    expect(view.metadata).toEqual({
      "gen_ai.operation.name": "chat",
      // Not in the body: the conventions alone say it.
      "gen_ai.request.max_tokens": 64,
      gateway_model: "openai-main/gpt-4o",
      model: "gpt-4o-2024-08-06",
      temperature: 0.2,
      "tfy.span_type": "Model",
    });
  });

  it("show the response's id, its finish reasons and the conversation once: as the payload and the gateway say them", () => {
    const attributes = (finishReasons: string[]) => [
      attr("tfy.span_type", "Model"),
      attr("tfy.request.conversation_id", "conv-7"),
      attr("gen_ai.conversation.id", "conv-7"),
      attr("gen_ai.response.id", "chatcmpl-1"),
      attr("gen_ai.response.finish_reasons", finishReasons),
      attr("tfy.input", json({ messages: [{ role: "user", content: "hi" }] })),
      attr(
        "tfy.output",
        json({ id: "chatcmpl-1", choices: [{ message: { role: "assistant", content: "Hello." }, finish_reason: "stop" }] }),
      ),
    ];

    expect(viewOf(spanWith("Model: gpt-4o", attributes(["stop"]))).metadata).toEqual({
      response: { id: "chatcmpl-1" },
      "tfy.request.conversation_id": "conv-7",
      "tfy.span_type": "Model",
    });
    // Finish reasons the output does not say stay.
    expect(viewOf(spanWith("Model: gpt-4o", attributes(["length"]))).metadata["gen_ai.response.finish_reasons"]).toEqual(["length"]);
  });

  it("keep the conventions' keys that say otherwise than the payload and the gateway: each is the only record of what it says", () => {
    const view = viewOf(
      spanWith("Model: openai-main/gpt-4o", [
        attr("tfy.span_type", "Model"),
        attr("tfy.request.conversation_id", "conv-7"),
        attr("gen_ai.conversation.id", "conv-8"),
        attr("gen_ai.response.id", "chatcmpl-2"),
        attr("gen_ai.request.temperature", 0.7),
        attr("gen_ai.request.top_p", 0.9),
        attr("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
        attr("tfy.input", json({ temperature: 0.2, top_p: 0.5, messages: [{ role: "user", content: "hi" }] })),
        attr(
          "tfy.output",
          json({ id: "chatcmpl-1", model: "gpt-4o-2024-08-06", choices: [{ message: { role: "assistant", content: "Hello." } }] }),
        ),
      ]),
    );

    expect(view.metadata).toMatchObject({
      "gen_ai.conversation.id": "conv-8",
      "tfy.request.conversation_id": "conv-7",
      "gen_ai.response.id": "chatcmpl-2",
      response: { id: "chatcmpl-1" },
      "gen_ai.request.temperature": 0.7,
      temperature: 0.2,
      "gen_ai.request.top_p": 0.9,
      top_p: 0.5,
      "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
      model: "gpt-4o-2024-08-06",
    });
  });

  it("show the model once on spans without a payload, as the gateway's streamed model call has none", () => {
    const genAi = [attr("gen_ai.request.model", "openai-main/gpt-4o"), attr("gen_ai.response.model", "gpt-4o-2024-08-06")];
    const top = spanWith("ChatCompletion: openai-main/gpt-4o", [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.request.model_name", "openai-main/gpt-4o"),
      attr("tfy.request.conversation_id", "conv-7"),
      attr("gen_ai.conversation.id", "conv-7"),
      ...genAi,
    ]);
    const call = spanWith("Model: openai-main/gpt-4o", [attr("tfy.span_type", "Model"), attr("tfy.model.name", "gpt-4o"), ...genAi], {
      traceId: top.traceId,
      parentSpanId: top.spanId,
    });
    const root = braintrustView(relayed(requestOf([call, top])).requests.map((r) => r.request)).traces[0]!.tree;

    expect(root.metadata).toEqual({
      model: "gpt-4o-2024-08-06",
      "tfy.request.conversation_id": "conv-7",
      "tfy.request.model_name": "openai-main/gpt-4o",
      "tfy.span_type": "ChatCompletion",
    });
    // The account's name is said by nothing else on the model call: it stays.
    expect(root.children[0]!.metadata).toEqual({
      "gen_ai.request.model": "openai-main/gpt-4o",
      model: "gpt-4o-2024-08-06",
      "tfy.model.name": "gpt-4o",
      "tfy.span_type": "Model",
    });
  });

  it("drops a response model without a payload that names the request's model, as tfy.request.model_name shows it already", () => {
    // A virtual model answers under the name it was asked by: metadata.model is the provider's, the request's name shows as asked.
    const span = spanWith("ChatCompletion: routing/fast-chat", [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.request.model_name", "routing/fast-chat"),
      attr("tfy.model.name", "gpt-4o"),
      attr("gen_ai.request.model", "routing/fast-chat"),
      attr("gen_ai.response.model", "routing/fast-chat"),
    ]);

    expect(viewOf(span).metadata).toEqual({
      model: "gpt-4o",
      "tfy.request.model_name": "routing/fast-chat",
      "tfy.span_type": "ChatCompletion",
    });
  });

  it("drops finish reasons restating an Anthropic message's stop_reason, shown in response, and keeps others", () => {
    const attributes = (finishReasons: string[]) => [
      attr("tfy.span_type", "Model"),
      attr("gen_ai.response.finish_reasons", finishReasons),
      attr("tfy.input", json({ model: "claude-sonnet-4-5", max_tokens: 64, messages: [{ role: "user", content: "hi" }] })),
      attr(
        "tfy.output",
        json({ id: "msg_1", type: "message", role: "assistant", content: [{ type: "text", text: "Hello." }], stop_reason: "end_turn" }),
      ),
    ];
    const shown = viewOf(spanWith("Model: claude", attributes(["end_turn"]))).metadata;

    expect(shown.response).toEqual({ id: "msg_1", type: "message", role: "assistant", stop_reason: "end_turn" });
    expect(shown).not.toHaveProperty("gen_ai.response.finish_reasons");
    expect(viewOf(spanWith("Model: claude", attributes(["max_tokens"]))).metadata["gen_ai.response.finish_reasons"]).toEqual([
      "max_tokens",
    ]);
    expect(viewOf(spanWith("Model: claude", attributes(["end_turn", "end_turn"]))).metadata["gen_ai.response.finish_reasons"]).toEqual([
      "end_turn",
      "end_turn",
    ]);
  });
});
