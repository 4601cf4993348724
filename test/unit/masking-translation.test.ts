import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AnyValueSchema, type KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Span_EventSchema, Status_StatusCode, StatusSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, spansOf } from "../../scripts/lib/traces.js";
import { keyValue } from "../../src/process/attributes.js";
import { relayed } from "../support/pipeline.js";
import { attributesOf, requestOf, spanWith } from "../support/traces.js";

/**
 * Text a tenant's value rules mask in a span as it came must not reach Braintrust because translation
 * restated it in another form: nested as a JSON string inside the JSON it writes, joined into the span's
 * error, or cut out of a longer value.
 */

const CARD = "4111111111111111";
/** A value that is a card number, whole: masked in an attribute of its own, and per JSON token. */
const WHOLE_CARD = { pattern: "^\\d{16}$", replacement: "[card]" };

/** The one span sent for `span` by a tenant with these settings. */
function sentSpan(span: Span, settings: Record<string, unknown>): Span {
  const { requests } = relayed(requestOf([span]), settings);
  expect(requests).toHaveLength(1);
  return spansOf(requests[0]!.request)[0]!;
}

/** Everything of a sent span Braintrust shows, as text. */
function shown(span: Span): string {
  return JSON.stringify({
    name: span.name,
    attributes: attributesOf(span),
    status: span.status?.message,
    events: span.events.map((e) => ({ name: e.name, attributes: attributesOf(e) })),
  });
}

/** Shows `secret` nowhere in Braintrust, translated or not, of what `make` makes, for a tenant masking by `rule`. */
function expectHiddenEitherWay(make: () => Span, rule: unknown, secret: string): void {
  const settings = { redact: { values: [rule] } };
  expect(shown(sentSpan(make(), { ...settings, translate: false }))).not.toContain(secret);
  expect(shown(sentSpan(make(), settings))).not.toContain(secret);
}

function stringValue(value: string) {
  return create(AnyValueSchema, { value: { case: "stringValue", value } });
}

function kvlist(key: string, entries: KeyValue[]): KeyValue {
  return keyValue(key, create(AnyValueSchema, { value: { case: "kvlistValue", value: { values: entries } } }));
}

/** The older gateway's model call whose answer is one tool call with these arguments (JSON text, as Traceloop writes them). */
function traceloopToolCall(args: string): Span {
  return spanWith("chatCompletions", [
    attr("gen_ai.request.model", "gpt-4o"),
    attr("gen_ai.prompt.0.role", "user"),
    attr("gen_ai.prompt.0.content", "Pay the invoice"),
    attr("gen_ai.completion.0.role", "assistant"),
    attr("gen_ai.completion.0.tool_calls.0.id", "call_1"),
    attr("gen_ai.completion.0.tool_calls.0.name", "pay"),
    attr("gen_ai.completion.0.tool_calls.0.arguments", args),
  ]);
}

/** The arguments of the first tool call of the output a translated span shows, parsed as Braintrust's LLM view reads them. */
function shownArguments(span: Span): unknown {
  const output = JSON.parse(attributesOf(span)["braintrust.output_json"] as string) as Array<{
    tool_calls: Array<{ function: { arguments: string } }>;
  }>;
  return JSON.parse(output[0]!.tool_calls[0]!.function.arguments);
}

