import { clone, create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Span,
  Span_EventSchema,
  SpanSchema,
  Status_StatusCode,
  StatusSchema,
} from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { braintrustView } from "../../scripts/lib/braintrust-view.js";
import { type AttrValue, attr, spansOf } from "../../scripts/lib/traces.js";
import { hex } from "../../src/encoding/bytes.js";
import { relayed } from "../support/pipeline.js";
import { attributesOf, requestOf, spanWith } from "../support/traces.js";

/** The attributes translation may remove: what it restates in braintrust.* attributes. */
const SOURCE =
  /^(tfy\.input|tfy\.input_short_hand|tfy\.output|tfy\.error_message|tfy\.request\.metadata(\..+)?|gen_ai\.(prompt|completion)\.\d+\..+|tfy\.model\.metric\.\w+|gen_ai\.usage\.\w+|gen_ai\.request\.\w+|gen_ai\.response\.model|tfy\.model\.name)$/;

const json = (value: fc.Arbitrary<unknown>) => value.map((v) => JSON.stringify(v));
const text = fc.string({ maxLength: 12 });
// Long contents too, so payloads are read from the request's bytes as well as from decoded text (see receive/span-fields.ts).
const content = fc.oneof(text, fc.string({ unit: "grapheme", minLength: 200, maxLength: 300 }));
const message = fc.record({ role: fc.constantFrom("system", "user", "assistant"), content });

/** What a gateway span may carry, each attribute optional, keys unique as OTLP requires. */
const gatewayAttributes: fc.Arbitrary<Record<string, AttrValue>> = fc.record(
  {
    "tfy.span_type": fc.constantFrom(
      "ChatCompletion",
      "Completion",
      "Embedding",
      "Rerank",
      "Model",
      "MCP",
      "AgentResponse",
      "Guardrail",
      "New",
    ),
    "tfy.input": fc.oneof(
      json(
        fc.record(
          {
            model: fc.constantFrom("openai-main/gpt-4o", "gpt-4o", "x/"),
            messages: fc.array(message, { maxLength: 3 }),
            input: fc.array(text, { maxLength: 2 }),
            temperature: fc.double({ noNaN: true, noDefaultInfinity: true }),
            tools: fc.array(fc.record({ type: fc.constant("function") }), { maxLength: 1 }),
          },
          { requiredKeys: [] },
        ),
      ),
      text,
    ),
    "tfy.output": fc.oneof(
      json(
        fc.record(
          {
            id: text,
            model: fc.constantFrom("gpt-4o-2024-08-06", "claude-sonnet-4-5"),
            choices: fc.array(fc.record({ index: fc.nat(3), message }), { maxLength: 2 }),
            usage: fc.record({
              prompt_tokens: fc.nat(),
              completion_tokens: fc.nat(),
              prompt_tokens_details: fc.record({ cached_tokens: fc.nat() }),
            }),
          },
          { requiredKeys: [] },
        ),
      ),
      text,
    ),
    "tfy.input_short_hand": text,
    "tfy.request.model_name": fc.constantFrom("openai-main/gpt-4o", "anthropic-main/claude-sonnet-4-5"),
    "tfy.model.name": fc.constantFrom("gpt-4o", "claude-sonnet-4-5"),
    "tfy.request.metadata": fc.oneof(
      json(fc.record({ env: text, tags: text }, { requiredKeys: [] })),
      fc.record({ env: text, tags: text }, { requiredKeys: [] }),
    ),
    "tfy.request.metadata.tags": text,
    "tfy.model.metric.input_tokens": fc.nat(),
    "tfy.model.metric.output_tokens": fc.nat(),
    "tfy.model.metric.cost_in_usd": fc.double({ min: 0, max: 1, noNaN: true }),
    "tfy.model.metric.time_to_first_token_in_ms": fc.double({ min: 0, max: 10_000, noNaN: true }),
    "tfy.model.metric.latency_in_ms": fc.nat(),
    "tfy.error_message": text,
    "gen_ai.request.model": fc.constantFrom("openai-main/gpt-4o"),
    "gen_ai.prompt.0.role": fc.constantFrom("system", "user"),
    "gen_ai.prompt.0.content": text,
    "gen_ai.prompt.1.content": text,
    "gen_ai.completion.0.content": text,
    "gen_ai.completion.0.tool_calls.0.name": text,
    "gen_ai.usage.prompt_tokens": fc.nat(),
    "http.response.status_code": fc.constantFrom(200, 429, 500),
    "braintrust.metadata": json(fc.record({ own: text })),
  },
  { requiredKeys: [] },
);

