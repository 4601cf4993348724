import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import {
  addedKeyValue,
  applyTranslation,
  type SpanTranslation,
  type TranslationOptions,
  translateSpan,
} from "../../src/process/translate.js";
import { attributesOf, spanWith } from "./traces.js";

/** Translation's two settings of the tenant option that keeps source attributes. */
export const DROP = { keepSourceAttributes: false };
export const KEEP = { keepSourceAttributes: true };

/** translateSpan, applied to the span as the relay applies it to a decoded one. */
export function translateInPlace(span: Span, options: TranslationOptions): SpanTranslation {
  const translation = translateSpan(span, options);
  applyTranslation(span, translation);
  return translation;
}

/** The braintrust.* attributes translation adds to one span with these attributes, JSON ones parsed. */
export function translated(attributes: KeyValue[], name = "span"): Record<string, unknown> {
  const span = spanWith(name, attributes);
  const { added } = translateSpan(span, DROP);
  return Object.fromEntries(
    added
      .map(addedKeyValue)
      .map((a) => [a.key, attributesOf(spanWith("", [a]))[a.key]])
      .map(([key, value]) => [key, typeof value === "string" ? JSON.parse(value) : value]),
  );
}

/** The keys a span with these attributes keeps after translation. */
export function keptKeys(attributes: KeyValue[], options = DROP): string[] {
  const span = spanWith("span", attributes);
  translateInPlace(span, options);
  return span.attributes.map((a) => a.key).filter((key) => !key.startsWith("braintrust."));
}

/**
 * A Responses API answer whose output is one message holding `text`, as OpenAI sends it; `more`
 * adds top-level fields (the SDKs' `output_text`, the request's `tools` echoed back).
 */
export function responsesApiAnswer(text: string, more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "resp_1",
    object: "response",
    status: "completed",
    model: "gpt-4.1-2025-04-14",
    output: [
      {
        type: "message",
        id: "msg_1",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text, annotations: [] }],
      },
    ],
    ...more,
  };
}
