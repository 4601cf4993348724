import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Span_EventSchema, SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, spansOf } from "../../scripts/lib/traces.js";
import { traceloopMessages } from "../../src/process/traceloop.js";
import { translateSpan } from "../../src/process/translate.js";
import { relayed } from "../support/pipeline.js";
import { attributesOf, requestOf, spanWith } from "../support/traces.js";
import { DROP, KEEP, keptKeys, translated } from "../support/translation.js";
import { group, lengthDelimited } from "../support/wire.js";

const event = (name: string, attributes: KeyValue[]) => create(Span_EventSchema, { name, timeUnixNano: 5n, attributes });

/** The older gateway's GenAI-conventions shape: messages as events and indexed attributes. */
describe("the older gateway's model call, its messages as events only", () => {
  it("is an LLM span priced by the provider's model name, with its usage as metrics", () => {
    const attributes = [
      attr("gen_ai.request.model", "openai-main/gpt-4o"),
      attr("gen_ai.usage.prompt_tokens", 18),
      attr("gen_ai.usage.completion_tokens", 2),
    ];
    const added = translated(attributes, "chatCompletions");

    expect(added["braintrust.span_attributes"]).toEqual({ type: "llm", name: "chatCompletions" });
    expect(added["braintrust.metadata"]).toEqual({ model: "gpt-4o" });
    expect(added["braintrust.metrics"]).toEqual({ prompt_tokens: 18, completion_tokens: 2, tokens: 20 });
    // Braintrust reads the events' messages itself: no input or output of the relay's competes with them.
    expect(added).not.toHaveProperty("braintrust.input_json");
    const span = spanWith("chatCompletions", attributes);
    span.events = [create(Span_EventSchema, { name: "gen_ai.user.message", attributes: [attr("content", "hi")] })];
    expect(spansOf(relayed(requestOf([span])).requests[0]!.request)[0]!.events).toEqual(span.events);
  });
});