/** Gateway attributes and others (namespaced, as OTel attribute names are), in any order. */
const spanAttributes = fc
  .tuple(gatewayAttributes, fc.dictionary(fc.stringMatching(/^[a-z]{1,6}\.[a-z_]{1,8}$/), fc.oneof(text, fc.integer(), fc.boolean())))
  .chain(([gateway, others]) => fc.shuffledSubarray(Object.entries({ ...others, ...gateway }), { minLength: 0 }))
  .map((entries) => entries.map(([key, value]) => attr(key, value)));

/** The roles of the GenAI conventions' message events; a `gen_ai.choice` is an answer. */
const EVENT_ROLES: Record<string, string> = { "gen_ai.system.message": "system", "gen_ai.user.message": "user" };

/** A message event with this text, as the older gateway records one: a message of the role its name says, or an answer. */
function messageEvent(name: string, content: string): Span["events"][number] {
  const attributes = name === "gen_ai.choice" ? [attr("index", 0), attr("message", { content })] : [attr("content", content)];
  return create(Span_EventSchema, { name, attributes });
}

/** Events as the older gateway records them beside its indexed messages: a message's text again, or another. */
const events = fc.array(
  fc.record({
    name: fc.constantFrom(...Object.keys(EVENT_ROLES), "gen_ai.choice", "retry"),
    echoes: fc.constantFrom("gen_ai.prompt.0.content", "gen_ai.prompt.1.content", "gen_ai.completion.0.content", undefined),
    content: text,
  }),
  { maxLength: 3 },
);

const spans = fc.array(
  fc
    .record({ attributes: spanAttributes, events, failed: fc.boolean(), parent: fc.constantFrom("none", "zeros", "some") })
    .map(({ attributes, events, failed, parent }) => {
      const span = spanWith(
        "span",
        attributes,
        parent === "none" ? {} : { parentSpanId: new Uint8Array(8).fill(parent === "zeros" ? 0 : 1) },
      );
      span.events = events.map(({ name, echoes, content }) => {
        const echoed = attributes.find((a) => a.key === echoes)?.value?.value;
        return messageEvent(name, echoed?.case === "stringValue" ? echoed.value : content);
      });
      if (failed) span.status = { $typeName: "opentelemetry.proto.trace.v1.Status", code: Status_StatusCode.ERROR, message: "failed" };
      return span;
    }),
  { minLength: 1, maxLength: 4 },
);

/** The span's fields other than its attributes, events, status and parent, encoded. */
function otherFields(span: Span): Uint8Array {
  return toBinary(
    SpanSchema,
    create(SpanSchema, { ...clone(SpanSchema, span), attributes: [], events: [], status: undefined, parentSpanId: new Uint8Array() }),
  );
}

/**
 * Whether the event is a message of the input or output shown: a message event of its role with its
 * text, or an answer that is the first output message's.
 */
function isShownMessage(event: Span["events"][number], input: unknown, output: unknown): boolean {
  const messages = (list: unknown) => (Array.isArray(list) ? (list as Array<Record<string, unknown>>) : []);
  const said = attributesOf(create(SpanSchema, { attributes: event.attributes }));
  if (event.name === "gen_ai.choice") {
    const [answer] = messages(output);
    return answer?.role === "assistant" && answer.content === (said.message as Record<string, unknown>).content;
  }
  const role = EVENT_ROLES[event.name];
  return [...messages(input), ...messages(output)].some((message) => message.role === role && message.content === said.content);
}