describe("JSON text an attribute held, nested by translation as a string inside the JSON it writes", () => {
  it("the emails rule masks an address escaped in Traceloop tool call arguments, as it does untranslated", () => {
    const args = '{"email":"bob\\u0040acme.com"}';
    const settings = { redact: { values: ["emails"] } };
    // Untranslated, the arguments' string is decoded and masked: `\u0040` for `@` hides nothing.
    expect(
      attributesOf(sentSpan(traceloopToolCall(args), { ...settings, translate: false }))["gen_ai.completion.0.tool_calls.0.arguments"],
    ).toBe('{"email":"[REDACTED]"}');
    // Translated, Braintrust's reading of the arguments gives the address.
    expect(shownArguments(sentSpan(traceloopToolCall(args), settings))).toEqual({ email: "[REDACTED]" });
  });

  it("a literal pattern masks a name escaped by an ASCII-only encoder in Traceloop tool call arguments", () => {
    const args = '{"payee":"Jos\\u00e9 Garc\\u00eda"}';
    const settings = { redact: { values: [{ pattern: "José García" }] } };
    expect(
      attributesOf(sentSpan(traceloopToolCall(args), { ...settings, translate: false }))["gen_ai.completion.0.tool_calls.0.arguments"],
    ).toBe('{"payee":"[REDACTED]"}');
    expect(shownArguments(sentSpan(traceloopToolCall(args), settings))).toEqual({ payee: "[REDACTED]" });
  });

  it("an anchored rule masks a value of Traceloop tool call arguments", () => {
    const args = JSON.stringify({ card: CARD });
    expectHiddenEitherWay(() => traceloopToolCall(args), WHOLE_CARD, CARD);
  });

  it("an anchored rule masks a value of a JSON-mode answer in a Traceloop completion", () => {
    const make = () =>
      spanWith("chatCompletions", [
        attr("gen_ai.request.model", "gpt-4o"),
        attr("gen_ai.prompt.0.role", "user"),
        attr("gen_ai.prompt.0.content", "Card on file, as JSON"),
        attr("gen_ai.completion.0.role", "assistant"),
        attr("gen_ai.completion.0.content", JSON.stringify({ card: CARD })),
      ]);
    expectHiddenEitherWay(make, WHOLE_CARD, CARD);
  });

  it("an anchored rule masks a value of JSON text in a flattened caller metadata attribute", () => {
    const make = () =>
      spanWith("ChatCompletion", [
        attr("tfy.span_type", "ChatCompletion"),
        attr("tfy.request.metadata.billing", JSON.stringify({ card: CARD })),
      ]);
    expectHiddenEitherWay(make, WHOLE_CARD, CARD);
  });

  it("an anchored rule masks a value of JSON text in a prompt variable sent as a key-value list", () => {
    const make = () =>
      spanWith("ChatCompletion", [
        attr("tfy.span_type", "ChatCompletion"),
        kvlist("tfy.prompt_variables", [keyValue("profile", stringValue(JSON.stringify({ card: CARD })))]),
      ]);
    expectHiddenEitherWay(make, WHOLE_CARD, CARD);
  });
});

describe("JSON held in a string of a JSON value", () => {
  it("is masked as JSON three levels down, as Braintrust reads it: an escape there hides nothing either", () => {
    let value = '{"to":"bob\\u0040acme.com"}';
    for (let level = 0; level < 3; level++) value = JSON.stringify({ v: value });

    const out = sentSpan(spanWith("s", [attr("v", value)]), { translate: false, redact: { values: ["emails"] } });

    let read = attributesOf(out).v as string;
    for (let level = 0; level < 3; level++) read = (JSON.parse(read) as { v: string }).v;
    expect(JSON.parse(read)).toEqual({ to: "[REDACTED]" });
  });
});