describe("the older gateway's model call, its messages indexed and as events", () => {
  const answer = (index: number, content: string, more: KeyValue[] = []) =>
    event("gen_ai.choice", [
      attr("index", index),
      attr("finish_reason", "stop"),
      attr("message", { content, tool_calls: [{ type: "function", function: { name: "lookup_city" } }] }),
      ...more,
    ]);
  const older = () => {
    const span = spanWith("chatCompletions", [
      attr("gen_ai.system", "openai"),
      attr("gen_ai.request.model", "openai-main/gpt-4o"),
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", "Capital of Japan?"),
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.content", "Tokyo."),
      attr("gen_ai.completion.0.finish_reason", "stop"),
      attr("gen_ai.completion.0.tool_calls.0.name", "lookup_city"),
      // Redaction masks it, so the span is encoded anew on that path.
      attr("enduser.contact", "jo@example.com"),
    ]);
    span.events = [
      event("gen_ai.user.message", [attr("content", "Capital of Japan?"), attr("gen_ai.system", "openai")]),
      event("retry", [attr("content", "Capital of Japan?")]),
      answer(0, "Tokyo."),
      // Messages the indexed attributes lack, though their texts are there: another answer, a user's turn, a second choice.
      event("gen_ai.assistant.message", [attr("content", "Osaka.")]),
      event("gen_ai.user.message", [attr("content", "Tokyo.")]),
      answer(1, "Tokyo."),
      event("gen_ai.user.message", [attr("content", "Capital of Japan?"), attr("attempt", 2)]),
    ];
    return span;
  };
  const restatedGo = (span: Span) => span.events.filter((_, at) => at !== 0 && at !== 2);

  it("sends without its indexed messages, and the events restating them, beside a gateway payload they say again", () => {
    const payloads = [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ model: "openai-main/gpt-4o", messages: [{ role: "user", content: "Capital of France?" }] })),
      attr(
        "tfy.output",
        JSON.stringify({
          choices: [
            {
              message: {
                role: "assistant",
                content: null,
                tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: '{"city":"Paris"}' } }],
              },
              finish_reason: "tool_calls",
            },
          ],
        }),
      ),
    ];
    const indexed = [
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", "Capital of France?"),
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.finish_reason", "tool_calls"),
      attr("gen_ai.completion.0.tool_calls.0.id", "call_1"),
      attr("gen_ai.completion.0.tool_calls.0.name", "lookup"),
      attr("gen_ai.completion.0.tool_calls.0.arguments", '{"city":"Paris"}'),
    ];
    const span = spanWith("ChatCompletion", [...payloads, ...indexed]);
    span.events = [event("gen_ai.user.message", [attr("content", "Capital of France?")]), event("first_token", [attr("index", 0)])];

    const translation = translateSpan(span, DROP);

    expect(keptKeys([...payloads, ...indexed])).toEqual(["tfy.span_type"]);
    expect([...(translation.removedEvents ?? [])]).toEqual([0]);
    // Each side on its own: a prompt saying more than the payload stays, and so do its events; the answer goes.
    const more = [...payloads, ...indexed, attr("gen_ai.prompt.1.role", "user"), attr("gen_ai.prompt.1.content", "And of Spain?")];
    expect(keptKeys(more)).toEqual([
      "tfy.span_type",
      "gen_ai.prompt.0.role",
      "gen_ai.prompt.0.content",
      "gen_ai.prompt.1.role",
      "gen_ai.prompt.1.content",
    ]);
    expect(translateSpan({ ...span, attributes: more }, DROP).removedEvents).toBeUndefined();
    // As is one holding a number, which is not compared.
    expect(keptKeys([...payloads, attr("gen_ai.prompt.0.content", "Capital of France?"), attr("gen_ai.prompt.0.n", 2)])).toEqual([
      "tfy.span_type",
      "gen_ai.prompt.0.content",
      "gen_ai.prompt.0.n",
    ]);
    expect(keptKeys([...payloads, ...indexed], KEEP)).toEqual([...payloads, ...indexed].map((a) => a.key));
    // So is one whose list holds a number in any of its items.
    const numbered = JSON.stringify([
      { type: "text", text: "Capital of France?" },
      { type: "text", text: "Capital of France?", n: 2 },
    ]);
    expect(keptKeys([...payloads, attr("gen_ai.prompt.0.content", numbered)])).toEqual(["tfy.span_type", "gen_ai.prompt.0.content"]);
    // A null says nothing, and a role is the conventions' word: an Anthropic request's system prompt is no message of its payload.
    const parts = [
      { type: "text", text: "Describe it" },
      { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: null } },
    ];
    const anthropic = [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ model: "claude-sonnet-4-5", system: "Be brief.", messages: [{ role: "user", content: parts }] })),
      attr("gen_ai.prompt.0.role", "system"),
      attr("gen_ai.prompt.0.content", "Be brief."),
      attr("gen_ai.prompt.1.role", "user"),
      attr("gen_ai.prompt.1.content", JSON.stringify(parts)),
    ];
    expect(keptKeys(anthropic)).toEqual(["tfy.span_type"]);
  });

  it.each([
    ["protobuf, spliced", "protobuf", {}],
    ["JSON, encoded anew", "json", {}],
    ["redacted, encoded anew", "protobuf", { redact: { values: ["emails"] } }],
  ] as const)("sends without the message events that restate a message its input or output shows (%s)", (_path, format, settings) => {
    const span = older();
    const [out] = spansOf(relayed(requestOf([span]), settings, format).requests[0]!.request);

    // Braintrust reads message events as messages itself: those restating the indexed messages would show them twice.
    // An event that is not a message's, and one saying more (another message, a number), arrive as they came.
    expect(out!.events).toEqual(restatedGo(span));
    expect(attributesOf(out!)["braintrust.input_json"]).toBe(JSON.stringify([{ role: "user", content: "Capital of Japan?" }]));
  });

  it("does the same with bytes the wire check does not vouch for", () => {
    const span = older();
    const unvouched = new Uint8Array(
      lengthDelimited(1, lengthDelimited(2, lengthDelimited(2, [...toBinary(SpanSchema, span), ...group(100, [])]))),
    );
    expect(spansOf(relayed(unvouched).requests[0]!.request)[0]!.events).toEqual(restatedGo(span));
  });

  it("keeps an event saying anything the message does not: a finish reason, a role, another provider", () => {
    const eventsOf = (...events: Span["events"]) => {
      const span = older();
      span.attributes = span.attributes.filter((a) => a.key !== "gen_ai.completion.0.finish_reason");
      span.events = events;
      return translateSpan(span, DROP).removedEvents;
    };
    expect(eventsOf(answer(0, "Tokyo."))).toBeUndefined();
    expect(eventsOf(event("gen_ai.user.message", [attr("content", "Capital of Japan?"), attr("role", { note: "first" })]))).toBeUndefined();
    expect(
      eventsOf(event("gen_ai.user.message", [attr("content", "Capital of Japan?"), attr("gen_ai.system", "anthropic")])),
    ).toBeUndefined();
    expect([...(eventsOf(event("gen_ai.user.message", [attr("content", "Capital of Japan?"), attr("role", "user")])) ?? [])]).toEqual([0]);
    // Keys an object inherits are fields the message does not hold.
    for (const key of ["__proto__", "constructor", "toString"])
      expect(eventsOf(event("gen_ai.user.message", [attr("content", "Capital of Japan?"), attr(key, { role: "user" })]))).toBeUndefined();
  });

  it("takes a span's provider from its message events alone, whatever provider another event names", () => {
    const span = spanWith("ChatCompletion", [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ model: "openai-main/gpt-4o", messages: [{ role: "user", content: "Capital of France?" }] })),
    ]);
    span.events = [
      event("gen_ai.user.message", [attr("content", "Capital of France?"), attr("gen_ai.system", "openai")]),
      event("retry", [attr("gen_ai.system", "anthropic")]),
    ];

    expect([...(translateSpan(span, DROP).removedEvents ?? [])]).toEqual([0]);
  });

  it("matches events with a payload's messages only when every item of its list is a message", () => {
    const removedBeside = (messages: unknown[]) => {
      const span = spanWith("ChatCompletion", [
        attr("tfy.span_type", "Model"),
        attr("tfy.input", JSON.stringify({ model: "openai-main/gpt-4o", messages })),
      ]);
      span.events = [event("gen_ai.user.message", [attr("content", "Capital of France?")])];
      return translateSpan(span, DROP).removedEvents;
    };
    const message = { role: "user", content: "Capital of France?" };

    expect([...(removedBeside([message]) ?? [])]).toEqual([0]);
    for (const other of [null, "Capital of France?", { content: "Capital of France?" }, { role: 1, content: "x" }])
      expect(removedBeside([message, other])).toBeUndefined();
  });

  it("matches choice events with an answer's choices only when every choice holds a message", () => {
    const removedBeside = (choices: unknown[]) => {
      const span = spanWith("ChatCompletion", [
        attr("tfy.span_type", "Model"),
        attr("tfy.input", JSON.stringify({ model: "openai-main/gpt-4o", messages: [{ role: "user", content: "Capital of France?" }] })),
        attr("tfy.output", JSON.stringify({ choices })),
      ]);
      span.events = [event("gen_ai.choice", [attr("index", 0), attr("message", { role: "assistant", content: "Paris." })])];
      return translateSpan(span, DROP).removedEvents;
    };
    const choice = { index: 0, message: { role: "assistant", content: "Paris." } };

    expect([...(removedBeside([choice]) ?? [])]).toEqual([0]);
    expect(removedBeside([choice, { index: 1, text: "Paris." }])).toBeUndefined();
  });

  it("reads a choice's fields beside its flattened message: a finish reason the answer does not give keeps the event", () => {
    const removedWith = (finishReason: string) => {
      const span = older();
      span.events = [event("gen_ai.choice", [attr("index", 0), attr("message.content", "Tokyo."), attr("finish_reason", finishReason)])];
      return translateSpan(span, DROP).removedEvents;
    };

    expect([...(removedWith("stop") ?? [])]).toEqual([0]);
    expect(removedWith("length")).toBeUndefined();
  });

  it("sends without an event restating a message of content parts, which it holds as the indexed attribute's JSON text", () => {
    const parts = JSON.stringify([
      { type: "text", text: "Describe this image" },
      { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
    ]);
    const span = spanWith("chatCompletions", [
      attr("gen_ai.request.model", "openai-main/gpt-4o"),
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", parts),
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.content", "A cat."),
    ]);
    span.events = [
      event("gen_ai.user.message", [attr("content", parts)]),
      event("gen_ai.assistant.message", [attr("content", "A cat.")]),
      // The same parts again (spaced otherwise): the one message they restate has its event already.
      event("gen_ai.user.message", [attr("content", JSON.stringify(JSON.parse(parts), null, 1))]),
      // Other parts.
      event("gen_ai.user.message", [attr("content", JSON.stringify([{ type: "text", text: "Describe this image" }]))]),
    ];

    expect([...(translateSpan(span, DROP).removedEvents ?? [])]).toEqual([0, 1]);
  });

  /** The places of the events removed from a span of these indexed messages and events. */
  const removedOf = (attributes: KeyValue[], events: Span["events"]) => {
    const span = spanWith("chatCompletions", [attr("gen_ai.request.model", "openai-main/gpt-4o"), ...attributes]);
    span.events = events;
    return [...(translateSpan(span, DROP).removedEvents ?? [])];
  };
  const said = (content: string) => [attr("content", content)];

  it("matches an assistant's and a tool's message by role, a tool's by the call it answers", () => {
    const prompt = [
      attr("gen_ai.prompt.0.role", "assistant"),
      attr("gen_ai.prompt.0.content", "Looking it up."),
      attr("gen_ai.prompt.1.role", "tool"),
      attr("gen_ai.prompt.1.content", "Tokyo"),
      attr("gen_ai.prompt.1.tool_call_id", "call_1"),
    ];
    const tool = (id: string) => event("gen_ai.tool.message", [attr("content", "Tokyo"), attr("id", id)]);
    expect(removedOf(prompt, [event("gen_ai.assistant.message", said("Looking it up.")), tool("call_1")])).toEqual([0, 1]);
    expect(removedOf(prompt, [tool("call_2"), event("gen_ai.user.message", said("Looking it up."))])).toEqual([]);
  });

  it("matches the older gateway's event for a role the conventions do not name with a message of such a role only", () => {
    // TrueFoundry's older export sends `gen_ai.unknown.message` for a role outside system, user, assistant and
    // tool: OpenAI's `developer` instructions among them.
    const prompt = [
      attr("gen_ai.prompt.0.role", "developer"),
      attr("gen_ai.prompt.0.content", "Answer in French."),
      attr("gen_ai.prompt.1.role", "user"),
      attr("gen_ai.prompt.1.content", "Hello"),
    ];
    const unknown = (content: string, ...more: KeyValue[]) => event("gen_ai.unknown.message", [...said(content), ...more]);

    expect(removedOf(prompt, [unknown("Answer in French."), event("gen_ai.user.message", said("Hello"))])).toEqual([0, 1]);
    expect(removedOf(prompt, [unknown("Answer in French.", attr("role", "developer"))])).toEqual([0]);
    // Not a user's message, whose own event is the conventions', nor one saying another role.
    expect(removedOf(prompt, [unknown("Hello"), unknown("Answer in French.", attr("role", "system"))])).toEqual([]);
  });

  it("matches a tool call or content part whose fields an event lists in another order: JSON's members have none", () => {
    const prompt = [
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", '[{"type":"text","text":"Weather in Paris?"}]'),
      attr("gen_ai.prompt.1.role", "assistant"),
      attr("gen_ai.prompt.1.tool_calls.0.id", "call_1"),
      attr("gen_ai.prompt.1.tool_calls.0.name", "get_weather"),
      attr("gen_ai.prompt.1.tool_calls.0.arguments", '{"city":"Paris"}'),
    ];
    const toolCall = { function: { arguments: '{"city":"Paris"}', name: "get_weather" }, type: "function", id: "call_1" };
    const events = [
      event("gen_ai.user.message", [attr("content", [{ text: "Weather in Paris?", type: "text" }])]),
      event("gen_ai.assistant.message", [attr("tool_calls", [toolCall])]),
    ];
    expect(removedOf(prompt, events)).toEqual([0, 1]);
    // Another argument is another call, in any order.
    const other = { ...toolCall, function: { name: "get_weather", arguments: '{"city":"Lyon"}' } };
    expect(removedOf(prompt, [event("gen_ai.assistant.message", [attr("tool_calls", [other])])])).toEqual([]);
  });

  it("matches each message once, an event not a message's never, an answer by a whole-number index", () => {
    const indexed = [
      attr("gen_ai.prompt.0.role", "assistant"),
      attr("gen_ai.prompt.0.content", "Tokyo."),
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.content", "Tokyo."),
    ];
    const choice = (index: number | string) => event("gen_ai.choice", [attr("index", index), attr("message", { content: "Tokyo." })]);
    expect(removedOf(indexed, [choice(0), choice(0)])).toEqual([0]);
    expect(removedOf(indexed, [choice("0"), choice(-1), choice(0.5)])).toEqual([]);
    const assistant = event("gen_ai.assistant.message", said("Tokyo."));
    expect(removedOf(indexed, [assistant, assistant, assistant])).toEqual([0, 1]);
    expect(removedOf(indexed, [event("retry", said("Tokyo."))])).toEqual([]);
  });

  it("keeps a choice or an event that says two things of one field, and takes an assistant's turn for the answer only in a span without choices", () => {
    const indexed = [
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", "Capital of Japan?"),
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.content", "Tokyo."),
      attr("gen_ai.completion.0.finish_reason", "stop"),
    ];
    const choice = (...more: KeyValue[]) => event("gen_ai.choice", [attr("index", 0), ...more]);
    expect(removedOf(indexed, [choice(attr("finish_reason", "stop"), attr("message", { content: "Tokyo." }))])).toEqual([0]);
    // Its message says one content, a field of its own another; its finish reason twice, differently.
    expect(removedOf(indexed, [choice(attr("message", { content: "Osaka." }), attr("content", "Tokyo."))])).toEqual([]);
    // A message that is no object is a field the answer does not hold.
    expect(removedOf(indexed, [choice(attr("finish_reason", "stop"), attr("message", "Osaka."))])).toEqual([]);
    expect(
      removedOf(indexed, [choice(attr("finish_reason", "stop"), attr("message", { content: "Tokyo.", finish_reason: "length" }))]),
    ).toEqual([]);
    // A key sent twice: the first value no message holds.
    expect(
      removedOf(indexed, [event("gen_ai.user.message", [attr("content", "my card is 4111"), attr("content", "Capital of Japan?")])]),
    ).toEqual([]);
    // With choices, an assistant's event is a turn of the history, which the indexed prompt lacks: not the answer.
    const turn = event("gen_ai.assistant.message", said("Tokyo."));
    expect(
      removedOf(indexed, [
        event("gen_ai.user.message", said("Capital of Japan?")),
        turn,
        choice(attr("message", { content: "Tokyo." }), attr("finish_reason", "stop")),
      ]),
    ).toEqual([0, 2]);
    // Without, it is how the span records its answer.
    expect(removedOf(indexed, [event("gen_ai.user.message", said("Capital of Japan?")), turn])).toEqual([0, 1]);
  });

  it("looks a few messages past the last one matched for an event's own, no further", () => {
    const prompt = Array.from({ length: 10 }, (_, i) => [
      attr(`gen_ai.prompt.${i}.role`, "user"),
      attr(`gen_ai.prompt.${i}.content`, `turn ${i}`),
    ]).flat();
    expect(removedOf(prompt, [event("gen_ai.user.message", said("turn 8"))])).toEqual([0]);
    expect(removedOf(prompt, [event("gen_ai.user.message", said("turn 9"))])).toEqual([]);
  });

  it("matches choices without an index to the answers in the order they come", () => {
    const indexed = [
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", "A city in Japan?"),
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.content", "Tokyo."),
      attr("gen_ai.completion.1.role", "assistant"),
      attr("gen_ai.completion.1.content", "Kyoto."),
    ];
    const choice = (content: string) => event("gen_ai.choice", [attr("message", { content })]);
    expect(removedOf(indexed, [choice("Tokyo."), choice("Kyoto.")])).toEqual([0, 1]);
    // The second is the second answer's, not the first's again.
    expect(removedOf(indexed, [choice("Tokyo."), choice("Tokyo.")])).toEqual([0]);
  });

  it("matches a message once, also one an event found past a message it skipped", () => {
    const prompt = [
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", "Capital of Japan?"),
      attr("gen_ai.prompt.1.role", "user"),
      attr("gen_ai.prompt.1.content", "And of France?"),
    ];
    const france = event("gen_ai.user.message", said("And of France?"));
    expect(removedOf(prompt, [france, france])).toEqual([0]);
  });

  it("reads an event's `id` as the call a tool's message answers, and as the message's own `id` for any other role", () => {
    const user = (field: string) => [
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", "Hi"),
      attr(`gen_ai.prompt.0.${field}`, "msg_1"),
    ];
    const withId = event("gen_ai.user.message", [attr("content", "Hi"), attr("id", "msg_1")]);
    expect(removedOf(user("id"), [withId])).toEqual([0]);
    expect(removedOf(user("tool_call_id"), [withId])).toEqual([]);
  });

  it("keeps an event whose text is not the content parts its message holds", () => {
    const prompt = [
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", JSON.stringify([{ type: "text", text: "Describe this image" }])),
    ];
    expect(removedOf(prompt, [event("gen_ai.user.message", said("Describe this image"))])).toEqual([]);
    expect(removedOf(prompt, [event("gen_ai.user.message", said("Something else"))])).toEqual([]);
  });

  it("keeps an event with a field of no value, which its message does not hold", () => {
    const prompt = [attr("gen_ai.prompt.0.role", "user"), attr("gen_ai.prompt.0.content", "Capital of Japan?")];
    const empty = create(KeyValueSchema, { key: "attempt" });
    expect(removedOf(prompt, [event("gen_ai.user.message", [...said("Capital of Japan?"), empty])])).toEqual([]);
    expect(removedOf(prompt, [event("gen_ai.user.message", said("Capital of Japan?"))])).toEqual([0]);
  });

  it("removes restating events from a span whose indexed attributes stay, each key sent twice", () => {
    const sentTwice = [attr("gen_ai.prompt.0.role", "user"), attr("gen_ai.prompt.0.content", "Capital of Japan?")];
    const span = spanWith("chatCompletions", [attr("gen_ai.request.model", "openai-main/gpt-4o"), ...sentTwice, ...sentTwice]);
    span.events = [event("gen_ai.user.message", said("Capital of Japan?")), event("retry", [])];
    const [out] = spansOf(relayed(requestOf([span])).requests[0]!.request);
    expect(out!.events).toEqual([span.events[1]]);
    expect(out!.attributes.filter((a) => a.key.startsWith("gen_ai.prompt."))).toEqual([...sentTwice, ...sentTwice]);
  });

  it("keeps them for a tenant that keeps source attributes, and beside messages it did not write", () => {
    const kept = older();
    expect(translateSpan(kept, KEEP).removedEvents).toBeUndefined();

    // The span's own input: the indexed prompt stays, and so does what restates it.
    const own = older();
    own.attributes.push(attr("braintrust.input_json", "[]"), attr("braintrust.output_json", "[]"));
    expect(translateSpan(own, DROP).removedEvents).toBeUndefined();

    // An answer's event, restating what only the output shows, goes beside a prompt the span wrote itself.
    const ownInput = older();
    ownInput.attributes.push(attr("braintrust.input_json", "[]"));
    expect([...(translateSpan(ownInput, DROP).removedEvents ?? [])]).toEqual([2]);
  });
});