/** The events of `all` that `kept` leaves out, when it is `all` with some left out, in order; else undefined. */
function leftOut(all: Span["events"], kept: Span["events"]): Span["events"] | undefined {
  const encoded = (event: Span["events"][number]) => hex(toBinary(Span_EventSchema, event));
  const left: Span["events"] = [];
  let at = 0;
  for (const event of all) {
    if (at < kept.length && encoded(event) === encoded(kept[at]!)) at++;
    else left.push(event);
  }
  return at === kept.length ? left : undefined;
}

/** The metrics that say what a model call used, which Braintrust sums over a trace. */
const USED = new Set([
  "prompt_tokens",
  "completion_tokens",
  "tokens",
  "prompt_cached_tokens",
  "prompt_cache_creation_tokens",
  "completion_reasoning_tokens",
  "estimated_cost",
]);

/** Whether the span is a gateway request's own, whose model calls are its Model spans. */
function isRequestSpan(span: Span): boolean {
  const type = span.attributes.find((a) => a.key === "tfy.span_type")?.value?.value;
  return type?.case === "stringValue" && ["ChatCompletion", "Completion", "Embedding", "Rerank", "AgentResponse"].includes(type.value);
}

/**
 * The parent a span must arrive with: none for one of zeros, and for a gateway request's span whose
 * parent is not among the request's spans (the caller's).
 */
function expectedParent(span: Span, request: Span[]): Uint8Array {
  if (span.parentSpanId.every((byte) => byte === 0)) return new Uint8Array();
  const requestSpan = isRequestSpan(span);
  const parentSent = request.some((other) => hex(other.spanId) === hex(span.parentSpanId));
  return requestSpan && span.parentSpanId.length > 0 && !parentSent ? new Uint8Array() : span.parentSpanId;
}

/**
 * The status a span must arrive with: its own, or, failed by its attributes alone, ERROR with
 * tfy.error_message, else with the HTTP error it was answered with.
 */
function expectedStatus(span: Span): Span["status"] {
  const message = span.attributes.find((a) => a.key === "tfy.error_message")?.value?.value;
  if (span.status?.code === Status_StatusCode.ERROR) {
    // A status message that does not say the gateway's has it beside it.
    const own = span.status.message;
    if (own === "" || message?.case !== "stringValue" || message.value === "" || own.includes(message.value)) return span.status;
    // The gateway's alone when it holds the status's as words of its own where it first has it (a code inside "4000 tokens" is not).
    const gateway = message.value;
    const at = gateway.indexOf(own);
    const wordAt = (i: number) => /\w/.test(gateway[i] ?? "");
    const holds = at >= 0 && !(wordAt(at - 1) && /\w/.test(own[0]!)) && !(wordAt(at + own.length) && /\w/.test(own.at(-1)!));
    return create(StatusSchema, { code: Status_StatusCode.ERROR, message: holds ? gateway : `${own}: ${gateway}` });
  }
  if (message?.case === "stringValue" && message.value !== "")
    return create(StatusSchema, { code: Status_StatusCode.ERROR, message: message.value });
  const code = span.attributes.find((a) => a.key === "http.response.status_code")?.value?.value;
  if (code?.case === "intValue" && code.value >= 400n)
    return create(StatusSchema, { code: Status_StatusCode.ERROR, message: `the call failed with HTTP status ${code.value}` });
  return span.status;
}

/** The spans as Braintrust receives them, after translation and a protobuf round trip. */
function delivered(sent: Span[], config: Record<string, unknown> = {}): Span[] {
  const [batch] = relayed(requestOf(sent.map((s) => clone(SpanSchema, s))), config).requests;
  const spans = spansOf(batch!.request);
  // Every span sent, one for one, so the properties below are checked on each of them.
  expect(spans.map((s) => hex(s.spanId))).toEqual(sent.map((s) => hex(s.spanId)));
  return spans;
}