describe("a message translation joins into the span's error", () => {
  const NOT_FOUND = { pattern: "^Customer \\d+ not found$" };

  it("an anchored rule masks the gateway's error message after a status code", () => {
    const make = () => {
      const span = spanWith("Model", [attr("tfy.span_type", "Model"), attr("tfy.error_message", "Customer 1234 not found")]);
      span.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: "404" });
      return span;
    };
    expectHiddenEitherWay(make, NOT_FOUND, "Customer 1234");
  });

  it("an anchored rule masks an answer's error body message after a status code", () => {
    const make = () => {
      const span = spanWith("Model", [
        attr("tfy.span_type", "Model"),
        attr("tfy.input", JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })),
        attr("tfy.output", JSON.stringify({ error: { message: "Customer 1234 not found", type: "invalid_request_error" } })),
      ]);
      span.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: "404" });
      return span;
    };
    expectHiddenEitherWay(make, NOT_FOUND, "Customer 1234");
  });

  it("an anchored rule masks an exception event's message after its type", () => {
    const make = () => {
      const span = spanWith("charge", []);
      span.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: "" });
      span.events = [
        create(Span_EventSchema, {
          name: "exception",
          attributes: [attr("exception.type", "CardDeclined"), attr("exception.message", CARD)],
        }),
      ];
      return span;
    };
    expectHiddenEitherWay(make, WHOLE_CARD, CARD);
  });

  it("an anchored rule masks an MCP result's text part joined to the others, one to a line", () => {
    const make = () =>
      spanWith("MCP", [
        attr("tfy.span_type", "MCP"),
        attr("tfy.input", JSON.stringify({ name: "charge", arguments: {} })),
        attr(
          "tfy.output",
          JSON.stringify({
            isError: true,
            content: [
              { type: "text", text: "declined:" },
              { type: "text", text: CARD },
            ],
          }),
        ),
      ]);
    const settings = { redact: { values: [WHOLE_CARD] } };
    expect(shown(sentSpan(make(), { ...settings, translate: false }))).not.toContain(CARD);
    const translated = sentSpan(make(), settings);
    expect(translated.status?.message).toBe("declined:\n[card]");
    expect(shown(translated)).not.toContain(CARD);
  });

  it("leaves an error as it joined it when masking it whole masks its parts alike, so no rule masks twice", () => {
    const make = () => {
      const span = spanWith("Model", [attr("tfy.span_type", "Model"), attr("tfy.error_message", "secret key refused")]);
      span.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: "401" });
      return span;
    };

    const translated = sentSpan(make(), { redact: { values: [{ pattern: "secret", replacement: "[secret]" }] } });

    expect(translated.status?.message).toBe("401: [secret] key refused");
  });
});

describe("a model name translation cuts out of a masked one", () => {
  it.each([{ pattern: "^azure-acme/.*$" }, { pattern: "azure-acme/[\\w.:-]+" }])(
    "%o masks the model's name without its account",
    (rule) => {
      const make = () =>
        spanWith("Model", [
          attr("tfy.span_type", "Model"),
          attr("tfy.request.model_name", "azure-acme/claims-triage-ft-2"),
          attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content: "hi" }] })),
        ]);
      const settings = { redact: { values: [rule] } };
      expect(shown(sentSpan(make(), { ...settings, translate: false }))).not.toContain("claims-triage");
      expect(shown(sentSpan(make(), settings))).not.toContain("claims-triage");
    },
  );
});

describe("what translation derives, read again from masked sources", () => {
  it("leaves a failed MCP call with a large result failed, with its message, for a tenant with value rules", () => {
    const make = () =>
      spanWith("MCP", [
        attr("tfy.span_type", "MCP"),
        attr("tfy.input", JSON.stringify({ name: "charge", arguments: {} })),
        attr(
          "tfy.output",
          JSON.stringify({
            isError: true,
            content: [{ type: "text", text: "quota exceeded" }],
            rows: Array.from({ length: 60_000 }, () => []),
          }),
        ),
      ]);
    expect(sentSpan(make(), {}).status?.message).toBe("quota exceeded");
    const ruled = sentSpan(make(), { redact: { values: ["emails"] } });
    expect(ruled.status?.code).toBe(Status_StatusCode.ERROR);
    expect(ruled.status?.message).toBe("quota exceeded");
  });

  it("an anchored rule masks an MCP call's error code in the sentence translation makes of it", () => {
    const make = () =>
      spanWith("MCP", [
        attr("tfy.span_type", "MCP"),
        attr("tfy.input", JSON.stringify({ name: "charge", arguments: {} })),
        attr("tfy.mcp_server.error_code", "ACCT-4111111111111111"),
      ]);
    expectHiddenEitherWay(make, { pattern: "^ACCT-\\d{16}$", replacement: "[acct]" }, "4111111111111111");
  });
});