describe("Traceloop message fields", () => {
  it("take a content that is a JSON list of content parts as its parts, other text (JSON-looking too) as text", () => {
    const parts = [
      { type: "text", text: "What is in it?" },
      { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
    ];
    expect(
      traceloopMessages([
        attr("gen_ai.prompt.0.role", "user"),
        attr("gen_ai.prompt.0.content", JSON.stringify(parts)),
        attr("gen_ai.prompt.1.content", "[not json"),
        attr("gen_ai.prompt.2.name", "[1]"),
        attr("gen_ai.prompt.3.content", "[1, 2, 3]"),
        attr("gen_ai.prompt.4.content", '["yes", "no"]'),
        attr("gen_ai.prompt.5.content", "[]"),
        attr("gen_ai.prompt.6.name", '[{"type":"text","text":"x"}]'),
        attr("gen_ai.prompt.7.content", '[{"type":"text","text":"a"},{"text":"b"}]'),
      ])?.input?.messages,
    ).toEqual([
      { role: "user", content: parts },
      { content: "[not json" },
      { name: "[1]" },
      { content: "[1, 2, 3]" },
      { content: '["yes", "no"]' },
      { content: "[]" },
      { name: '[{"type":"text","text":"x"}]' },
      { content: '[{"type":"text","text":"a"},{"text":"b"}]' },
    ]);
  });

  it("nest dotted fields, numeric steps as list positions, as a chat message holds them", () => {
    expect(
      traceloopMessages([
        attr("gen_ai.completion.0.tool_calls.0.name", "lookup"),
        attr("gen_ai.completion.0.tool_calls.0.arguments", '{"city":"Tokyo"}'),
        attr("gen_ai.completion.0.tool_calls.1.name", "other"),
        attr("gen_ai.completion.0.content", "x"),
        attr("gen_ai.completion.0.content.extra", "flat"),
      ])?.output?.messages,
    ).toEqual([
      {
        // OpenAI's shape, as Braintrust's LLM view reads a tool call.
        tool_calls: [
          { type: "function", function: { name: "lookup", arguments: '{"city":"Tokyo"}' } },
          { type: "function", function: { name: "other" } },
        ],
        content: "x",
        "content.extra": "flat",
      },
    ]);
  });

  it("go in flat from where a plain value already sits, at any depth; only all-digit steps are list positions", () => {
    expect(
      traceloopMessages([
        attr("gen_ai.prompt.0.a.b", "x"),
        attr("gen_ai.prompt.0.a.b.c", "y"),
        attr("gen_ai.prompt.0.list.10.v", 1),
        attr("gen_ai.prompt.0.w.v1", 2),
        attr("gen_ai.prompt.0.z.1v", 3),
        attr("gen_ai.prompt.0.role", "user"),
        attr("gen_ai.prompt.0.role", "system"),
      ])?.input?.messages,
    ).toEqual([{ a: { b: "x", "b.c": "y" }, list: [{ v: 1 }], w: { v1: 2 }, z: { "1v": 3 }, role: "system" }]);
    // Positions among which a field went in that is no position make an object; positions below an object, a list.
    expect(
      traceloopMessages([
        attr("gen_ai.prompt.0.l.0", "a"),
        attr("gen_ai.prompt.0.l.note", "b"),
        attr("gen_ai.prompt.0.x.0", "c"),
        attr("gen_ai.prompt.0.x.1v", "d"),
        attr("gen_ai.prompt.0.y.0", "e"),
        attr("gen_ai.prompt.0.y.v1", "f"),
        attr("gen_ai.prompt.0.o.list.0", "g"),
      ])?.input?.messages,
    ).toEqual([{ l: { 0: "a", note: "b" }, x: { 0: "c", "1v": "d" }, y: { 0: "e", v1: "f" }, o: { list: ["g"] } }]);
  });

  it("show every field whichever comes first, a field below a value or the value itself", () => {
    const below = attr("gen_ai.prompt.0.content.note", "kept");
    const content = attr("gen_ai.prompt.0.content", "hello");
    const deeper = attr("gen_ai.prompt.0.content.parts.0.text", "also kept");
    const shown = { content: "hello", "content.note": "kept", "content.parts.0.text": "also kept" };

    expect(traceloopMessages([content, below, deeper])?.input?.messages).toEqual([shown]);
    expect(traceloopMessages([below, deeper, content])?.input?.messages).toEqual([shown]);
  });

  it("put an object whole below a flat name past 512 characters, and leave a field path past them an attribute: each field below would copy it", () => {
    const long = "k".repeat(503);
    const members = { m0: "x", m1: { deep: "y" } };
    const listed = attr("gen_ai.prompt.0.content", { [long]: members, short: { a: "z" } });
    const text = attr("gen_ai.prompt.0.content", "hello");

    const read = traceloopMessages([listed, text]);

    // content.<503 k> is 511 characters, at most 512: its fields go flat; m1's object, named by 514, whole.
    expect(read?.input?.messages).toEqual([
      { content: "hello", [`content.${long}.m0`]: "x", [`content.${long}.m1`]: { deep: "y" }, "content.short.a": "z" },
    ]);
    const field = (length: number) => `gen_ai.prompt.0.${"f".repeat(length)}`;
    expect(traceloopMessages([attr(field(513), "x")])).toBeUndefined();
    expect(traceloopMessages([attr(field(512), "x")])?.input?.keys).toEqual([field(512)]);
  });

  it("keep as two messages one index written two ways, or two indices past 2^53 that round to one number, in the order of their numbers", () => {
    expect(
      traceloopMessages([
        attr("gen_ai.prompt.2.content", "third"),
        attr("gen_ai.prompt.00.content", "second"),
        attr("gen_ai.prompt.0.content", "first"),
        attr("gen_ai.prompt.9007199254740993.content", "fifth"),
        attr("gen_ai.prompt.9007199254740992.content", "fourth"),
      ])?.input?.messages.map((message) => message.content),
    ).toEqual(["first", "second", "third", "fourth", "fifth"]);
    // Only leading zeros are dropped, whichever order the two spellings of one index come in.
    expect(
      traceloopMessages([
        attr("gen_ai.prompt.100.content", "100"),
        attr("gen_ai.prompt.20.content", "20"),
        attr("gen_ai.prompt.2.content", "2"),
        attr("gen_ai.prompt.01.content", "01"),
        attr("gen_ai.prompt.0.content", "0"),
        attr("gen_ai.prompt.00.content", "00"),
      ])?.input?.messages.map((message) => message.content),
    ).toEqual(["0", "00", "01", "2", "20", "100"]);
    const [message] = traceloopMessages([
      attr("gen_ai.completion.0.tool_calls.9007199254740993.name", "second"),
      attr("gen_ai.completion.0.tool_calls.9007199254740992.name", "first"),
    ])!.output!.messages;
    expect((message!.tool_calls as Array<{ function: { name: string } }>).map((call) => call.function.name)).toEqual(["first", "second"]);
  });

  it("give tool calls OpenAI's shape, their id kept, and leave a call already in it, or naming no function, as it is", () => {
    const [message] = traceloopMessages([
      attr("gen_ai.completion.0.tool_calls.0.id", "call_1"),
      attr("gen_ai.completion.0.tool_calls.0.name", "lookup"),
      attr("gen_ai.completion.0.tool_calls.0.arguments", "{}"),
      attr("gen_ai.completion.0.tool_calls.1.function.name", "already"),
      attr("gen_ai.completion.0.tool_calls.2.note", "no name"),
      attr("gen_ai.completion.0.tool_calls.3.name", "grep"),
      attr("gen_ai.completion.0.tool_calls.3.type", "custom"),
      attr("gen_ai.completion.0.tool_calls.4.name", "structured"),
      attr("gen_ai.completion.0.tool_calls.4.arguments", { city: "Paris" }),
      attr("gen_ai.completion.0.tool_calls.5.type", "function"),
      attr("gen_ai.completion.0.tool_calls.5.name", "typed"),
    ])!.output!.messages;

    expect(message!.tool_calls).toEqual([
      { id: "call_1", type: "function", function: { name: "lookup", arguments: "{}" } },
      { function: { name: "already" } },
      { note: "no name" },
      { name: "grep", type: "custom" },
      { type: "function", function: { name: "structured", arguments: '{"city":"Paris"}' } },
      { type: "function", function: { name: "typed" } },
    ]);
  });

  it("make lists of the positions given, in their order, however large, and nest at most 8 deep", () => {
    const [message] = traceloopMessages([
      attr("gen_ai.prompt.0.tool_calls.4294967294.name", "last"),
      attr("gen_ai.prompt.0.tool_calls.7.name", "first"),
      attr("gen_ai.prompt.0.list.5000000", "x"),
      attr(`gen_ai.prompt.0.${"a.".repeat(250)}end`, "deep"),
    ])!.input!.messages;

    expect(message!.tool_calls).toEqual([
      { type: "function", function: { name: "first" } },
      { type: "function", function: { name: "last" } },
    ]);
    expect(message!.list).toEqual(["x"]);
    let node = message!.a as Record<string, unknown>;
    for (let depth = 2; depth < 8; depth++) node = node.a as Record<string, unknown>;
    expect(node).toEqual({ [`${"a.".repeat(250 - 7)}end`]: "deep" });
  });

  it("never reach a prototype", () => {
    const messages = traceloopMessages([attr("gen_ai.prompt.0.__proto__.polluted", "yes"), attr("gen_ai.prompt.0.constructor", "c")])?.input
      ?.messages;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(messages))).toEqual([{ ["__proto__"]: { polluted: "yes" }, constructor: "c" }]);
  });
});

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

/**
 * The provider a model call's message events name, on a span that names none: written as the span's
 * `gen_ai.system` only when the events that named it go, so it is said once, and never beside one the
 * span has.
 */
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