/** Keys of the sources a default tenant's translation must have restated and removed from this span. */
function mustGo(span: Span): RegExp[] {
  const has = (key: string) => span.attributes.some((a) => a.key === key);
  const payload = (key: string) => {
    const value = span.attributes.find((a) => a.key === key)?.value?.value;
    // JSON null and blank text have nothing to show: no input or output is written, and the attribute stays.
    return value?.case === "stringValue" && value.value !== "null" && value.value.trim() !== "";
  };
  const gone: RegExp[] = [];
  // Only gateway spans are translated: others carry nothing of TrueFoundry's, nor a GenAI model call's.
  if (!span.attributes.some((a) => /^(tfy\.|gen_ai\.(prompt|completion)\.\d+\.|gen_ai\.request\.model$)/.test(a.key))) return gone;
  // The body's settings go to metadata, so a span with its own braintrust.metadata may keep its payloads.
  const ownMetadata = has("braintrust.metadata");
  if (payload("tfy.input") && !ownMetadata) gone.push(/^tfy\.input$/, /^tfy\.input_short_hand$/);
  if (!has("tfy.input") && span.attributes.some((a) => a.key.startsWith("gen_ai.prompt."))) gone.push(/^gen_ai\.prompt\./);
  if (payload("tfy.output") && !ownMetadata) gone.push(/^tfy\.output$/);
  if (!has("tfy.output") && span.attributes.some((a) => a.key.startsWith("gen_ai.completion."))) gone.push(/^gen_ai\.completion\./);
  // The gateway's error message is the span's error, set from it or already the status's.
  const error = span.attributes.find((a) => a.key === "tfy.error_message")?.value?.value;
  if (
    error?.case === "stringValue" &&
    error.value !== "" &&
    (span.status?.code !== Status_StatusCode.ERROR || span.status.message === error.value)
  )
    gone.push(/^tfy\.error_message$/);
  // The caller's metadata, an object in any of its forms, shows as the span's metadata, key by key.
  const whole = span.attributes.find((a) => a.key === "tfy.request.metadata")?.value?.value;
  const wholeIsObject = whole?.case === "kvlistValue" || (whole?.case === "stringValue" && whole.value.startsWith("{"));
  if ((wholeIsObject || has("tfy.request.metadata.tags")) && !ownMetadata) gone.push(/^tfy\.request\.metadata(\..+)?$/);
  // Of the attributes a metric may come from, the one it was read from: the first present, TrueFoundry's
  // first. What a model call used is a metric of its own span, not its request's, which shows it as metadata.
  const candidateLists = isRequestSpan(span)
    ? []
    : [["tfy.model.metric.input_tokens", "gen_ai.usage.prompt_tokens"], ["tfy.model.metric.output_tokens"]];
  for (const candidates of candidateLists) {
    const read = candidates.find(has);
    if (read) gone.push(new RegExp(`^${read.replaceAll(".", "\\.")}$`));
  }
  // A time to first token of 0 was not taken: it stays, as a cost of 0 does.
  const firstToken = span.attributes.find((a) => a.key === "tfy.model.metric.time_to_first_token_in_ms")?.value?.value;
  if (firstToken?.case === "doubleValue" && firstToken.value !== 0) gone.push(/^tfy\.model\.metric\.time_to_first_token_in_ms$/);
  // A cost of 0 is TrueFoundry's "no price": it stays, so Braintrust prices the call by its model.
  const cost = span.attributes.find((a) => a.key === "tfy.model.metric.cost_in_usd")?.value?.value;
  if (cost?.case === "doubleValue" && cost.value !== 0 && !isRequestSpan(span)) gone.push(/^tfy\.model\.metric\.cost_in_usd$/);
  return gone;
}

