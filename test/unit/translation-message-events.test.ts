import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Span_EventSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, spansOf } from "../../scripts/lib/traces.js";
import { relayed } from "../support/pipeline.js";
import { requestOf, spanWith } from "../support/traces.js";

/**
 * The provider a model call's message events name, on a span that names none: written as the span's
 * `gen_ai.system` only when the events that named it go, so it is said once, and never beside one the
 * span has.
 */

const event = (name: string, attributes: KeyValue[]) => create(Span_EventSchema, { name, timeUnixNano: 5n, attributes });

/** A model call asked "Capital of Japan?", answered "Tokyo.", its message events saying `question` and `answer`, each naming openai. */
function callWithEvents(question: string, answer: string, attributes: KeyValue[] = []): Span {
  const span = spanWith("Model: openai-main/gpt-4o", [
    attr("tfy.span_type", "Model"),
    ...attributes,
    attr("tfy.input", JSON.stringify({ model: "openai-main/gpt-4o", messages: [{ role: "user", content: "Capital of Japan?" }] })),
    attr(
      "tfy.output",
      JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "Tokyo." }, finish_reason: "stop" }] }),
    ),
  ]);
  const openai = attr("gen_ai.system", "openai");
  span.events = [
    event("gen_ai.user.message", [openai, attr("content", question)]),
    event("gen_ai.choice", [
      openai,
      attr("index", 0),
      attr("finish_reason", "stop"),
      attr("message", { role: "assistant", content: answer }),
    ]),
  ];
  return span;
}

/** The one span the relay sends for this one. */
const sent = (span: Span) => spansOf(relayed(requestOf([span])).requests[0]!.request)[0]!;
const providers = (span: Span) => span.attributes.filter((a) => a.key === "gen_ai.system").map((a) => a.value?.value.value);

describe("message events naming the provider on a span that names none", () => {
  it("give the span their provider when they go, restating the payload", () => {
    const out = sent(callWithEvents("Capital of Japan?", "Tokyo."));

    expect(out.events).toEqual([]);
    expect(providers(out)).toEqual(["openai"]);
  });

  it("leave the span without one when they stay, saying something else: they name it still", () => {
    const out = sent(callWithEvents("Capital of France?", "Paris."));

    expect(out.events.map((e) => e.name)).toEqual(["gen_ai.user.message", "gen_ai.choice"]);
    expect(providers(out)).toEqual([]);
  });

  it("add none beside a gen_ai.system of the span's own that is no string", () => {
    const out = sent(callWithEvents("Capital of Japan?", "Tokyo.", [attr("gen_ai.system", 7)]));

    expect(providers(out)).toEqual([7n]);
  });
});