describe("translation, for any gateway span", () => {
  it("changes no field but the attributes, removes only restated sources, and only adds braintrust.* attributes after the rest", () => {
    fc.assert(
      fc.property(spans, (sent) => {
        for (const [i, out] of delivered(sent).entries()) {
          const before = sent[i]!;
          expect(otherFields(out)).toEqual(otherFields(before));
          expect(out.status ?? create(StatusSchema)).toEqual(expectedStatus(before) ?? create(StatusSchema));
          expect(out.parentSpanId).toEqual(expectedParent(before, sent));
          const afterKeys = new Set(out.attributes.map((a) => a.key));
          const kept = before.attributes.filter((a) => afterKeys.has(a.key));
          const removed = before.attributes.filter((a) => !afterKeys.has(a.key)).map((a) => a.key);
          expect(removed.filter((key) => !SOURCE.test(key))).toEqual([]);
          expect(out.attributes.slice(0, kept.length)).toEqual(kept);
          expect(
            out.attributes
              .slice(kept.length)
              .map((a) => a.key)
              .filter((key) => !key.startsWith("braintrust.")),
          ).toEqual([]);
        }
      }),
      { numRuns: 300, seed: 375910506 },
    );
  });

  it("shows nothing twice in Braintrust: no key from two places, no restated source or message event beside its translation", () => {
    fc.assert(
      fc.property(spans, (sent) => {
        for (const [i, out] of delivered(sent).entries()) {
          expect(new Set(out.attributes.map((a) => a.key)).size).toBe(out.attributes.length);
          const [trace] = braintrustView([requestOf([create(SpanSchema, { ...out, parentSpanId: new Uint8Array() })])]).traces;
          expect(trace!.tree.shownTwice).toBeUndefined();
          const stillShown = Object.keys(trace!.tree.metadata).filter((key) => mustGo(sent[i]!).some((source) => source.test(key)));
          expect(stillShown).toEqual([]);
          // Events go only as messages shown beside them, as input or output: nothing they said is lost.
          const left = leftOut(sent[i]!.events, out.events);
          expect(left?.filter((event) => !isShownMessage(event, trace!.tree.input, trace!.tree.output))).toEqual([]);
          // A model call's tokens and cost are counted on its own span only, never again on its request's.
          if (isRequestSpan(sent[i]!)) expect(Object.keys(trace!.tree.metrics).filter((key) => USED.has(key))).toEqual([]);
        }
      }),
      { numRuns: 300, seed: 375910506 },
    );
  });

  it("sends a conversation recorded both as indexed messages and as message events once, as input and output", () => {
    const words = fc.stringMatching(/^[\w ]{0,12}$/);
    const conversation = fc.record({
      prompt: fc.array(fc.record({ role: fc.constantFrom(...Object.values(EVENT_ROLES)), content: words }), { minLength: 1, maxLength: 4 }),
      answer: words,
    });
    fc.assert(
      fc.property(conversation, ({ prompt, answer }) => {
        const span = spanWith("chatCompletions", [
          attr("gen_ai.request.model", "openai-main/gpt-4o"),
          ...prompt.flatMap(({ role, content }, i) => [attr(`gen_ai.prompt.${i}.role`, role), attr(`gen_ai.prompt.${i}.content`, content)]),
          attr("gen_ai.completion.0.role", "assistant"),
          attr("gen_ai.completion.0.content", answer),
        ]);
        span.events = [
          ...prompt.map(({ role, content }) => messageEvent(`gen_ai.${role}.message`, content)),
          messageEvent("gen_ai.choice", answer),
        ];
        const [out] = delivered([span]);
        const [trace] = braintrustView([requestOf([out!])]).traces;
        expect(out!.events).toEqual([]);
        expect(trace!.tree).toMatchObject({ input: prompt, output: [{ role: "assistant", content: answer }] });
      }),
      { numRuns: 200, seed: 375910506 },
    );
  });

  it("keeps every attribute as it came for a tenant that keeps source attributes", () => {
    fc.assert(
      fc.property(spans, (sent) => {
        for (const [i, out] of delivered(sent, { keep_source_attributes: true }).entries()) {
          const before = sent[i]!.attributes;
          expect(out.attributes.slice(0, before.length)).toEqual(before);
          expect(out.events).toEqual(sent[i]!.events);
          expect(
            out.attributes
              .slice(before.length)
              .map((a) => a.key)
              .filter((key) => !key.startsWith("braintrust.")),
          ).toEqual([]);
        }
      }),
      { numRuns: 200, seed: 375910506 },
    );
  });
});
