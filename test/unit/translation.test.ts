import { clone, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import {
  ScopeSpansSchema,
  type Span,
  Span_EventSchema,
  Span_SpanKind,
  SpanSchema,
  Status_StatusCode,
  StatusSchema,
} from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { relayed } from "../../scripts/lib/pipeline.js";
import { tenantRecord } from "../../scripts/lib/tenants.js";
import { attr, attributesOf, randomId, requestOf, spansOf, spanWith, toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";
import { hex } from "../../src/encoding/bytes.js";
import { relayConfig } from "../../src/env.js";
import { prepareDeliveries } from "../../src/ingest/prepare-deliveries.js";
import { leavesSpansAlone } from "../../src/process/process-spans.js";
import { traceloopMessages } from "../../src/process/traceloop.js";
import {
  addedKeyValue,
  applyTranslation,
  type SpanTranslation,
  type TranslationOptions,
  translateSpan,
} from "../../src/process/translate.js";
import { group, lengthDelimited, requestWithSpanFields } from "../support/wire.js";

const DROP = { keepSourceAttributes: false };
const KEEP = { keepSourceAttributes: true };

/** translateSpan, applied to the span as the relay applies it to a decoded one. */
function translateInPlace(span: Span, options: TranslationOptions): SpanTranslation {
  const translation = translateSpan(span, options);
  applyTranslation(span, translation);
  return translation;
}

/** The braintrust.* attributes translation adds to one span with these attributes, JSON ones parsed. */
function translated(attributes: KeyValue[], name = "span"): Record<string, unknown> {
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
function keptKeys(attributes: KeyValue[], options = DROP): string[] {
  const span = spanWith("span", attributes);
  translateInPlace(span, options);
  return span.attributes.map((a) => a.key).filter((key) => !key.startsWith("braintrust."));
}

describe("span types", () => {
  it.each([
    ["Model", "llm"],
    ["ChatCompletion", "task"],
    ["Completion", "task"],
    ["Embedding", "task"],
    ["Rerank", "task"],
    ["AgentResponse", "task"],
    ["MCP", "tool"],
    ["Guardrail", "function"],
    ["SomethingNew", "task"],
  ])("a %s span is a Braintrust %s span, named after the span: only the model call is an LLM span", (tfyType, type) => {
    expect(translated([attr("tfy.span_type", tfyType)], "the name")["braintrust.span_attributes"]).toEqual({ type, name: "the name" });
  });

  it.each(["", "constructor", "__proto__", "toString"])(
    "a span type %j, which the gateway does not define, is a task like any other unknown type",
    (tfyType) => {
      expect(translated([attr("tfy.span_type", tfyType)])["braintrust.span_attributes"]).toEqual({ type: "task", name: "span" });
    },
  );

  it("a tfy.* span without a type is a task; a Traceloop span without one is an llm span", () => {
    expect(translated([attr("tfy.request.model_name", "m")])["braintrust.span_attributes"]).toEqual({ type: "task", name: "span" });
    expect(translated([attr("gen_ai.prompt.0.content", "hi")])["braintrust.span_attributes"]).toEqual({ type: "llm", name: "span" });
    expect(
      translated([attr("tfy.span_type", "SomethingNew"), attr("gen_ai.prompt.0.content", "hi")])["braintrust.span_attributes"],
    ).toEqual({ type: "llm", name: "span" });
  });
});

describe("input and output", () => {
  it("takes a chat payload's messages and choices; the rest of the request and response goes to metadata", () => {
    const result = translated([
      attr("tfy.span_type", "Model"),
      attr(
        "tfy.input",
        JSON.stringify({
          model: "openai-main/gpt-4o",
          messages: [{ role: "user", content: "Hi" }],
          temperature: 0.5,
          tools: [{ type: "function" }],
        }),
      ),
      attr(
        "tfy.output",
        JSON.stringify({ id: "1", model: "gpt-4o-2024-08-06", choices: [{ index: 0, message: { role: "assistant", content: "Hello" } }] }),
      ),
    ]);

    expect(result["braintrust.input_json"]).toEqual([{ role: "user", content: "Hi" }]);
    expect(result["braintrust.output_json"]).toEqual([{ index: 0, message: { role: "assistant", content: "Hello" } }]);
    expect(result["braintrust.metadata"]).toEqual({
      temperature: 0.5,
      tools: [{ type: "function" }],
      model: "gpt-4o-2024-08-06",
      gateway_model: "openai-main/gpt-4o",
      // The model that answered is metadata's model: not said twice.
      response: { id: "1" },
    });
  });

  it("takes an embedding's input and data, a completion's prompt, a rerank's query and documents and its results", () => {
    expect(
      translated([
        attr("tfy.input", JSON.stringify({ input: ["a"], dimensions: 3 })),
        attr("tfy.output", JSON.stringify({ object: "list", data: [{ object: "embedding", index: 0, embedding: [1] }] })),
      ]),
    ).toMatchObject({
      "braintrust.input_json": ["a"],
      "braintrust.output_json": { embedding_length: 1 },
      "braintrust.metadata": { dimensions: 3 },
    });
    expect(translated([attr("tfy.input", JSON.stringify({ prompt: "Once" }))])["braintrust.input_json"]).toBe("Once");
    expect(
      translated([
        attr("tfy.input", JSON.stringify({ query: "q", documents: ["d"], top_n: 1 })),
        attr("tfy.output", JSON.stringify({ results: [{ index: 0 }], choices: "not a list" })),
      ]),
    ).toMatchObject({
      "braintrust.input_json": { query: "q", documents: ["d"] },
      "braintrust.output_json": [{ index: 0 }],
      "braintrust.metadata": { top_n: 1, response: { choices: "not a list" } },
    });
  });

  it("shows an embedding's vectors as their length, as Braintrust's OpenAI wrapper logs them, in floats or base64", () => {
    const output = (data: unknown) => translated([attr("tfy.output", JSON.stringify({ object: "list", data, model: "m" }))]);
    const vector = Array.from({ length: 1536 }, (_, i) => i / 1536);
    const base64 = Buffer.from(new Float32Array(vector).buffer).toString("base64");

    expect(output([{ object: "embedding", index: 0, embedding: vector }, { embedding: [1] }])).toMatchObject({
      "braintrust.output_json": { embedding_length: 1536 },
      "braintrust.metadata": { model: "m", response: { object: "list" } },
    });
    expect(output([{ object: "embedding", embedding: base64 }])["braintrust.output_json"]).toEqual({ embedding_length: 1536 });
    expect(
      output([{ object: "embedding", embedding: Buffer.from(new Float32Array(7).buffer).toString("base64") }])["braintrust.output_json"],
    ).toEqual({ embedding_length: 7 });
    // A data list of anything else shows as it is: items with an `embedding` that is no vector among them.
    for (const data of [
      [{ object: "embedding", embedding: "a caption, not base64!" }],
      [{ embedding: base64 }],
      [{ object: "document", id: "doc-1", embedding: [0.5, 0.25] }],
      [{ object: "embedding", embedding: [1, "secret", { a: 1 }] }],
      [{ object: "embedding", embedding: null }],
      [{ object: "embedding", embedding: [1], ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])) }],
      [7],
    ])
      expect(output(data)["braintrust.output_json"]).toEqual(data);
    // Nor is a response other than OpenAI's list of embeddings.
    expect(
      translated([attr("tfy.output", JSON.stringify({ data: [{ object: "embedding", embedding: [1] }] }))])["braintrust.output_json"],
    ).toEqual([{ object: "embedding", embedding: [1] }]);
    expect(
      translated([attr("tfy.output", JSON.stringify({ object: "list", results: [{ object: "embedding", embedding: [1] }] }))])[
        "braintrust.output_json"
      ],
    ).toEqual([{ object: "embedding", embedding: [1] }]);
    expect(output([{ url: "https://images.example/1.png" }])["braintrust.output_json"]).toEqual([{ url: "https://images.example/1.png" }]);
    expect(output([])["braintrust.output_json"]).toEqual([]);
  });

  it("takes the whole JSON when it has no such field, and text as a JSON string", () => {
    const result = translated([attr("tfy.input", JSON.stringify({ question: "Hi" })), attr("tfy.output", "plain text")]);

    expect(result["braintrust.input_json"]).toEqual({ question: "Hi" });
    expect(result["braintrust.output_json"]).toBe("plain text");
  });

  it("keeps JSON scalars and lists as they are", () => {
    const result = translated([attr("tfy.input", "[1,2]"), attr("tfy.output", "42")]);

    expect(result["braintrust.input_json"]).toEqual([1, 2]);
    expect(result["braintrust.output_json"]).toBe(42);
  });

  it("passes a payload that is JSON but no object on byte for byte: its integers past 2^53 keep every digit", () => {
    const span = spanWith("span", [attr("tfy.input", " [12345678901234567890, 1.50]"), attr("tfy.output", "12345678901234567891")]);
    translateInPlace(span, DROP);

    expect(attributesOf(span)).toMatchObject({
      "braintrust.input_json": " [12345678901234567890, 1.50]",
      "braintrust.output_json": "12345678901234567891",
    });
  });

  it("falls back to Traceloop messages, in index order, text kept as text and other values as JSON", () => {
    const result = translated([
      attr("gen_ai.prompt.10.content", "eleventh"),
      attr("gen_ai.prompt.2.content", "42"),
      attr("gen_ai.prompt.2.role", "user"),
      attr("gen_ai.prompt.0.role", "system"),
      attr("gen_ai.completion.0.content", "done"),
      attr("gen_ai.completion.0.tool_calls", [{ name: "f" }]),
      attr("gen_ai.completion.0.index", 0),
      attr("gen_ai.prompts.0.content", "not indexed the Traceloop way"),
      attr("vendor.gen_ai.prompt.1.content", "someone else's"),
    ]);

    expect(result["braintrust.input_json"]).toEqual([{ role: "system" }, { content: "42", role: "user" }, { content: "eleventh" }]);
    expect(result["braintrust.output_json"]).toEqual([
      { content: "done", tool_calls: [{ type: "function", function: { name: "f" } }], index: 0 },
    ]);
  });

  it("keeps text as text inside a Traceloop value that is a list or key-value list, as it does a value that is text", () => {
    const result = translated([
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.tool_calls", [{ id: "12345678901234567890", name: "2024", arguments: '{"year":2024}' }]),
      attr("gen_ai.prompt.0.content", ["1.10", "true"]),
    ]);

    expect(result["braintrust.input_json"]).toEqual([{ content: ["1.10", "true"] }]);
    expect(result["braintrust.output_json"]).toEqual([
      {
        role: "assistant",
        tool_calls: [{ id: "12345678901234567890", type: "function", function: { name: "2024", arguments: '{"year":2024}' } }],
      },
    ]);
  });

  it("restates a span of thousands of Traceloop messages whole, and keeps only the key sent twice", () => {
    const attributes = Array.from({ length: 3000 }, (_, i) => attr(`gen_ai.prompt.${i}.content`, `message ${i}`));
    attributes.push(attr("gen_ai.prompt.7.content", "sent twice"), attr("tfy.span_type", "Model"));

    const [sent] = relayed(requestOf([spanWith("span", attributes)])).requests;

    const kept = attributesOf(spansOf(sent!.request)[0]!);
    expect(Object.keys(kept).filter((key) => key.startsWith("gen_ai."))).toEqual(["gen_ai.prompt.7.content"]);
    const input = JSON.parse(kept["braintrust.input_json"] as string) as Array<{ content: string }>;
    expect(input).toHaveLength(3000);
    expect(input[2999]).toEqual({ content: "message 2999" });
    expect(keptKeys(attributes).filter((key) => key.startsWith("gen_ai."))).toEqual(["gen_ai.prompt.7.content", "gen_ai.prompt.7.content"]);
  });

  it("leaves out a payload that is JSON null, keeping its attribute, and translates the rest", () => {
    const attributes = [attr("tfy.span_type", "Model"), attr("tfy.input", "null"), attr("tfy.output", "null")];

    expect(translated(attributes)).toEqual({ "braintrust.span_attributes": { type: "llm", name: "span" } });
    expect(keptKeys(attributes)).toEqual(["tfy.span_type", "tfy.input", "tfy.output"]);
    // Traceloop messages beside it are then the input and output.
    const withMessages = [...attributes, attr("gen_ai.prompt.0.content", "hi"), attr("gen_ai.completion.0.content", "hello")];
    expect(translated(withMessages)).toMatchObject({
      "braintrust.input_json": [{ content: "hi" }],
      "braintrust.output_json": [{ content: "hello" }],
    });
    expect(keptKeys(withMessages)).toEqual(["tfy.span_type", "tfy.input", "tfy.output"]);
  });

  it("prefers tfy.input and tfy.output to Traceloop messages, and keeps the messages it did not use", () => {
    const attributes = [
      attr("tfy.input", '{"messages":[]}'),
      attr("gen_ai.prompt.0.content", "old"),
      attr("gen_ai.completion.0.content", "old answer"),
    ];

    const result = translated(attributes);

    expect(result["braintrust.input_json"]).toEqual([]);
    expect(result["braintrust.output_json"]).toEqual([{ content: "old answer" }]);
    expect(keptKeys(attributes)).toEqual(["gen_ai.prompt.0.content"]);
  });
});

describe("sources", () => {
  const gateway = [
    attr("tfy.span_type", "Model"),
    attr("tfy.input", JSON.stringify({ messages: [], temperature: 1 })),
    attr("tfy.output", JSON.stringify({ choices: [], id: "x" })),
    attr("tfy.model.metric.input_tokens", 3),
    attr("tfy.model.metric.latency_in_ms", 9),
    attr("gen_ai.prompt.0.content", "unused"),
  ];

  it("are removed once restated: payloads, the Traceloop messages used, the metrics read; the rest stays", () => {
    const span = spanWith("span", gateway);
    const { removedKeys } = translateInPlace(span, DROP);

    expect([...removedKeys].sort()).toEqual(["tfy.input", "tfy.model.metric.input_tokens", "tfy.output"]);
    expect(keptKeys(gateway)).toEqual(["tfy.span_type", "tfy.model.metric.latency_in_ms", "gen_ai.prompt.0.content"]);
    expect(
      keptKeys([attr("gen_ai.prompt.0.content", "q"), attr("gen_ai.completion.0.content", "a"), attr("gen_ai.usage.prompt_tokens", 1)]),
    ).toEqual([]);
  });

  it("go from a span that does not call the model when the body's only setting is the model tfy.request.model_name shows", () => {
    const request = JSON.stringify({ model: "openai-main/gpt-4o", messages: [] });

    expect(
      keptKeys([attr("tfy.request.model_name", "openai-main/gpt-4o"), attr("tfy.span_type", "Guardrail"), attr("tfy.input", request)]),
    ).toEqual(["tfy.request.model_name", "tfy.span_type"]);
    // A model named differently from tfy.request.model_name is shown in metadata, and the body goes all the same.
    const other = [attr("tfy.span_type", "Guardrail"), attr("tfy.request.model_name", "other"), attr("tfy.input", request)];
    expect(keptKeys(other)).toEqual(["tfy.span_type", "tfy.request.model_name"]);
    expect(translated(other)["braintrust.metadata"]).toEqual({ gateway_model: "openai-main/gpt-4o" });
  });

  it("include the GenAI conventions' copies of the request and the response a gateway may write beside its own, when they say nothing more", () => {
    const attributes = [
      attr("tfy.span_type", "Model"),
      attr(
        "tfy.input",
        JSON.stringify({
          messages: [
            { role: "system", content: "be brief" },
            { role: "user", content: "hi" },
          ],
        }),
      ),
      attr("tfy.output", JSON.stringify({ choices: [{ message: { role: "assistant", content: "Hello." }, finish_reason: "stop" }] })),
      attr("gen_ai.input.messages", JSON.stringify([{ role: "user", parts: [{ type: "text", content: "hi" }] }])),
      attr("gen_ai.system_instructions", JSON.stringify([{ type: "text", content: "be brief" }])),
      attr(
        "gen_ai.output.messages",
        JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: "Hello." }], finish_reason: "stop" }]),
      ),
      attr("gen_ai.request.model", "openai-main/gpt-4o"),
    ];
    expect(keptKeys(attributes)).toEqual(["tfy.span_type", "gen_ai.request.model"]);
    expect(keptKeys(attributes, KEEP)).toEqual(attributes.map((a) => a.key));
    // A member written null, as a serializer writes one left out, says nothing.
    expect(
      keptKeys([
        attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content: "hi" }] })),
        attr("gen_ai.input.messages", JSON.stringify([{ role: "user", name: null, parts: [{ type: "text", content: "hi" }] }])),
      ]),
    ).toEqual([]);
    // Without the gateway's payload they are what Braintrust reads itself, and stay.
    expect(keptKeys([attr("tfy.span_type", "Model"), attr("gen_ai.input.messages", "[]"), attr("gen_ai.output.messages", "[]")])).toEqual([
      "tfy.span_type",
      "gen_ai.input.messages",
      "gen_ai.output.messages",
    ]);
  });

  it("keep a GenAI copy that says more than the payload: instructions the gateway added, a stream's text before it broke", () => {
    const attributes = [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content: "hi" }] })),
      attr("tfy.output", JSON.stringify({ error: { message: "stream interrupted" } })),
      attr("gen_ai.input.messages", JSON.stringify([{ role: "user", parts: [{ type: "text", content: "hi" }] }])),
      attr("gen_ai.system_instructions", JSON.stringify([{ type: "text", content: "You are the support agent." }])),
      attr("gen_ai.output.messages", JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: "Your refund was" }] }])),
    ];
    expect(keptKeys(attributes)).toEqual(["tfy.span_type", "gen_ai.system_instructions", "gen_ai.output.messages"]);
    // Values are compared as they read, however the payload escapes them; a payload's key is no value of it.
    expect(
      keptKeys([
        attr("tfy.input", '{"messages":[{"role":"user","content":"caf\\u00e9"}]}'),
        attr("gen_ai.input.messages", '[{"content":"café"}]'),
      ]),
    ).toEqual([]);
    expect(
      keptKeys([attr("tfy.input", '{"messages":[],"temperature":1}'), attr("gen_ai.system_instructions", '[{"content":"temperature"}]')]),
    ).toEqual(["gen_ai.system_instructions"]);
    // So is a number the payload does not hold, and text found only inside a longer one.
    expect(
      keptKeys([attr("tfy.input", '{"messages":[{"content":"hi there"}]}'), attr("gen_ai.input.messages", '[{"content":"hi"}]')]),
    ).toEqual(["gen_ai.input.messages"]);
    expect(
      keptKeys([attr("tfy.input", '{"messages":[{"content":"hi"}],"n":1}'), attr("gen_ai.input.messages", '[{"content":"hi","n":2}]')]),
    ).toEqual(["gen_ai.input.messages"]);
    expect(
      keptKeys([
        attr("tfy.input", '{"messages":[{"content":"hi"}]}'),
        attr("gen_ai.input.messages", '[{"content":"hi"},{"content":"hi","n":2}]'),
      ]),
    ).toEqual(["gen_ai.input.messages"]);
    expect(
      keptKeys([
        attr("tfy.input", '{"messages":[{"content":"hi"},{"content":"2"}]}'),
        attr("gen_ai.input.messages", '[{"content":"hi","n":2}]'),
      ]),
    ).toEqual(["gen_ai.input.messages"]);
  });

  it("go with the older export's indexed messages where there is no payload, when those say all of them", () => {
    const indexed = [
      attr("gen_ai.request.model", "gpt-4o"),
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", "Capital of Japan?"),
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.content", "Tokyo."),
    ];
    const inputCopy = attr(
      "gen_ai.input.messages",
      JSON.stringify([{ role: "user", parts: [{ type: "text", content: "Capital of Japan?" }] }]),
    );
    const outputCopy = (text: string) =>
      attr("gen_ai.output.messages", JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: text }] }]));

    expect(keptKeys([...indexed, inputCopy, outputCopy("Tokyo.")])).toEqual(["gen_ai.request.model"]);
    expect(keptKeys([...indexed, inputCopy, outputCopy("Kyoto, once.")])).toEqual(["gen_ai.request.model", "gen_ai.output.messages"]);
    expect(keptKeys([...indexed, inputCopy, outputCopy("Tokyo.")], KEEP)).toHaveLength(7);
  });

  it("include a GenAI copy of a tool call or an image, written in the conventions' own shapes", () => {
    const toolCall = [
      attr("tfy.span_type", "Model"),
      attr(
        "tfy.output",
        JSON.stringify({
          choices: [
            {
              message: {
                role: "assistant",
                content: null,
                tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","days":3}' } }],
              },
              finish_reason: "tool_calls",
            },
          ],
        }),
      ),
      attr(
        "gen_ai.output.messages",
        JSON.stringify([
          {
            role: "assistant",
            parts: [{ type: "tool_call", id: "call_1", name: "get_weather", arguments: { city: "Paris", days: 3 } }],
            finish_reason: "tool_call",
          },
        ]),
      ),
    ];
    const png = "iVBORw0KGgo".repeat(100);
    const image = [
      attr("tfy.span_type", "Model"),
      attr(
        "tfy.input",
        JSON.stringify({
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "What is this?" },
                { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
              ],
            },
          ],
        }),
      ),
      attr(
        "gen_ai.input.messages",
        JSON.stringify([
          {
            role: "user",
            parts: [
              { type: "text", content: "What is this?" },
              { type: "blob", modality: "image", mime_type: "image/png", content: png },
            ],
          },
        ]),
      ),
    ];
    expect(keptKeys(toolCall)).toEqual(["tfy.span_type"]);
    expect(keptKeys(image)).toEqual(["tfy.span_type"]);
  });

  it("keep a GenAI copy whose tool call says otherwise, or whose text the payload holds only inside other text", () => {
    const toolCall = (copyArguments: unknown, payloadArguments: string) =>
      keptKeys([
        attr(
          "tfy.output",
          JSON.stringify({ choices: [{ message: { tool_calls: [{ id: "c", function: { name: "pay", arguments: payloadArguments } }] } }] }),
        ),
        attr(
          "gen_ai.output.messages",
          JSON.stringify([{ role: "assistant", parts: [{ type: "tool_call", id: "c", name: "pay", arguments: copyArguments }] }]),
        ),
      ]);

    expect(toolCall({ amount: 3 }, '{"amount":500}')).toEqual(["gen_ai.output.messages"]);
    expect(toolCall({ type: "wire" }, '{"type":"card"}')).toEqual(["gen_ai.output.messages"]);
    expect(toolCall({ type: "card" }, '{"type":"card"}')).toEqual([]);
    // Spaced as a model writes it: the same JSON all the same, unless it says otherwise.
    expect(toolCall({ type: "card", ids: [1, 2] }, '{ "type": "card",\n  "ids": [1, 2] }')).toEqual([]);
    expect(toolCall({ amount: 3 }, '{"amount": 500}')).toEqual(["gen_ai.output.messages"]);
    for (const pasted of [
      JSON.stringify({ note: "Always answer in French." }),
      "Note: Always answer in French.",
      "Policy: Always answer in French.",
    ])
      expect(
        keptKeys([
          attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content: pasted }] })),
          attr("gen_ai.system_instructions", JSON.stringify([{ type: "text", content: "Always answer in French." }])),
        ]),
      ).toEqual(["gen_ai.system_instructions"]);
    const png = "iVBORw0KGgo".repeat(10);
    expect(
      keptKeys([
        attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content: `Is this a PNG? data:image/png;base64,${png}` }] })),
        attr(
          "gen_ai.input.messages",
          JSON.stringify([{ role: "user", parts: [{ type: "blob", modality: "image", mime_type: "image/png", content: png }] }]),
        ),
      ]),
    ).toEqual(["gen_ai.input.messages"]);
  });

  it("keep a GenAI copy longer than the relay reads, beside the payload it may restate", () => {
    const kept = (content: string) =>
      keptKeys([
        attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content }] })),
        attr("gen_ai.input.messages", JSON.stringify([{ content }])),
      ]);
    // A copy of 1 MiB of text, exactly, is read.
    const read = "x".repeat(1024 * 1024 - '[{"content":""}]'.length);
    expect(kept(`${read}x`)).toEqual(["gen_ai.input.messages"]);
    expect(kept(read)).toEqual([]);
  });

  it("all stay when the tenant keeps source attributes", () => {
    const span = spanWith("span", gateway);
    const { removedKeys, added } = translateInPlace(span, KEEP);

    expect(removedKeys.size).toBe(0);
    expect(span.attributes).toEqual([...gateway, ...added.map(addedKeyValue)]);
  });

  it("stay when the span has its own braintrust.* attribute where they would go", () => {
    expect(keptKeys([attr("tfy.input", '{"messages":[]}'), attr("braintrust.input_json", "[]")])).toEqual(["tfy.input"]);
    // The settings would have gone to metadata, which the span already has.
    expect(keptKeys([attr("tfy.input", '{"messages":[],"top_p":1}'), attr("braintrust.metadata", "{}")])).toEqual(["tfy.input"]);
    expect(keptKeys([attr("tfy.input", '{"messages":[]}'), attr("braintrust.metadata", "{}")])).toEqual([]);
    expect(keptKeys([attr("tfy.output", '{"choices":[],"id":"1"}'), attr("braintrust.metadata", "{}")])).toEqual(["tfy.output"]);
    expect(keptKeys([attr("tfy.model.metric.output_tokens", 1), attr("braintrust.metrics", "{}")])).toEqual([
      "tfy.model.metric.output_tokens",
    ]);
    expect(keptKeys([attr("gen_ai.completion.0.content", "a"), attr("braintrust.output_json", "[]")])).toEqual([
      "gen_ai.completion.0.content",
    ]);
    // What a request's span says its call used would have gone to metadata, which the span already has.
    expect(
      keptKeys([attr("tfy.span_type", "ChatCompletion"), attr("tfy.model.metric.input_tokens", 14), attr("braintrust.metadata", "{}")]),
    ).toEqual(["tfy.span_type", "tfy.model.metric.input_tokens"]);
    // So would the caller's keys but its tags, though the tags are written as tags.
    expect(keptKeys([attr("tfy.request.metadata", '{"tags":"a","env":"prod"}'), attr("braintrust.metadata", "{}")])).toEqual([
      "tfy.request.metadata",
    ]);
    // So would the body's model, which tfy.request.model_name does not show.
    const model = [attr("tfy.span_type", "Guardrail"), attr("tfy.input", '{"model":"openai-main/gpt-4o","messages":[]}')];
    expect(keptKeys([...model, attr("braintrust.metadata", "{}")])).toEqual(["tfy.span_type", "tfy.input"]);
    expect(keptKeys([...model, attr("tfy.request.model_name", "openai-main/gpt-4o"), attr("braintrust.metadata", "{}")])).toEqual([
      "tfy.span_type",
      "tfy.request.model_name",
    ]);
  });

  it("stay when their key comes twice, since only one of the values was restated", () => {
    const span = spanWith("span", [attr("tfy.input", "a"), attr("tfy.x", 1), attr("tfy.input", "b"), attr("tfy.output", "c")]);
    const { removedKeys } = translateInPlace(span, DROP);
    expect([...removedKeys]).toEqual(["tfy.output"]);
    expect(span.attributes.map((a) => a.key)).toEqual([
      "tfy.input",
      "tfy.x",
      "tfy.input",
      "braintrust.span_attributes",
      "braintrust.input_json",
      "braintrust.output_json",
    ]);
  });
});

describe("Traceloop messages", () => {
  it("are absent from a span without indexed prompt or completion attributes", () => {
    expect(traceloopMessages([attr("gen_ai.system", "openai"), attr("gen_ai.prompt", "x")])).toBeUndefined();
  });

  it("give only the side that is there, with the keys they came from", () => {
    expect(traceloopMessages([attr("gen_ai.completion.0.content", "a")])).toEqual({
      output: { messages: [{ content: "a" }], keys: ["gen_ai.completion.0.content"] },
    });
    expect(traceloopMessages([attr("gen_ai.prompt.0.content", "q")])).toEqual({
      input: { messages: [{ content: "q" }], keys: ["gen_ai.prompt.0.content"] },
    });
  });
});

describe("metrics", () => {
  it("leave a cost of 0, TrueFoundry's 'no price', as an attribute, so Braintrust prices the call by its model", () => {
    const attributes = [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.name", "gpt-4o"),
      attr("tfy.model.metric.input_tokens", 5),
      attr("tfy.model.metric.cost_in_usd", 0),
    ];

    expect(translated(attributes)["braintrust.metrics"]).toEqual({ prompt_tokens: 5, tokens: 5 });
    expect([...translateInPlace(spanWith("Model: x", attributes), DROP).removedKeys]).toEqual(["tfy.model.metric.input_tokens"]);
  });

  it("reads tokens, cached and reasoning tokens, cost and latencies (in seconds) from tfy.model.metric.*", () => {
    const result = translated([
      attr("tfy.model.metric.input_tokens", 14),
      attr("tfy.model.metric.output_tokens", 3),
      attr("tfy.model.metric.cache_read_input_tokens", 8),
      attr("tfy.model.metric.cache_write_input_tokens", 2),
      attr("tfy.model.metric.reasoning_tokens", 1),
      attr("tfy.model.metric.cost_in_usd", 0.25),
      attr("tfy.model.metric.time_to_first_token_in_ms", 1250),
      attr("tfy.model.metric.inter_token_latency_in_ms", 40),
    ]);

    expect(result["braintrust.metrics"]).toEqual({
      prompt_tokens: 14,
      completion_tokens: 3,
      tokens: 17,
      prompt_cached_tokens: 8,
      prompt_cache_creation_tokens: 2,
      completion_reasoning_tokens: 1,
      estimated_cost: 0.25,
      time_to_first_token: 1.25,
      inter_token_latency: 0.04,
    });
  });

  it("shows no time to first token, or between tokens, of 0: a timing the gateway did not take, for a call not streamed", () => {
    const attributes = [
      attr("tfy.model.metric.input_tokens", 14),
      attr("tfy.model.metric.time_to_first_token_in_ms", 0),
      attr("tfy.model.metric.inter_token_latency_in_ms", 0),
    ];

    expect(translated(attributes)["braintrust.metrics"]).toEqual({ prompt_tokens: 14, tokens: 14 });
    // Kept as the gateway sent them, so they still show in metadata.
    expect([...translateSpan(spanWith("span", attributes), DROP).removedKeys]).toEqual(["tfy.model.metric.input_tokens"]);
  });

  it("reads counts an exporter wrote as text", () => {
    expect(
      translated([attr("tfy.model.metric.input_tokens", "31"), attr("tfy.model.metric.cost_in_usd", "0.0004")])["braintrust.metrics"],
    ).toEqual({ prompt_tokens: 31, tokens: 31, estimated_cost: 0.0004 });
  });

  it("falls back to gen_ai.usage.*, and sums what there is", () => {
    expect(translated([attr("tfy.x", 1), attr("gen_ai.usage.prompt_tokens", 9)])["braintrust.metrics"]).toEqual({
      prompt_tokens: 9,
      tokens: 9,
    });
    expect(translated([attr("tfy.x", 1), attr("gen_ai.usage.input_tokens", 9)])["braintrust.metrics"]).toEqual({
      prompt_tokens: 9,
      tokens: 9,
    });
    expect(translated([attr("tfy.x", 1), attr("gen_ai.usage.completion_tokens", 4)])["braintrust.metrics"]).toEqual({
      completion_tokens: 4,
      tokens: 4,
    });
    expect(translated([attr("tfy.x", 1), attr("gen_ai.usage.output_tokens", 4)])["braintrust.metrics"]).toEqual({
      completion_tokens: 4,
      tokens: 4,
    });
    expect(translated([attr("tfy.model.metric.input_tokens", 5), attr("gen_ai.usage.prompt_tokens", 9)])["braintrust.metrics"]).toEqual({
      prompt_tokens: 5,
      tokens: 5,
    });
    expect(
      translated([attr("tfy.model.metric.output_tokens", 2), attr("gen_ai.usage.completion_tokens", 9)])["braintrust.metrics"],
    ).toEqual({ completion_tokens: 2, tokens: 2 });
  });

  it("read the response's usage on the span of a model call only, after the attributes", () => {
    const output = JSON.stringify({
      choices: [],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 2 },
      },
    });
    expect(
      translated([attr("tfy.span_type", "Model"), attr("tfy.output", output), attr("tfy.model.metric.input_tokens", 11)])[
        "braintrust.metrics"
      ],
    ).toEqual({
      prompt_tokens: 11,
      completion_tokens: 5,
      tokens: 16,
      prompt_cached_tokens: 4,
      completion_reasoning_tokens: 2,
    });
    expect(translated([attr("tfy.span_type", "ChatCompletion"), attr("tfy.output", output)])).not.toHaveProperty("braintrust.metrics");
    expect(
      translated([attr("tfy.span_type", "Model"), attr("tfy.output", '{"choices":[],"usage":{"prompt_tokens":4}}')])["braintrust.metrics"],
    ).toEqual({
      prompt_tokens: 4,
      tokens: 4,
    });
    expect(translated([attr("tfy.span_type", "Model"), attr("tfy.output", '{"choices":[],"usage":null}')])).not.toHaveProperty(
      "braintrust.metrics",
    );
  });

  it("leave out of the response's metadata the counts the metrics show, and only those", () => {
    const usage = {
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      prompt_tokens_details: { cached_tokens: 4, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 2 },
    };
    const output = JSON.stringify({ id: "c1", choices: [], usage });
    const metadataOf = (...attributes: KeyValue[]) =>
      translated([attr("tfy.span_type", "Model"), attr("tfy.output", output), ...attributes])["braintrust.metadata"];

    expect(metadataOf()).toEqual({ response: { id: "c1", usage: { prompt_tokens_details: { audio_tokens: 0 } } } });
    // A count the metrics say otherwise (the gateway's own) stays as the response said it, the total with it.
    expect(metadataOf(attr("tfy.model.metric.input_tokens", 11))).toEqual({
      response: { id: "c1", usage: { prompt_tokens: 10, total_tokens: 15, prompt_tokens_details: { audio_tokens: 0 } } },
    });
    // A span with metrics of its own shows none of the relay's: the usage stays whole.
    expect(metadataOf(attr("braintrust.metrics", '{"tokens":1}'))).toEqual({ response: { id: "c1", usage } });
    // Only the usage: another member saying the same count is the response's own.
    const beside = JSON.stringify({ choices: [], usage: { prompt_tokens: 10 }, meta: { prompt_tokens: 10 }, other_usage: {} });
    expect(translated([attr("tfy.span_type", "Model"), attr("tfy.output", beside)])["braintrust.metadata"]).toEqual({
      response: { meta: { prompt_tokens: 10 }, other_usage: {} },
    });
    // What says nothing the metrics say stays as it came, empty objects too.
    const metadataBeside = (usage: string) =>
      translated([
        attr("tfy.span_type", "Model"),
        attr("tfy.output", `{"choices":[],"usage":${usage}}`),
        attr("tfy.model.metric.input_tokens", 3),
      ])["braintrust.metadata"];
    expect(metadataBeside("{}")).toEqual({ response: { usage: {} } });
    expect(metadataBeside('{"prompt_tokens":3,"prompt_tokens_details":{}}')).toEqual({
      response: { usage: { prompt_tokens_details: {} } },
    });
    // A request's span shows no metrics of its call's: its response's usage is where they show.
    expect(translated([attr("tfy.span_type", "ChatCompletion"), attr("tfy.output", output)])["braintrust.metadata"]).toEqual({
      response: { id: "c1", usage },
    });
  });

  it("are a model call's, not its request's: a request's span shows what its call used in metadata, where nothing sums it", () => {
    const used = [
      attr("tfy.model.metric.input_tokens", 14),
      attr("gen_ai.usage.output_tokens", 2),
      attr("tfy.model.metric.cost_in_usd", 0.0002),
      attr("tfy.model.metric.time_to_first_token_in_ms", 400),
    ];
    for (const type of ["ChatCompletion", "Completion", "Embedding", "Rerank", "AgentResponse"]) {
      const attributes = [attr("tfy.span_type", type), ...used];
      const added = translated(attributes);
      expect(added["braintrust.metrics"]).toEqual({ time_to_first_token: 0.4 });
      expect(added["braintrust.metadata"]).toEqual({
        "tfy.model.metric.input_tokens": 14,
        "gen_ai.usage.output_tokens": 2,
        "tfy.model.metric.cost_in_usd": 0.0002,
      });
      expect(keptKeys(attributes)).toEqual(["tfy.span_type"]);
      // Kept, the attributes show them, and metadata does not again.
      const kept = spanWith("span", attributes);
      translateInPlace(kept, KEEP);
      expect(attributesOf(kept)["braintrust.metadata"]).toBeUndefined();
    }
    // Sent twice, a key stays, both of its values, and is not shown again in metadata.
    const twice = [attr("tfy.span_type", "ChatCompletion"), attr("gen_ai.usage.input_tokens", 14), attr("gen_ai.usage.input_tokens", 15)];
    expect(translated(twice)).not.toHaveProperty("braintrust.metadata");
    expect(keptKeys(twice)).toEqual(["tfy.span_type", "gen_ai.usage.input_tokens", "gen_ai.usage.input_tokens"]);
    // Every other count of the call's the conventions give goes with them: Braintrust reads gen_ai.usage.* itself.
    const others = [
      attr("tfy.span_type", "ChatCompletion"),
      attr("gen_ai.usage.total_tokens", 16),
      attr("gen_ai.usage.cache_read.input_tokens", "3"),
    ];
    expect(translated(others)["braintrust.metadata"]).toEqual({
      "gen_ai.usage.total_tokens": 16,
      "gen_ai.usage.cache_read.input_tokens": "3",
    });
    expect(keptKeys(others)).toEqual(["tfy.span_type"]);
    // The model call's own span counts them; so does a span of another or no type.
    for (const type of ["Model", "Guardrail", "MCP", "Mystery"]) {
      expect(translated([attr("tfy.span_type", type), ...used])["braintrust.metrics"]).toEqual({
        prompt_tokens: 14,
        completion_tokens: 2,
        tokens: 16,
        estimated_cost: 0.0002,
        time_to_first_token: 0.4,
      });
    }
  });

  it("take the attributes that say the same as the one read with it, and leave one that says otherwise", () => {
    const attributes = [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.metric.input_tokens", 14),
      attr("gen_ai.usage.input_tokens", 14),
      attr("gen_ai.usage.prompt_tokens", 15),
    ];
    expect(translated(attributes)["braintrust.metrics"]).toEqual({ prompt_tokens: 14, tokens: 14 });
    expect(keptKeys(attributes)).toEqual(["tfy.span_type", "gen_ai.usage.prompt_tokens"]);
    // The conventions' total is the tokens metric when it is their sum.
    const total = (value: number | string) => [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.metric.input_tokens", 14),
      attr("tfy.model.metric.output_tokens", 2),
      attr("gen_ai.usage.total_tokens", value),
    ];
    expect(keptKeys(total(16))).toEqual(["tfy.span_type"]);
    expect(keptKeys(total("16"))).toEqual(["tfy.span_type"]);
    expect(keptKeys(total(17))).toEqual(["tfy.span_type", "gen_ai.usage.total_tokens"]);
  });

  it("keep the conventions' total beside metrics without a token count, when it is not a number", () => {
    const attributes = [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.metric.time_to_first_token_in_ms", 250),
      attr("gen_ai.usage.total_tokens", "unknown"),
    ];
    expect(translated(attributes)["braintrust.metrics"]).toEqual({ time_to_first_token: 0.25 });
    // No tokens metric restates it: it is the span's own word, shown as the gateway sent it.
    expect(keptKeys(attributes)).toEqual(["tfy.span_type", "gen_ai.usage.total_tokens"]);
  });

  it("take a prompt all read from the cache as it is: its cached tokens are counted in it", () => {
    expect(
      translated([
        attr("tfy.span_type", "Model"),
        attr("tfy.model.metric.input_tokens", 1024),
        attr("tfy.model.metric.cache_read_input_tokens", 1024),
      ])["braintrust.metrics"],
    ).toEqual({ prompt_tokens: 1024, tokens: 1024, prompt_cached_tokens: 1024 });
  });

  it("show a request's cache and reasoning tokens in metadata too: they are its model call's", () => {
    const attributes = [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.model.metric.cache_read_input_tokens", 3),
      attr("tfy.model.metric.cache_write_input_tokens", 2),
      attr("tfy.model.metric.reasoning_tokens", 4),
    ];
    const added = translated(attributes);
    expect(added).not.toHaveProperty("braintrust.metrics");
    expect(added["braintrust.metadata"]).toEqual({
      "tfy.model.metric.cache_read_input_tokens": 3,
      "tfy.model.metric.cache_write_input_tokens": 2,
      "tfy.model.metric.reasoning_tokens": 4,
    });
    expect(keptKeys(attributes)).toEqual(["tfy.span_type"]);
  });

  it("read cache-creation tokens under either name TrueFoundry may use", () => {
    expect(translated([attr("tfy.model.metric.cache_creation_input_tokens", 5)])["braintrust.metrics"]).toEqual({
      prompt_cache_creation_tokens: 5,
    });
  });

  it("are left out when there are none", () => {
    expect(translated([attr("tfy.span_type", "Model")])).not.toHaveProperty("braintrust.metrics");
  });
});

describe("the model Braintrust prices by", () => {
  const model = (attributes: KeyValue[], type = "Model") =>
    (translated([attr("tfy.span_type", type), ...attributes])["braintrust.metadata"] as Record<string, unknown> | undefined)?.model;

  it("is the response's model, else the model called, else the request's without the provider account", () => {
    expect(
      model([attr("tfy.input", '{"model":"openai-main/gpt-4o","messages":[]}'), attr("tfy.output", '{"model":"gpt-4o-2024-08-06"}')]),
    ).toBe("gpt-4o-2024-08-06");
    expect(model([attr("tfy.input", '{"model":"openai-main/gpt-4o","messages":[]}'), attr("tfy.output", '{"model":7}')])).toBe("gpt-4o");
    // A request body with no input field the relay knows still names its model.
    expect(model([attr("tfy.input", '{"model":"openai-main/gpt-4o","question":"Hi"}')])).toBe("gpt-4o");
    // A virtual model resolves to the model the gateway called.
    expect(model([attr("tfy.input", '{"model":"routing/fast-chat","messages":[]}'), attr("tfy.model.name", "gpt-4o-mini")], "Model")).toBe(
      "gpt-4o-mini",
    );
    // tfy.model.name is the provider's name as it is, a slash of its own included.
    expect(
      model([
        attr("tfy.request.model_name", "together-main/meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        attr("tfy.model.name", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
      ]),
    ).toBe("meta-llama/Llama-3.3-70B-Instruct-Turbo");
    expect(model([attr("tfy.request.model_name", "bedrock/anthropic.claude-v2")])).toBe("anthropic.claude-v2");
    expect(model([attr("tfy.request.model_name", "bedrock/anthropic.claude-v2"), attr("gen_ai.request.model", "x/y")])).toBe(
      "anthropic.claude-v2",
    );
    expect(model([attr("gen_ai.request.model", "openai-main/gpt-4o")])).toBe("gpt-4o");
    expect(model([attr("tfy.model.name", "gpt-4.1")])).toBe("gpt-4.1");
    expect(model([attr("tfy.model.name", "odd/")])).toBe("odd/");
    expect(model([attr("tfy.request.model_name", "")])).toBeUndefined();
  });

  it("is the model a GenAI span says answered, gen_ai.response.model, over the one it asked for: a virtual model's name prices as nothing", () => {
    const genAi = (attributes: KeyValue[]) => (translated(attributes)["braintrust.metadata"] as Record<string, unknown> | undefined)?.model;
    expect(genAi([attr("gen_ai.request.model", "routing/fast-chat"), attr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")])).toBe(
      "gpt-4o-mini-2024-07-18",
    );
    expect(
      genAi([attr("gen_ai.request.model", "openai-main/gpt-4o"), attr("gen_ai.response.model", "openai-main/gpt-4o-2024-08-06")]),
    ).toBe("gpt-4o-2024-08-06");
    expect(genAi([attr("gen_ai.request.model", "openai-main/gpt-4o"), attr("gen_ai.response.model", "")])).toBe("gpt-4o");
    // The response's own model, in tfy.output, says it first.
    expect(model([attr("tfy.output", '{"model":"gpt-4o-2024-08-06"}'), attr("gen_ai.response.model", "gpt-4o")])).toBe("gpt-4o-2024-08-06");
  });

  it("drops from the model called, or the response's, the provider account the request named", () => {
    expect(model([attr("tfy.request.model_name", "openai-main/gpt-4o"), attr("tfy.model.name", "openai-main/gpt-4o")])).toBe("gpt-4o");
    expect(
      model([
        attr("tfy.input", '{"model":"openai-main/gpt-4o","messages":[]}'),
        attr("tfy.output", '{"model":"openai-main/gpt-4o-2024-08-06"}'),
      ]),
    ).toBe("gpt-4o-2024-08-06");
    // Another prefix is the provider's own.
    expect(model([attr("tfy.request.model_name", "openai-main/gpt-4o"), attr("tfy.model.name", "meta-llama/Llama-3")])).toBe(
      "meta-llama/Llama-3",
    );
    expect(model([attr("tfy.model.name", "openai-main/gpt-4o")])).toBe("openai-main/gpt-4o");
    // The account alone goes, whatever model follows it; a name that is the account alone, or an empty one, stays whole.
    expect(model([attr("tfy.request.model_name", "openai-main/gpt-4o"), attr("tfy.model.name", "openai-main/gpt-4.1")])).toBe("gpt-4.1");
    expect(model([attr("tfy.request.model_name", "openai-main/gpt-4o"), attr("tfy.model.name", "openai-main/")])).toBe("openai-main/");
    expect(model([attr("tfy.request.model_name", "/gpt-4o"), attr("tfy.model.name", "/gpt-4o-mini")])).toBe("/gpt-4o-mini");
    expect(model([attr("tfy.request.model_name", "openai-main/")])).toBe("openai-main/");
  });

  it("is the model called where the response only repeats the name the request gave, account and all: no provider answers so", () => {
    const echoed = (asked: string, called: string | undefined) =>
      model([
        attr("tfy.input", `{"model":"${asked}","messages":[]}`),
        attr("tfy.output", `{"model":"${asked}","choices":[]}`),
        ...(called === undefined ? [] : [attr("tfy.model.name", called)]),
      ]);
    expect(echoed("routing/fast-chat", "gpt-4o-mini")).toBe("gpt-4o-mini");
    expect(echoed("bedrock-main/anthropic.claude-3-5-sonnet", "anthropic.claude-3-5-sonnet-20240620-v1:0")).toBe(
      "anthropic.claude-3-5-sonnet-20240620-v1:0",
    );
    expect(
      model([
        attr("tfy.request.model_name", "routing/fast-chat"),
        attr("gen_ai.response.model", "routing/fast-chat"),
        attr("tfy.model.name", "gpt-4o-mini"),
      ]),
    ).toBe("gpt-4o-mini");
    // Without the model called, the echo without its account; a name without one is the provider's own.
    expect(echoed("openai-main/gpt-4o", undefined)).toBe("gpt-4o");
    expect(echoed("gpt-4o", "gpt-4o-deployment")).toBe("gpt-4o");
    // An empty account is none: a name starting with a slash is no echo of one.
    expect(echoed("/fast-chat", "gpt-4o-mini")).toBe("/fast-chat");
  });

  it("is the model called where the response names it under an account the request did not name (a virtual model's call)", () => {
    const answered = (response: string, called: string) =>
      model([
        attr("tfy.input", '{"model":"routing/fast-chat","messages":[]}'),
        attr("tfy.output", `{"model":"${response}","choices":[]}`),
        attr("tfy.model.name", called),
      ]);
    expect(answered("openai-main/gpt-4o", "gpt-4o")).toBe("gpt-4o");
    expect(answered("together-main/meta-llama/Llama-3.3-70B", "meta-llama/Llama-3.3-70B")).toBe("meta-llama/Llama-3.3-70B");
    // The provider's own answer, a snapshot of the model called, is what answered.
    expect(answered("gpt-4o-2024-08-06", "gpt-4o")).toBe("gpt-4o-2024-08-06");
  });

  it("leaves the response's model out of metadata.response only where metadata.model says it", () => {
    const response = (...attributes: KeyValue[]) =>
      (
        translated([attr("tfy.output", '{"model":"openai-main/gpt-4o","choices":[]}'), ...attributes])["braintrust.metadata"] as Record<
          string,
          unknown
        >
      )?.response;

    expect(response(attr("tfy.span_type", "Model"))).toBeUndefined();
    // The name it answered with is not the one Braintrust prices by, nor is a guardrail's a model call.
    expect(response(attr("tfy.span_type", "Model"), attr("tfy.model.name", "gpt-4o"))).toEqual({ model: "openai-main/gpt-4o" });
    expect(response(attr("tfy.span_type", "Guardrail"))).toEqual({ model: "openai-main/gpt-4o" });
    // A span with metadata of its own shows none of the relay's: the payload stays, model and all.
    expect(
      keptKeys([attr("tfy.span_type", "Model"), attr("tfy.output", '{"model":"gpt-4o","choices":[]}'), attr("braintrust.metadata", "{}")]),
    ).toContain("tfy.output");
  });

  it("is on requests and model calls only, not on guardrails or tools, where the request's model is TrueFoundry's name", () => {
    expect(model([attr("tfy.request.model_name", "openai-main/gpt-4o")], "ChatCompletion")).toBe("gpt-4o");
    expect(model([attr("tfy.request.model_name", "openai-main/gpt-4o")], "Guardrail")).toBeUndefined();
    expect(
      translated([attr("tfy.span_type", "Guardrail"), attr("tfy.input", '{"model":"openai-main/gpt-4o","messages":[]}')])[
        "braintrust.metadata"
      ],
    ).toEqual({
      gateway_model: "openai-main/gpt-4o",
    });
  });

  it("adds no gateway_model when the request named the provider's model itself", () => {
    expect(
      translated([attr("tfy.span_type", "Model"), attr("tfy.input", '{"model":"gpt-4o","messages":[]}')])["braintrust.metadata"],
    ).toEqual({
      model: "gpt-4o",
    });
  });

  it("leaves TrueFoundry's name in the request to tfy.request.model_name when the span has it", () => {
    expect(
      translated([
        attr("tfy.span_type", "ChatCompletion"),
        attr("tfy.request.model_name", "openai-main/gpt-4o"),
        attr("tfy.input", '{"model":"openai-main/gpt-4o","messages":[]}'),
      ])["braintrust.metadata"],
    ).toEqual({ model: "gpt-4o" });
  });
});

describe("metadata", () => {
  it("restates no attribute that stays on the span, so nothing shows twice", () => {
    expect(
      translated([
        attr("tfy.model.fqn", "truefoundry:openai/gpt-4.1-mini"),
        attr("tfy.model.streaming", true),
        attr("tfy.request.created_by_subject", "user:alice"),
        attr("tfy.error_message", "rate limited"),
      ]),
    ).not.toHaveProperty("braintrust.metadata");
  });
});

describe("tags", () => {
  it("come from the request metadata's tags, a comma-separated string or a list of strings", () => {
    const tags = (value: unknown) => translated([attr("tfy.request.metadata", JSON.stringify({ tags: value }))])["braintrust.tags"];

    expect(tags(" a , b,,c ")).toEqual(["a", "b", "c"]);
    // A tag given twice is one tag.
    expect(tags("a, b, a")).toEqual(["a", "b"]);
    expect(tags(["a", "a"])).toEqual(["a"]);
    // A caller's JSON.stringify(tags) in a header that takes strings only.
    expect(tags('["a", "b,c", 3]')).toEqual(["a", "b,c"]);
    // Space before the list, as a header value written by hand may have, is no part of a tag.
    expect(tags(' \t["prod", "checkout"]')).toEqual(["prod", "checkout"]);
    expect(tags("[a, b")).toEqual(["[a", "b"]);
    expect(tags(["a", 1, "", "b"])).toEqual(["a", "b"]);
    expect(tags(7)).toBeUndefined();
    expect(tags([])).toBeUndefined();
    expect(translated([attr("tfy.request.metadata", "not json")])).not.toHaveProperty("braintrust.tags");
  });

  it("are read from a key-value list and from flattened tfy.request.metadata.<key> attributes", () => {
    expect(translated([attr("tfy.request.metadata", { env: "prod", tags: "a,b" })])["braintrust.tags"]).toEqual(["a", "b"]);
    expect(
      translated([attr("tfy.request.metadata.tags", "2024,b"), attr("tfy.request.metadata", '{"tags":"ignored"}')])["braintrust.tags"],
    ).toEqual(["2024", "b"]);
    expect(translated([attr("tfy.request.metadata.tags", ["x"])])["braintrust.tags"]).toEqual(["x"]);
  });

  it("keep a tag that reads as JSON, in a list of a key-value list or of a flattened attribute: a tag is text", () => {
    expect(translated([attr("tfy.request.metadata", { tags: ["2024", "true", "q3"] })])["braintrust.tags"]).toEqual(["2024", "true", "q3"]);
    expect(translated([attr("tfy.request.metadata.tags", ["2024", "q3"])])["braintrust.tags"]).toEqual(["2024", "q3"]);
  });
});

describe("the caller's request metadata", () => {
  /** The keys removed from a span with these attributes, and the metadata Braintrust is given for it. */
  const translatedWith = (attributes: KeyValue[]) => {
    const span = spanWith("span", attributes);
    const { removedKeys } = translateInPlace(span, DROP);
    return { removed: [...removedKeys].sort(), metadata: translated(attributes)["braintrust.metadata"] };
  };

  it("restates every value exactly, as OTLP/JSON writes what JSON's numbers cannot hold, since its attribute is then removed", () => {
    /** The metadata's JSON text as sent to Braintrust, and whether the sources went. */
    const sent = (attributes: KeyValue[]) => {
      const span = spanWith("span", attributes);
      translateInPlace(span, DROP);
      return { metadata: attributesOf(span)["braintrust.metadata"], sourcesLeft: keptKeys(attributes).filter((k) => k.startsWith("tfy.")) };
    };
    const bytes = create(KeyValueSchema, { key: "blob", value: { value: { case: "bytesValue", value: new Uint8Array([1, 2, 250]) } } });

    expect(
      sent([attr("tfy.request.metadata", { order_id: 9007199254740993n, blob: "x", score: Number.POSITIVE_INFINITY, nan: Number.NaN })]),
    ).toEqual({
      metadata: '{"order_id":9007199254740993,"blob":"x","score":"Infinity","nan":"NaN"}',
      sourcesLeft: [],
    });
    expect(
      sent([
        create(KeyValueSchema, { key: "tfy.request.metadata", value: { value: { case: "kvlistValue", value: { values: [bytes] } } } }),
      ]),
    ).toEqual({
      metadata: '{"blob":"AQL6"}',
      sourcesLeft: [],
    });
    expect(sent([attr("tfy.request.metadata.order_id", 9223372036854775807n), attr("tfy.request.metadata.small", -12n)])).toEqual({
      metadata: '{"order_id":9223372036854775807,"small":-12}',
      sourcesLeft: [],
    });
    expect(sent([attr("tfy.request.metadata", '{"order_id":12345678901234567890}')]).metadata).toBe('{"order_id":12345678901234567890}');
    // A whole metadata that is a number, however long, is no metadata: it stays as it came.
    expect(sent([attr("tfy.request.metadata", "12345678901234567890")])).toEqual({
      metadata: undefined,
      sourcesLeft: ["tfy.request.metadata"],
    });
  });

  it("shows key by key in the span's metadata, from JSON text, a key-value list or flattened attributes, tags only as tags", () => {
    const json = translatedWith([attr("tfy.request.metadata", '{"env":"prod","tags":"a,b","__proto__":"x"}')]);
    const list = translatedWith([attr("tfy.request.metadata", { env: "prod", tags: "a,b" })]);
    const flattened = translatedWith([attr("tfy.request.metadata.env", "2024"), attr("tfy.request.metadata.tags", "a")]);

    expect(json).toEqual({ removed: ["tfy.request.metadata"], metadata: JSON.parse('{"env":"prod","__proto__":"x"}') });
    expect(list).toEqual({ removed: ["tfy.request.metadata"], metadata: { env: "prod" } });
    // A flattened value is the header's text: "2024" stays a string.
    expect(flattened).toEqual({ removed: ["tfy.request.metadata.env", "tfy.request.metadata.tags"], metadata: { env: "2024" } });
  });

  it("shows a key-value list's text as text, as the header sent it, however much it reads as JSON", () => {
    const list = translatedWith([
      attr("tfy.request.metadata", { release: "2.10", flag: "true", order: "12345678901234567890", nested: { ids: ["007"] } }),
    ]);
    expect(list).toEqual({
      removed: ["tfy.request.metadata"],
      metadata: { release: "2.10", flag: "true", order: "12345678901234567890", nested: { ids: ["007"] } },
    });
    expect(translatedWith([attr("tfy.request.metadata.ids", ["1.50", "2"])]).metadata).toEqual({ ids: ["1.50", "2"] });
  });

  it("lets a flattened key win over the same key of a whole one", () => {
    expect(
      translatedWith([attr("tfy.request.metadata", '{"env":"staging","team":"a"}'), attr("tfy.request.metadata.env", "prod")]).metadata,
    ).toEqual({ env: "prod", team: "a" });
  });

  it("shows a key the relay's own would hide under its flattened name, and its other keys key by key", () => {
    const hidden = translatedWith([
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"model":"gpt-4o","temperature":0.2,"user":"cust-42","messages":[]}'),
      attr("tfy.request.metadata", '{"temperature":"warm","env":"prod","user":"ana"}'),
    ]);
    expect(hidden.removed).toEqual(["tfy.input", "tfy.request.metadata"]);
    expect(hidden.metadata).toEqual({
      env: "prod",
      model: "gpt-4o",
      temperature: 0.2,
      user: "cust-42",
      "tfy.request.metadata.temperature": "warm",
      "tfy.request.metadata.user": "ana",
    });
    const flattened = translatedWith([
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"model":"gpt-4o","messages":[]}'),
      attr("tfy.request.metadata.model", "mine"),
      attr("tfy.request.metadata.env", "prod"),
    ]);
    expect(flattened.removed).toEqual(["tfy.input", "tfy.request.metadata.env", "tfy.request.metadata.model"]);
    expect(flattened.metadata).toEqual({ env: "prod", model: "gpt-4o", "tfy.request.metadata.model": "mine" });

    // A body field with that very name too: the caller's attribute stays, so its value still shows.
    const taken = translatedWith([
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"model":"gpt-4o","user":"cust-42","tfy.request.metadata.user":"x","messages":[]}'),
      attr("tfy.request.metadata", '{"user":"ana"}'),
    ]);
    expect(taken.removed).not.toContain("tfy.request.metadata");
  });

  it("keeps its attribute when it is not an object", () => {
    expect(translatedWith([attr("tfy.request.metadata", "plain text")]).removed).toEqual([]);
  });

  it("shows key by key when a key it shares with the request says the same", () => {
    const same = translatedWith([
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"model":"gpt-4o","user":"u-42","messages":[]}'),
      attr("tfy.request.metadata", '{"user":"u-42","env":"prod"}'),
    ]);
    expect(same.removed).toEqual(["tfy.input", "tfy.request.metadata"]);
    expect(same.metadata).toEqual({ user: "u-42", env: "prod", model: "gpt-4o" });
  });

  it("keeps tags in metadata when the span has tags of its own, which win", () => {
    expect(translatedWith([attr("tfy.request.metadata", '{"tags":"a"}'), attr("braintrust.tags", ["own"])]).metadata).toEqual({
      tags: "a",
    });
  });
});

describe("a guardrail's output, the request it let through", () => {
  it("shows the messages it passed on, and in metadata only the settings it changed", () => {
    const added = translated([
      attr("tfy.span_type", "Guardrail"),
      attr("tfy.input", '{"model":"openai-main/gpt-4o","messages":[{"role":"user","content":"ana@x.io"}],"temperature":0.2,"seed":7}'),
      attr("tfy.output", '{"model":"openai-main/gpt-4o","messages":[{"role":"user","content":"[EMAIL]"}],"temperature":0,"seed":7}'),
    ]);

    expect(added["braintrust.output_json"]).toEqual([{ role: "user", content: "[EMAIL]" }]);
    expect(added["braintrust.metadata"]).toEqual({
      gateway_model: "openai-main/gpt-4o",
      temperature: 0.2,
      seed: 7,
      response: { temperature: 0 },
    });
  });

  it("keeps the request's attribute when a setting has the name of a key of the relay's own, which hides it in metadata", () => {
    const attributes = [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", '{"messages":[],"response":"the setting","seed":7}'),
      attr("tfy.output", '{"id":"chatcmpl-1","choices":[]}'),
    ];

    expect(translated(attributes)["braintrust.metadata"]).toEqual({ seed: 7, response: { id: "chatcmpl-1" } });
    expect(keptKeys(attributes)).toEqual(["tfy.span_type", "tfy.input"]);
    expect(keptKeys([attributes[0]!, attr("tfy.input", '{"messages":[],"seed":7}'), attributes[2]!])).toEqual(["tfy.span_type"]);
    // The same JSON shows once, whoever wrote it.
    expect(keptKeys([attributes[0]!, attr("tfy.input", '{"messages":[],"response":{"id":"chatcmpl-1"}}'), attributes[2]!])).toEqual([
      "tfy.span_type",
    ]);
  });

  it("names the settings it took out", () => {
    const added = translated([
      attr("tfy.span_type", "Guardrail"),
      attr("tfy.input", '{"messages":[],"user":"ana@x.io","tools":[{"type":"function"}],"seed":7}'),
      attr("tfy.output", '{"messages":[],"seed":7}'),
    ]);

    expect((added["braintrust.metadata"] as Record<string, unknown>).response).toEqual({ removed_settings: ["user", "tools"] });
  });
});

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
  const event = (name: string, attributes: KeyValue[]) => create(Span_EventSchema, { name, timeUnixNano: 5n, attributes });
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

describe("a payload nested deeper than the relay reads JSON", () => {
  it("shows as text: what is parsed is written out again, and that recurses", () => {
    const deep = `{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    const added = translated([attr("tfy.span_type", "ChatCompletion"), attr("tfy.input", deep), attr("tfy.request.metadata", deep)]);
    expect(added["braintrust.input_json"]).toBe(deep);
    expect(added["braintrust.metadata"]).toBeUndefined();
  });
});

describe("a span failed by tfy.error_message alone", () => {
  it.each([
    ["protobuf, spliced", "protobuf", {}],
    ["JSON, encoded anew", "json", {}],
    ["redacted, encoded anew", "protobuf", { redact: { values: ["emails"] } }],
  ] as const)("arrives with status ERROR and the message, the attribute gone (%s)", (_path, format, settings) => {
    const span = spanWith("ChatCompletion: x", [attr("tfy.span_type", "ChatCompletion"), attr("tfy.error_message", "timed out")]);
    const [out] = spansOf(relayed(requestOf([span]), settings, format).requests[0]!.request);

    expect(out!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "timed out" });
    expect(out!.attributes.map((a) => a.key)).not.toContain("tfy.error_message");
  });

  it("puts the gateway's message beside a status message of ERROR that does not say it, and drops the attribute", () => {
    const failed = (status: string, gateway: string) => {
      const span = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.error_message", gateway)]);
      span.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: status });
      return span;
    };
    const reason = "This model's maximum context length is 128000 tokens";
    const spans = [failed("400", reason), failed("400", `400 Bad Request: ${reason}`), failed(`provider said: ${reason}`, reason)];
    const [bare, inGateway, inStatus] = spansOf(relayed(requestOf(spans)).requests[0]!.request);

    // The view's error is the status's message: a bare code would leave the reason among the metadata.
    expect(bare!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: `400: ${reason}` });
    expect(inGateway!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: `400 Bad Request: ${reason}` });
    expect(inStatus!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: `provider said: ${reason}` });
    for (const out of [bare, inGateway, inStatus]) expect(attributesOf(out!)).not.toHaveProperty("tfy.error_message");
  });

  it("keeps a status's code beside a gateway message that has its digits only inside another number", () => {
    const span = spanWith("Model: x", [
      attr("tfy.span_type", "Model"),
      attr("tfy.error_message", "This model's maximum context length is 4000 tokens"),
    ]);
    span.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: "400" });
    const [out] = spansOf(relayed(requestOf([span])).requests[0]!.request);

    expect(out!.status).toMatchObject({
      code: Status_StatusCode.ERROR,
      message: "400: This model's maximum context length is 4000 tokens",
    });
  });
  it("gives a status that is ERROR without a message the gateway's message, and drops the attribute", () => {
    const span = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.error_message", "Provider returned 500")]);
    span.status = { $typeName: "opentelemetry.proto.trace.v1.Status", code: Status_StatusCode.ERROR, message: "" };
    const [out] = spansOf(relayed(requestOf([span])).requests[0]!.request);

    expect(out!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "Provider returned 500" });
    expect(attributesOf(out!)).not.toHaveProperty("tfy.error_message");
  });

  it("drops the attribute when the status's own message says the same, and keeps one that is no message", () => {
    const same = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.error_message", "Provider returned 500")]);
    same.status = { $typeName: "opentelemetry.proto.trace.v1.Status", code: Status_StatusCode.ERROR, message: "Provider returned 500" };
    // Empty or a number, it says no error, and stays in metadata as it came.
    const empty = spanWith("Model: y", [attr("tfy.span_type", "Model"), attr("tfy.error_message", "")]);
    const code = spanWith("Model: z", [attr("tfy.span_type", "Model"), attr("tfy.error_message", 500)]);
    const [sameOut, emptyOut, codeOut] = spansOf(relayed(requestOf([same, empty, code])).requests[0]!.request);

    expect(sameOut!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "Provider returned 500" });
    expect(attributesOf(sameOut!)).not.toHaveProperty("tfy.error_message");
    expect(attributesOf(emptyOut!)["tfy.error_message"]).toBe("");
    expect(emptyOut!.status?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
    expect(attributesOf(codeOut!)["tfy.error_message"]).toBe(500n);
    expect(codeOut!.status?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
  });
});

describe("a span failed without a message, as OpenTelemetry's SDKs record an exception", () => {
  /** A span with status ERROR and no message, and these events, each `exception` with these attributes. */
  const failedWith = (attributes: KeyValue[], ...exceptions: Array<Record<string, string>>) => {
    const span = spanWith("ChatCompletion: x", attributes);
    span.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: "" });
    span.events = [
      create(Span_EventSchema, { name: "gen_ai.user.message", attributes: [attr("content", "hi")] }),
      ...exceptions.map((event) =>
        create(Span_EventSchema, { name: "exception", attributes: Object.entries(event).map(([k, v]) => attr(k, v)) }),
      ),
    ];
    return span;
  };
  const timedOut = { "exception.type": "ProviderTimeoutError", "exception.message": "openai-main timed out after 60s" };

  it.each([
    ["protobuf, spliced", "protobuf", {}],
    ["JSON, encoded anew", "json", {}],
    ["redacted, encoded anew", "protobuf", { redact: { values: ["emails"] } }],
  ] as const)("shows the last exception's type and message as the span's error (%s)", (_path, format, settings) => {
    const span = failedWith([attr("tfy.span_type", "ChatCompletion")], { "exception.message": "an earlier one" }, timedOut);
    const [out] = spansOf(relayed(requestOf([span]), settings, format).requests[0]!.request);

    expect(out!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "ProviderTimeoutError: openai-main timed out after 60s" });
    expect(out!.events).toEqual(span.events);
  });

  it("does so on a span that is not the gateway's too, and with the type or the message alone", () => {
    const statusOf = (span: Span) => spansOf(relayed(requestOf([span])).requests[0]!.request)[0]!.status;

    expect(statusOf(failedWith([attr("app", "x")], timedOut))?.message).toBe("ProviderTimeoutError: openai-main timed out after 60s");
    expect(statusOf(failedWith([], { "exception.message": "boom" }))?.message).toBe("boom");
    expect(statusOf(failedWith([], { "exception.type": "KeyError" }))?.message).toBe("KeyError");
    expect(statusOf(failedWith([], { "exception.type": "KeyError", "exception.message": "" }))?.message).toBe("KeyError");
  });

  it("reads the last exception event, whatever events the span recorded after it", () => {
    const span = failedWith([], timedOut);
    span.events.push(create(Span_EventSchema, { name: "gen_ai.choice", attributes: [attr("finish_reason", "error")] }));

    expect(spansOf(relayed(requestOf([span])).requests[0]!.request)[0]!.status?.message).toBe(
      "ProviderTimeoutError: openai-main timed out after 60s",
    );
  });

  it("leaves a status with a message, a span that did not fail, and what the gateway says first, as they are", () => {
    const statusOf = (span: Span) => spansOf(relayed(requestOf([span])).requests[0]!.request)[0]!.status;
    const withMessage = failedWith([], timedOut);
    withMessage.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: "its own" });
    const handled = failedWith([], timedOut);
    handled.status = create(StatusSchema, { code: Status_StatusCode.OK });

    expect(statusOf(withMessage)?.message).toBe("its own");
    expect(statusOf(handled)).toEqual(create(StatusSchema, { code: Status_StatusCode.OK }));
    expect(statusOf(failedWith([], {}))?.message).toBe("");
    expect(
      statusOf(failedWith([attr("tfy.span_type", "Model"), attr("tfy.error_message", "Provider returned 500")], timedOut))?.message,
    ).toBe("Provider returned 500");
  });
});

describe("a call whose recorded answer is an error body", () => {
  it.each([
    [
      "OpenAI's",
      '{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","code":"rate_limit_exceeded"}}',
      "Rate limit reached for gpt-4o",
    ],
    ["Anthropic's", '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', "Overloaded"],
    [
      "vLLM's or Mistral's (an OpenAI-compatible server's `object: error`)",
      '{"object":"error","message":"This model\'s maximum context length is 8192 tokens","type":"BadRequestError","param":null,"code":400}',
      "This model's maximum context length is 8192 tokens",
    ],
    [
      "Ollama's or TGI's (an `error` that is text)",
      '{"error":"model \'llama3\' not found","error_type":"not_found"}',
      "model 'llama3' not found",
    ],
  ])("fails with %s message, a status of ERROR without one too", (_whose, output, message) => {
    const unset = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.output", output)]);
    const failed = spanWith("Model: y", [attr("tfy.span_type", "Model"), attr("tfy.output", output)]);
    failed.status = { $typeName: "opentelemetry.proto.trace.v1.Status", code: Status_StatusCode.ERROR, message: "" };

    for (const out of spansOf(relayed(requestOf([unset, failed])).requests[0]!.request))
      expect(out.status).toMatchObject({ code: Status_StatusCode.ERROR, message });
  });

  it("fails an answer with an error beside its output list, as an agent's or model's failed Responses API response has", () => {
    const span = (type: string, output: string) => spanWith(`${type}: x`, [attr("tfy.span_type", type), attr("tfy.output", output)]);
    const failed = '{"status":"failed","error":{"code":"server_error","message":"The model failed"},"output":[]}';
    const [agent, model, answered] = spansOf(
      relayed(
        requestOf([
          span("AgentResponse", failed),
          span("Model", failed),
          span("AgentResponse", '{"status":"completed","error":null,"output":[{"type":"message","content":[]}]}'),
        ]),
      ).requests[0]!.request,
    );

    expect(agent!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "The model failed" });
    expect(model!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "The model failed" });
    expect(answered!.status?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
  });

  it("leaves an answer alone that is not one", () => {
    for (const output of [
      '{"choices":[{"message":{"content":"{\\"error\\":{\\"message\\":\\"x\\"}}"}}]}',
      '{"error":null}',
      '{"error":{"message":""}}',
      '{"error":""}',
      '{"object":"chat.completion","message":"not an error"}',
      '{"object":"error"}',
      '{"object":"error","message":""}',
      '{"choices":[],"error":null,"message":"not an error"}',
    ]) {
      const [out] = spansOf(
        relayed(requestOf([spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.output", output)])])).requests[0]!.request,
      );
      expect(out!.status?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
    }
  });

  it("is read on a model call or a request only: a guardrail's output is its own JSON, however much it reads as an error body", () => {
    for (const output of ['{"error":{"message":"PII found"}}', '{"error":"PII found"}', '{"object":"error","message":"PII found"}']) {
      const [out] = spansOf(
        relayed(requestOf([spanWith("Guardrail: pii", [attr("tfy.span_type", "Guardrail"), attr("tfy.output", output)])])).requests[0]!
          .request,
      );
      expect(out!.status?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
      expect(attributesOf(out!)["braintrust.output_json"]).toBe(output);
    }
  });
});

describe("a call answered with an HTTP error", () => {
  const call = (code: number | string, ...more: KeyValue[]) =>
    spanWith("POST https://api.openai.com/v1/chat/completions", [attr("http.response.status_code", code), ...more]);

  it.each([429, 500, "503"])("fails with its status code (%j), on the gateway's network call too, which has no tfy.* attribute", (code) => {
    const [out] = spansOf(relayed(requestOf([call(code)])).requests[0]!.request);

    expect(out!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: `the call failed with HTTP status ${code}` });
    expect(out!.attributes).toContainEqual(attr("http.response.status_code", code));
  });

  it("keeps a status that is ERROR with a message, and a message the gateway gave", () => {
    const failed = call(502);
    failed.status = { $typeName: "opentelemetry.proto.trace.v1.Status", code: Status_StatusCode.ERROR, message: "bad gateway" };
    const said = call(429, attr("tfy.span_type", "Model"), attr("tfy.error_message", "Rate limit reached"));
    const [first, second] = spansOf(relayed(requestOf([failed, said])).requests[0]!.request);

    expect(first!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "bad gateway" });
    expect(second!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "Rate limit reached" });
  });

  it("fails a server's span only on 5xx: a 4xx it answered is its caller's mistake, as OpenTelemetry's HTTP conventions say", () => {
    const served = (code: number) => Object.assign(call(code, attr("tfy.span_type", "ChatCompletion")), { kind: Span_SpanKind.SERVER });
    const made = (code: number) => Object.assign(call(code), { kind: Span_SpanKind.CLIENT });
    const [badRequest, unavailable, failed, refused, invalid] = spansOf(
      relayed(requestOf([served(400), served(503), served(500), made(404), made(400)])).requests[0]!.request,
    );

    expect(badRequest!.status?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
    expect(unavailable!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "the call failed with HTTP status 503" });
    expect(failed!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "the call failed with HTTP status 500" });
    expect(refused!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "the call failed with HTTP status 404" });
    expect(invalid!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "the call failed with HTTP status 400" });
  });

  it("leaves a call alone that succeeded, or whose code is no HTTP status", () => {
    for (const code of [200, 204, 304, 399, 600, -500, 429.5, "429 Too Many Requests"]) {
      const [out] = spansOf(relayed(requestOf([call(code)])).requests[0]!.request);
      expect(out!.status?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
    }
  });
});

describe("an MCP tool call", () => {
  const mcp = (input: string, output: string, ...more: KeyValue[]) =>
    spanWith("MCP: search.docs", [attr("tfy.span_type", "MCP"), attr("tfy.input", input), attr("tfy.output", output), ...more]);

  it("shows its arguments and result whole: a tool's query or model argument is not a model call's", () => {
    const span = mcp('{"query":"refund policy","limit":5,"model":"x-small"}', '{"content":[{"type":"text","text":"30 days"}]}');
    const out = attributesOf(spansOf(relayed(requestOf([span])).requests[0]!.request)[0]!);

    expect(JSON.parse(out["braintrust.input_json"] as string)).toEqual({ query: "refund policy", limit: 5, model: "x-small" });
    expect(JSON.parse(out["braintrust.output_json"] as string)).toEqual({ content: [{ type: "text", text: "30 days" }] });
    expect(out).not.toHaveProperty("braintrust.metadata");
    expect(Object.keys(out)).not.toContain("tfy.input");
  });

  it("shows a guardrail over the call with the arguments whole too: a query without documents is no rerank's", () => {
    const args = { query: "SELECT * FROM users WHERE email='ana@example.com'", database: "prod", model: "orders-v2" };
    const guardrail = spanWith("Guardrail: pii", [
      attr("tfy.span_type", "Guardrail"),
      attr("tfy.input", JSON.stringify(args)),
      attr("tfy.output", JSON.stringify({ ...args, query: "SELECT * FROM users WHERE email='[EMAIL]'" })),
    ]);
    const out = attributesOf(spansOf(relayed(requestOf([guardrail])).requests[0]!.request)[0]!);

    expect(JSON.parse(out["braintrust.input_json"] as string)).toEqual(args);
    expect(JSON.parse(out["braintrust.output_json"] as string)).toEqual({ ...args, query: "SELECT * FROM users WHERE email='[EMAIL]'" });
    expect(out).not.toHaveProperty("braintrust.metadata");
  });

  it.each([
    [
      "its result says isError",
      '{"content":[{"type":"text","text":"boom"},{"type":"text","text":"again"}],"isError":true}',
      [],
      "boom\nagain",
    ],
    ["the gateway flags it", '"no such order"', [attr("tfy.mcp_server.is_tool_call_execution_error", true)], "no such order"],
    ["the gateway's flag is text", '{"content":[]}', [attr("tfy.mcp_server.is_tool_call_execution_error", "true")], "the tool call failed"],
    [
      "it has a JSON-RPC error code",
      '{"code":-32602,"message":"Invalid params: order must be a string"}',
      [attr("tfy.mcp_server.error_code", -32602)],
      "Invalid params: order must be a string",
    ],
    ["its error code is text", "", [attr("tfy.mcp_server.error_code", "-32601")], "the tool call failed with error -32601"],
    ["the flag's text is capitalised and spaced", '"boom"', [attr("tfy.mcp_server.is_tool_call_execution_error", " True ")], "boom"],
    [
      "its result mixes text parts with others",
      '{"content":[{"type":"image","data":"iVBORw0KGgo=","mimeType":"image/png"},{"type":"text","text":"chart failed"}],"isError":true}',
      [],
      "chart failed",
    ],
    ["its text part holds no text", '{"content":[{"type":"text","text":null}],"isError":true}', [], "the tool call failed"],
    [
      "its result has a message of its own, no JSON-RPC error's",
      '{"message":"Hi Bob","content":[{"type":"text","text":"recipient not found"}],"isError":true}',
      [],
      "recipient not found",
    ],
    ["its error code is a name", "", [attr("tfy.mcp_server.error_code", "TIMEOUT")], "the tool call failed with error TIMEOUT"],
    [
      "its result is a JSON-RPC error response, the gateway saying nothing",
      '{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Unknown tool: refund"}}',
      [],
      "Unknown tool: refund",
    ],
    [
      "its result says isError inside the JSON-RPC response that carried it",
      '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"order already shipped"}],"isError":true}}',
      [],
      "order already shipped",
    ],
  ])("fails with its result's text when %s", (_case, output, more, message) => {
    const [out] = spansOf(relayed(requestOf([mcp('{"order":1}', output, ...more)])).requests[0]!.request);

    expect(out!.status).toMatchObject({ code: Status_StatusCode.ERROR, message });
  });

  it("succeeds when nothing says it failed: a result like an error is a result", () => {
    for (const [output, more] of [
      ['{"content":[],"isError":false}', []],
      [
        '{"code":404,"message":"not found"}',
        [attr("tfy.mcp_server.error_code", 0), attr("tfy.mcp_server.is_tool_call_execution_error", false)],
      ],
      ['{"content":[]}', [attr("tfy.mcp_server.error_code", "0.0"), attr("tfy.mcp_server.is_tool_call_execution_error", "False")]],
      ['{"content":[]}', [attr("tfy.mcp_server.error_code", "None")]],
      ['{"content":[]}', [attr("tfy.mcp_server.error_code", "null")]],
      ['{"content":[]}', [attr("tfy.mcp_server.error_code", "false")]],
      ['{"content":[]}', [attr("tfy.mcp_server.error_code", " 0 ")]],
      // An empty code, or one of spaces only, names no error.
      ['{"content":[]}', [attr("tfy.mcp_server.error_code", "")]],
      ['{"content":[]}', [attr("tfy.mcp_server.error_code", "  ")]],
      // A tool's own result naming an error, not a JSON-RPC response that is one.
      ['{"error":{"message":"none found"},"orders":[]}', []],
      ['{"jsonrpc":"2.0","id":7,"result":{"content":[]},"error":null}', []],
      ['{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"done"}],"isError":false}}', []],
    ] as const) {
      const [out] = spansOf(relayed(requestOf([mcp('{"order":1}', output, ...more)])).requests[0]!.request);
      expect(out!.status?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
    }
  });
});

describe("a gateway request continuing its caller's trace", () => {
  /** A ChatCompletion whose parent is the caller's span (not sent unless `withCaller`), and its Model child. */
  function continued(type = "ChatCompletion", withCaller = false): { sent: Span[] } {
    const caller = spanWith("caller", []);
    const request = spanWith(`${type}: x`, [attr("tfy.span_type", type)], { traceId: caller.traceId, parentSpanId: caller.spanId });
    const model = spanWith("Model: x", [attr("tfy.span_type", "Model")], { traceId: caller.traceId, parentSpanId: request.spanId });
    return { sent: withCaller ? [model, request, caller] : [model, request] };
  }
  const parentsOf = (sent: Span[], settings: Record<string, unknown> = {}, format: "protobuf" | "json" = "protobuf") =>
    Object.fromEntries(
      spansOf(relayed(requestOf(sent), settings, format).requests[0]!.request).map((span) => [span.name, hex(span.parentSpanId)]),
    );

  it.each([
    ["protobuf, spliced", {}, "protobuf"],
    ["JSON, encoded anew", {}, "json"],
    ["redacted, encoded anew", { redact: { values: ["emails"] } }, "protobuf"],
  ] as const)("makes the request span the root, since the caller's span never comes (%s)", (_path, settings, format) => {
    const { sent } = continued();
    const parents = parentsOf(sent, settings, format);
    expect(parents["ChatCompletion: x"]).toBe("");
    expect(parents["Model: x"]).toBe(hex(sent[1]!.spanId));
  });

  it("tells the caller's span from a sent span whose id differs from it in the last byte alone, as a counting tracer's do", () => {
    const { sent } = continued();
    const callerId = sent[1]!.parentSpanId;
    // The Model span's id is the caller's but for its last byte.
    sent[0]!.spanId = Uint8Array.from([...callerId.subarray(0, 7), callerId[7]! ^ 1]);
    expect(parentsOf(sent)["ChatCompletion: x"]).toBe("");
  });

  it("makes the older gateway's chatCompletions span the root, as its request span; not a GenAI span of another name", () => {
    const olderSpan = (name: string) =>
      spanWith(name, [attr("gen_ai.request.model", "openai-main/gpt-4o"), attr("gen_ai.prompt.0.content", "Hi")], {
        parentSpanId: randomId(8),
      });
    const older = olderSpan("chatCompletions");
    const other = olderSpan("openai.chat");

    expect(parentsOf([older])).toEqual({ chatCompletions: "" });
    expect(parentsOf([other])).toEqual({ "openai.chat": hex(other.parentSpanId) });
  });

  it("makes a root of a span whose bytes the splice cannot read, translated once", () => {
    const keyValue = (key: string, value: string) => lengthDelimited(9, toBinary(KeyValueSchema, attr(key, value)));
    // A ChatCompletion whose parent (the caller's span) is not in the request, with one loosely framed attribute.
    const body = requestWithSpanFields([
      ...lengthDelimited(4, [1, 2, 3, 4, 5, 6, 7, 8]),
      ...keyValue("tfy.span_type", "ChatCompletion"),
      ...keyValue("tfy.input", '{"messages":[]}'),
      ...lengthDelimited(9, [0x0a, 0x01]),
      0x6b,
    ]);

    const [span] = spansOf(relayed(body).requests[0]!.request);

    expect(span!.parentSpanId).toHaveLength(0);
    const keys = span!.attributes.map((a) => a.key);
    expect(keys.filter((key) => key.startsWith("braintrust."))).toEqual([...new Set(keys.filter((key) => key.startsWith("braintrust.")))]);
    expect(keys).toContain("braintrust.input_json");
  });

  it.each([
    // protobuf-es takes a scalar under another wire type: a parent of 8 bytes, tagged as a varint.
    ["bytes a field cursor cannot read", [0x0f, 1, 2, 3, 4, 5, 6, 7]],
    // The same 8 bytes read by a field cursor as four fields of the span: none of them is the span's.
    ["bytes a field cursor reads otherwise", [0x50, 0x01, 0x50, 0x01, 0x50, 0x01, 0x50, 0x01]],
  ])("makes a root of a span whose parent is framed loosely, as protobuf-es reads it (%s)", (_what, parent) => {
    const spanType = lengthDelimited(9, toBinary(KeyValueSchema, attr("tfy.span_type", "ChatCompletion")));
    const body = requestWithSpanFields([0x20, 0x08, ...parent, ...spanType]);
    expect(spansOf(fromBinary(ExportTraceServiceRequestSchema, body))[0]!.parentSpanId).toEqual(new Uint8Array(parent));

    const [span] = spansOf(relayed(body).requests[0]!.request);

    expect(span!.parentSpanId).toHaveLength(0);
    expect(span!.droppedAttributesCount).toBe(0);
  });

  it("makes the request span the root when the filter drops its parent, the caller's HTTP span sent in the same request", () => {
    const agent = spanWith("agent run", []);
    const call = spanWith("POST https://gateway/api/llm", [attr("http.request.method", "POST")], {
      traceId: agent.traceId,
      parentSpanId: agent.spanId,
    });
    const request = spanWith("ChatCompletion: x", [attr("tfy.span_type", "ChatCompletion")], {
      traceId: agent.traceId,
      parentSpanId: call.spanId,
    });
    const model = spanWith("Model: x", [attr("tfy.span_type", "Model")], { traceId: agent.traceId, parentSpanId: request.spanId });
    const sent = [model, request, call, agent];

    const parents = parentsOf(sent, { drop_non_ai_spans: true });

    expect(parents).toEqual({ "agent run": "", "ChatCompletion: x": "", "Model: x": hex(request.spanId) });
    // Sent, the caller's span keeps the gateway's spans under it.
    expect(parentsOf(sent)["ChatCompletion: x"]).toBe(hex(call.spanId));
  });

  it("makes a direct MCP call the root: an MCP span of kind SERVER, a request the gateway served", () => {
    const { sent } = continued("MCP");
    sent[1]!.kind = Span_SpanKind.SERVER;
    expect(parentsOf(sent)["MCP: x"]).toBe("");
    expect(parentsOf(sent, {}, "json")["MCP: x"]).toBe("");
    expect(parentsOf(sent, { keep_caller_parent: true })["MCP: x"]).toBe(hex(sent[1]!.parentSpanId));
  });

  it("keeps the parent when it is among the request's spans, of an agent's MCP call, and for a tenant that asks to", () => {
    // The request span is sent[1]; its parent, the caller's span.
    const callerOf = (sent: Span[]) => hex(sent[1]!.parentSpanId);
    const withCaller = continued("ChatCompletion", true).sent;
    expect(parentsOf(withCaller)["ChatCompletion: x"]).toBe(callerOf(withCaller));
    // An agent's tool call, exported before its AgentResponse.
    const mcp = continued("MCP").sent;
    expect(parentsOf(mcp)["MCP: x"]).toBe(callerOf(mcp));
    mcp[1]!.kind = Span_SpanKind.CLIENT;
    expect(parentsOf(mcp)["MCP: x"]).toBe(callerOf(mcp));
    const plain = continued().sent;
    expect(parentsOf(plain, { keep_caller_parent: true })["ChatCompletion: x"]).toBe(callerOf(plain));
    expect(parentsOf(plain, { translate: false })["ChatCompletion: x"]).toBe(callerOf(plain));
  });
});

describe("an Anthropic or Responses API call", () => {
  it("shows an Anthropic request's system prompt as the first message, and its answer's content blocks as output", () => {
    const added = translated([
      attr("tfy.span_type", "Model"),
      attr("tfy.input", '{"model":"claude-sonnet-4-5","system":"Be brief.","messages":[ {"role":"user","content":"Hi"}],"max_tokens":64}'),
      attr(
        "tfy.output",
        '{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello."}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":3,"cache_read_input_tokens":8,"cache_creation_input_tokens":2}}',
      ),
    ]);

    expect(added["braintrust.input_json"]).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ]);
    expect(added["braintrust.output_json"]).toEqual([{ type: "text", text: "Hello." }]);
    // Anthropic's input_tokens leave out its cache reads and writes, which prompt tokens count.
    expect(added["braintrust.metrics"]).toEqual({
      prompt_tokens: 22,
      completion_tokens: 3,
      tokens: 25,
      prompt_cached_tokens: 8,
      prompt_cache_creation_tokens: 2,
    });
    expect(added["braintrust.metadata"]).toMatchObject({ max_tokens: 64, model: "claude-sonnet-4-5-20250929" });
    expect(added["braintrust.metadata"]).not.toHaveProperty("system");
    // The metrics show every count but Anthropic's input_tokens, which they show with the cache added.
    expect((added["braintrust.metadata"] as { response: unknown }).response).toEqual({
      id: "msg_1",
      type: "message",
      role: "assistant",
      stop_reason: "end_turn",
      usage: { input_tokens: 12 },
    });
  });

  it("makes a system prompt with an empty message list the only message, and leaves one beside other input in metadata", () => {
    expect(translated([attr("tfy.input", '{"system":"S","messages":[ ]}')])["braintrust.input_json"]).toEqual([
      { role: "system", content: "S" },
    ]);
    for (const [body, input] of [
      ['{"system":"S","prompt":"P"}', "P"],
      ['{"system":"S","input":["a"]}', ["a"]],
      ['{"system":"S","messages":"Hi"}', "Hi"],
      [
        '{"system":"S","messages":[{"role":"user","content":"Hi"}],"documents":["d"]}',
        { messages: [{ role: "user", content: "Hi" }], documents: ["d"] },
      ],
    ] as const) {
      const added = translated([attr("tfy.input", body)]);
      expect(added["braintrust.input_json"]).toEqual(input);
      expect(added["braintrust.metadata"]).toEqual({ system: "S" });
    }
  });

  it("counts Anthropic's cache in the gateway's input tokens when they are Anthropic's own, or fewer than the cached ones", () => {
    const usage =
      '{"content":[],"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20}}';
    const metrics = (attributes: ReturnType<typeof attr>[]) =>
      translated([attr("tfy.span_type", "Model"), ...attributes])["braintrust.metrics"];

    expect(
      metrics([attr("tfy.model.metric.input_tokens", 10), attr("tfy.model.metric.output_tokens", 5), attr("tfy.output", usage)]),
    ).toEqual({ prompt_tokens: 130, completion_tokens: 5, tokens: 135, prompt_cached_tokens: 100, prompt_cache_creation_tokens: 20 });
    // The gateway counted the cache already: its count stands.
    expect(metrics([attr("tfy.model.metric.input_tokens", 130), attr("tfy.output", usage)])).toMatchObject({ prompt_tokens: 130 });
    // No response to compare with: fewer prompt tokens than cached ones cannot include them.
    expect(
      metrics([
        attr("tfy.model.metric.input_tokens", 10),
        attr("tfy.model.metric.cache_read_input_tokens", 100),
        attr("tfy.model.metric.cache_write_input_tokens", 20),
      ]),
    ).toMatchObject({ prompt_tokens: 130, tokens: 130 });
  });

  it("counts Anthropic's cache in its prompt tokens however many uncached ones there are, reads or writes alone, and lets another count of the gateway's stand", () => {
    const metrics = (usage: Record<string, number>, ...attributes: KeyValue[]) =>
      translated([attr("tfy.span_type", "Model"), attr("tfy.output", JSON.stringify({ content: [], usage })), ...attributes])[
        "braintrust.metrics"
      ] as Record<string, number>;

    // More uncached tokens than cached ones: nothing else says the cache is left out.
    expect(metrics({ input_tokens: 2000, cache_read_input_tokens: 1000 })).toMatchObject({ prompt_tokens: 3000, tokens: 3000 });
    expect(metrics({ input_tokens: 2000, cache_creation_input_tokens: 500 })).toMatchObject({ prompt_tokens: 2500, tokens: 2500 });
    // The gateway's input tokens are the response's own.
    expect(metrics({ input_tokens: 2000, cache_read_input_tokens: 1000 }, attr("tfy.model.metric.input_tokens", 2000))).toMatchObject({
      prompt_tokens: 3000,
    });
    // A count of its own, as many as the cache or more, stands.
    expect(metrics({ input_tokens: 2000, cache_read_input_tokens: 1000 }, attr("tfy.model.metric.input_tokens", 3100))).toMatchObject({
      prompt_tokens: 3100,
    });
  });

  it("takes a usage's own prompt_tokens over Anthropic's input and cache counts", () => {
    const metrics = translated([
      attr("tfy.span_type", "Model"),
      attr("tfy.output", '{"content":[],"usage":{"prompt_tokens":100,"input_tokens":8,"cache_read_input_tokens":2}}'),
    ])["braintrust.metrics"] as Record<string, number>;
    expect(metrics.prompt_tokens).toBe(100);
  });

  it("shows a Responses API request's instructions as the first message of its input, stored once though its response echoes them", () => {
    const tools = [{ type: "function", name: "calc", parameters: { type: "object" } }];
    const response = (echoes: Record<string, unknown>) =>
      JSON.stringify({
        id: "resp_1",
        object: "response",
        model: "o4-mini-2025-04-16",
        ...echoes,
        output: [{ type: "message", role: "assistant", content: [{ type: "output_text", text: "4" }] }],
      });
    const attributes = (input: string, output: string) => [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", input),
      attr("tfy.output", output),
    ];
    const call = (input: string, output: string) => translated(attributes(input, output));

    const asked = JSON.stringify({ model: "o4-mini", instructions: "Be terse.", input: "2+2?", tools, temperature: 0.2 });
    const answered = response({ instructions: "Be terse.", tools, temperature: 0.2, top_p: 1 });
    const text = call(asked, answered);
    expect(text["braintrust.input_json"]).toEqual([
      { role: "system", content: "Be terse." },
      { role: "user", content: "2+2?" },
    ]);
    // What the response only repeats shows once, as the request's (its model as metadata's); what it adds (a default the request left out) stays.
    expect(text["braintrust.metadata"]).toEqual({
      tools,
      temperature: 0.2,
      model: "o4-mini-2025-04-16",
      gateway_model: "o4-mini",
      response: { id: "resp_1", object: "response", top_p: 1 },
    });
    expect(keptKeys(attributes(asked, answered))).toEqual(["tfy.span_type"]);

    const items = call(
      '{"instructions":"Be terse.","input":[{"role":"user","content":[{"type":"input_text","text":"2+2?"}]}],"temperature":0.2}',
      response({ instructions: "Be verbose.", temperature: 1 }),
    );
    expect(items["braintrust.input_json"]).toEqual([
      { role: "system", content: "Be terse." },
      { role: "user", content: [{ type: "input_text", text: "2+2?" }] },
    ]);
    // An echo that differs from what was asked is the response's own.
    expect(items["braintrust.metadata"]).toMatchObject({ response: { instructions: "Be verbose.", temperature: 1 } });

    // An echo with the defaults the API filled in (OpenAI answers a tool with `strict`, a format with `verbosity`) repeats the request.
    const format = { type: "json_schema", name: "answer", schema: { type: "object" } };
    const withDefaults = call(
      JSON.stringify({ input: "2+2?", tools, text: { format }, reasoning: { effort: "low" } }),
      response({
        tools: [{ ...tools[0], description: null, strict: true }],
        text: { format: { ...format, description: null, strict: true }, verbosity: "medium" },
        reasoning: { effort: "low", summary: null },
      }),
    );
    expect((withDefaults["braintrust.metadata"] as { response: unknown }).response).toEqual({ id: "resp_1", object: "response" });
    // Not one saying more than the request did: a stored prompt's version, the effort chosen for reasoning left to the API.
    const more = call(
      JSON.stringify({ input: "2+2?", prompt: { id: "pmpt_1" }, reasoning: {} }),
      response({ prompt: { id: "pmpt_1", version: "7", variables: null }, reasoning: { effort: "high", summary: null } }),
    );
    expect((more["braintrust.metadata"] as { response: unknown }).response).toEqual({
      id: "resp_1",
      object: "response",
      prompt: { id: "pmpt_1", version: "7", variables: null },
      reasoning: { effort: "high", summary: null },
    });
    // Not one with other items, or a value the request set otherwise.
    const other = call(
      JSON.stringify({ input: "2+2?", tools, reasoning: { effort: "low" } }),
      response({ tools: [...tools, { type: "web_search" }], reasoning: { effort: "high" } }),
    );
    expect((other["braintrust.metadata"] as { response: unknown }).response).toEqual({
      id: "resp_1",
      object: "response",
      tools: [...tools, { type: "web_search" }],
      reasoning: { effort: "high" },
    });
    // Instructions of no text, beside input that is no message, or beside another API's input, stay settings.
    for (const body of [
      '{"instructions":null,"input":"2+2?"}',
      '{"instructions":"Be terse.","input":{"role":"user"}}',
      '{"instructions":"Be terse.","prompt":"2+2?"}',
      '{"instructions":"Be terse.","messages":[{"role":"user","content":"2+2?"}]}',
    ])
      expect(translated([attr("tfy.input", body)])["braintrust.metadata"]).toHaveProperty("instructions");
  });

  it("shows a Responses API request's input, and its stored prompt reference in metadata", () => {
    const added = translated([
      attr("tfy.span_type", "Model"),
      attr("tfy.input", '{"model":"gpt-4.1","prompt":{"id":"pmpt_1","version":"2","variables":{"city":"Paris"}},"input":"Weather?"}'),
    ]);

    expect(added["braintrust.input_json"]).toBe("Weather?");
    expect(added["braintrust.metadata"]).toEqual({
      model: "gpt-4.1",
      prompt: { id: "pmpt_1", version: "2", variables: { city: "Paris" } },
    });
    // A completion's prompt is its input, and so is any other input field that is an object.
    expect(translated([attr("tfy.input", '{"model":"x","prompt":["a","b"]}')])["braintrust.input_json"]).toEqual(["a", "b"]);
    expect(translated([attr("tfy.input", '{"model":"x","input":{"role":"user","content":"Hi"}}')])).toMatchObject({
      "braintrust.input_json": { role: "user", content: "Hi" },
      "braintrust.metadata": { model: "x" },
    });
  });

  it("reads a Responses API answer's output list and its input and output tokens", () => {
    const added = translated([
      attr("tfy.span_type", "Model"),
      attr(
        "tfy.output",
        '{"id":"resp_1","model":"gpt-4.1","output":[{"type":"message","content":[{"type":"output_text","text":"Hi"}]}],"usage":{"input_tokens":5,"output_tokens":2,"input_tokens_details":{"cached_tokens":1},"output_tokens_details":{"reasoning_tokens":0}}}',
      ),
    ]);

    expect(added["braintrust.output_json"]).toEqual([{ type: "message", content: [{ type: "output_text", text: "Hi" }] }]);
    expect(added["braintrust.metrics"]).toEqual({
      prompt_tokens: 5,
      completion_tokens: 2,
      tokens: 7,
      prompt_cached_tokens: 1,
      completion_reasoning_tokens: 0,
    });
  });
});

describe("the gateway's short copy of the prompt", () => {
  it("goes with the prompt, which is the input", () => {
    const span = spanWith("span", [attr("tfy.input", '{"messages":[]}'), attr("tfy.input_short_hand", "My email is…")]);
    expect([...translateInPlace(span, DROP).removedKeys].sort()).toEqual(["tfy.input", "tfy.input_short_hand"]);
    const kept = spanWith("span", [attr("tfy.input", '{"messages":[]}'), attr("tfy.input_short_hand", "My email is…")]);
    expect(translateInPlace(kept, KEEP).removedKeys.size).toBe(0);
  });
});

describe("translating a span", () => {
  it("leaves spans without tfy.* or Traceloop attributes alone, and reports what it changed in the others", () => {
    const plain = spanWith("db.query", [attr("db.system", "postgresql"), attr("gen_ai.system", "x")]);
    const gateway = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.model.metric.input_tokens", 1)]);

    expect(translateInPlace(plain, DROP).added).toEqual([]);
    const { added, removedKeys } = translateInPlace(gateway, DROP);

    expect(plain.attributes).toEqual([attr("db.system", "postgresql"), attr("gen_ai.system", "x")]);
    expect(added.map((a) => a.key)).toEqual(["braintrust.span_attributes", "braintrust.metrics"]);
    expect([...removedKeys]).toEqual(["tfy.model.metric.input_tokens"]);
    expect(gateway.attributes).toEqual([attr("tfy.span_type", "Model"), ...added.map(addedKeyValue)]);
  });

  it("keeps every braintrust.* attribute a span already has, as it is, and the sources with it", () => {
    const own = [
      attr("braintrust.span_attributes", "own"),
      attr("braintrust.input_json", "own"),
      attr("braintrust.output_json", "own"),
      attr("braintrust.metrics", "own"),
      attr("braintrust.metadata", "own"),
      attr("braintrust.tags", "own"),
    ];
    const attributes = [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", "in"),
      attr("tfy.output", "out"),
      attr("tfy.model.metric.input_tokens", 1),
      attr("tfy.model.name", "m"),
      attr("tfy.request.metadata", JSON.stringify({ tags: ["t"] })),
      ...own,
    ];
    const span = spanWith("Model: x", attributes);

    expect(translateInPlace(span, DROP)).toMatchObject({ added: [], removedKeys: new Set() });
    expect(span.attributes).toEqual(attributes);
  });

  it("translates every span of every resource and scope", () => {
    const request = requestOf([spanWith("a", [attr("tfy.span_type", "Model")])]);
    request.resourceSpans.push(...requestOf([spanWith("b", [attr("tfy.span_type", "MCP")])], "other").resourceSpans);

    const [sent] = relayed(request).requests;

    expect(spansOf(sent!.request).map((s) => JSON.parse(attributesOf(s)["braintrust.span_attributes"] as string).type)).toEqual([
      "llm",
      "tool",
    ]);
  });
});

describe("processing a tenant's spans", () => {
  it("leaves spans alone only for a tenant with nothing to change", () => {
    const nothing = { translate: false };
    expect(leavesSpansAlone(tenantRecord(nothing))).toBe(true);
    for (const setting of [
      { translate: true },
      { routes: [{ match: { field: "span_name", equals: "x" }, parent: "project_id:p" }] },
      { parent_from_attribute: true },
      { drop_non_ai_spans: true },
      { redact: { keys: [{ pattern: "x" }] } },
      { redact: { values: ["emails"] } },
    ]) {
      expect(leavesSpansAlone(tenantRecord({ ...nothing, ...setting }))).toBe(false);
    }
  });

  it("sends the very bytes that came for a tenant with nothing to change", () => {
    const request = requestOf([spanWith("ChatCompletion", [attr("tfy.span_type", "ChatCompletion")])]);

    const { deliveries, body } = relayed(request, { translate: false });

    expect(deliveries.map((d) => [d.parent, d.payload.protobuf])).toEqual([["project_name:default", body]]);
  });

  it("routes on the spans as they arrived, before the filter drops any", () => {
    const traceId = randomId(16);
    const root = spanWith("root", [], { traceId });
    const request = requestOf([root, spanWith("redis GET", [attr("env", "eval")], { traceId, parentSpanId: root.spanId })]);

    const { requests } = relayed(request, {
      translate: false,
      drop_non_ai_spans: true,
      routes: [{ match: { field: "attributes.env", equals: "eval" }, parent: "experiment_id:e" }],
    });

    expect(requests.map((b) => [b.parent, spansOf(b.request).map((s) => s.name)])).toEqual([["experiment_id:e", ["root"]]]);
  });

  it("redacts keys before translating, so nothing is derived from them, and masks values after, so the translation is masked", () => {
    const span = spanWith("Model: x", [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content: "mail bob@example.com" }] })),
      attr("tfy.output", "secret answer"),
    ]);

    const [sent] = relayed(requestOf([span]), { redact: { keys: [{ pattern: "tfy.output" }], values: ["emails"] } }).requests;

    const attributes = attributesOf(spansOf(sent!.request)[0]!);
    expect(attributes["braintrust.input_json"]).toBe(JSON.stringify([{ role: "user", content: "mail [REDACTED]" }]));
    expect(attributes).not.toHaveProperty("braintrust.output_json");
    expect(attributes).not.toHaveProperty("tfy.output");
  });

  it("sends a translated span as its original fields, less the sources it restated, with the translation after them", () => {
    const span = () => spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.input", '{"messages":[]}'), attr("n", 1)]);

    const [dropped] = relayed(requestOf([span()])).requests;
    const [kept] = relayed(requestOf([span()]), { keep_source_attributes: true }).requests;

    expect(spansOf(dropped!.request)[0]!.attributes.map((a) => a.key)).toEqual([
      "tfy.span_type",
      "n",
      "braintrust.span_attributes",
      "braintrust.input_json",
    ]);
    expect(spansOf(kept!.request)[0]!.attributes.map((a) => a.key)).toEqual([
      "tfy.span_type",
      "tfy.input",
      "n",
      "braintrust.span_attributes",
      "braintrust.input_json",
    ]);
  });
});

describe("a tenant's spans on their way out", () => {
  /** The span as translation would leave it, decoded: what the relay must send whatever way it takes. */
  const translatedCopy = (span: Span) => {
    const copy = clone(SpanSchema, span);
    translateInPlace(copy, DROP);
    return copy;
  };
  const longPrompt = JSON.stringify({ messages: [{ role: "user", content: "x".repeat(400) }] });

  it.each([
    ["a short payload", '{"messages":[]}'],
    ["a payload too long to copy among the new attributes", longPrompt],
  ])("are sent as translation leaves them, from %s", (_what, input) => {
    const span = spanWith("Model: x", [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", input),
      attr("tfy.request.metadata", JSON.stringify({ env: "prod", tags: ["a", "b"] })),
      attr("tfy.inputs", "only starts like a source"),
    ]);

    const [sent] = relayed(requestOf([span])).requests;

    expect(spansOf(sent!.request)).toEqual([translatedCopy(span)]);
    expect(attributesOf(spansOf(sent!.request)[0]!)).toMatchObject({
      "braintrust.tags": ["a", "b"],
      "tfy.inputs": "only starts like a source",
    });
  });

  it("keep every field but the restated attributes, however much their bytes look like an attribute", () => {
    // Ids of valid fields, and a name that reads as a KeyValue of the key tfy.input.
    const fieldsOnly = (length: number) => Uint8Array.from({ length }, (_, i) => (i % 2 === 0 ? 0x08 : 1));
    const span = spanWith("\n\ttfy.input", [attr("tfy.span_type", "Model"), attr("tfy.input", '{"messages":[]}')], {
      traceId: fieldsOnly(16),
    });
    span.spanId = fieldsOnly(8);

    const [sent] = relayed(requestOf([span])).requests;

    expect(spansOf(sent!.request)).toEqual([translatedCopy(span)]);
  });

  it("are sent without the Traceloop messages restated, whatever script their keys are in", () => {
    // U+0080, the first code point past ASCII, then ü; a few keys are compared as a list, more than eight as a set.
    // Keys that come twice were not restated, and stay: they differ from a restated one only past its first non-ASCII character.
    for (const count of [2, 9]) {
      const messages = Array.from({ length: count }, (_, i) => attr(`gen_ai.prompt.${i}.inhalt_\u0080ü`, `hi ${i}`));
      const twice = [attr("gen_ai.prompt.0.inhalt_\u0080ä", "twice"), attr("gen_ai.prompt.0.inhalt_\u0080üx", "twice")];
      const span = spanWith("Model: x", [attr("tfy.span_type", "Model"), ...messages, ...twice, ...twice, attr("n", 1)]);

      const [sent] = relayed(requestOf([span])).requests;

      expect(spansOf(sent!.request)).toEqual([translatedCopy(span)]);
      expect(spansOf(sent!.request)[0]!.attributes.map((a) => a.key)).not.toContain("gen_ai.prompt.0.inhalt_\u0080ü");
      for (const { key } of twice) expect(spansOf(sent!.request)[0]!.attributes.filter((a) => a.key === key)).toHaveLength(2);
    }
  });

  it("are translated when they came as OTLP JSON, as when they came as protobuf", () => {
    const request = trueFoundryTrace();

    expect(relayed(request, {}, "json").requests).toEqual(relayed(request, {}, "protobuf").requests);
    expect(spansOf(relayed(request, {}, "json").requests[0]!.request)).toEqual(spansOf(request).map(translatedCopy));
  });

  it("are encoded anew, translated, when their bytes are framed more loosely than the splice reads", () => {
    const keyValue = (key: string, value: string) => lengthDelimited(9, toBinary(KeyValueSchema, attr(key, value)));
    // A KeyValue two bytes long whose key runs one byte past it: protobuf-es reads it, the splice does not.
    const body = requestWithSpanFields([
      ...keyValue("tfy.span_type", "Model"),
      ...keyValue("tfy.input", '{"messages":[]}'),
      ...lengthDelimited(9, [0x0a, 0x01]),
      0x6b,
    ]);
    const [span] = spansOf(fromBinary(ExportTraceServiceRequestSchema, body));

    for (const settings of [{}, { redact: { values: ["emails"] } }]) {
      const { requests } = relayed(body, settings);

      expect(spansOf(requests[0]!.request)).toEqual([translatedCopy(span!)]);
    }
  });

  it("leave each resource and scope once, with all their spans", () => {
    const request = trueFoundryTrace();
    const other = clone(ScopeSpansSchema, request.resourceSpans[0]!.scopeSpans[0]!);
    other.scope!.name = "other";
    request.resourceSpans[0]!.scopeSpans.push(other);

    const [sent] = relayed(request).requests;

    expect(sent!.request.resourceSpans).toHaveLength(1);
    expect(sent!.request.resourceSpans[0]!.scopeSpans.map((s) => [s.scope?.name, s.spans.length])).toEqual([
      ["tfy-llm-gateway", 3],
      ["other", 3],
    ]);
  });

  it("are the very bytes that came when translation finds nothing to restate", () => {
    const { deliveries, body } = relayed(requestOf([spanWith("db.query", [attr("db.system", "postgresql")])]));

    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.payload.protobuf).toBe(body);
  });

  it("send nothing when the request held none", () => {
    expect(relayed(requestOf([])).deliveries).toEqual([]);
    expect(relayed(requestOf([]), { translate: false }).deliveries).toEqual([]);
  });

  it("count the model calls translation read", () => {
    const body = toProtobuf(trueFoundryTrace());
    const credential = { mode: "passthrough", apiKey: "k", trusted: true } as const;

    const { usage } = prepareDeliveries(
      { wire: body, coding: "identity", bytes: body },
      "protobuf",
      tenantRecord(),
      credential,
      relayConfig({} as Env),
    );

    expect(usage).toEqual({ "gpt-4.1-mini": { calls: 1, prompt_tokens: 14, completion_tokens: 3, cost_usd: 0.0000134 } });
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
      attr(`gen_ai.prompt.0.${"a.".repeat(100_000)}end`, "deep"),
    ])!.input!.messages;

    expect(message!.tool_calls).toEqual([
      { type: "function", function: { name: "first" } },
      { type: "function", function: { name: "last" } },
    ]);
    expect(message!.list).toEqual(["x"]);
    let node = message!.a as Record<string, unknown>;
    for (let depth = 2; depth < 8; depth++) node = node.a as Record<string, unknown>;
    expect(node).toEqual({ [`${"a.".repeat(100_000 - 7)}end`]: "deep" });
  });

  it("never reach a prototype", () => {
    const messages = traceloopMessages([attr("gen_ai.prompt.0.__proto__.polluted", "yes"), attr("gen_ai.prompt.0.constructor", "c")])?.input
      ?.messages;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(messages))).toEqual([{ ["__proto__"]: { polluted: "yes" }, constructor: "c" }]);
  });
});

describe("a payload whose input field is null", () => {
  it("is still the input, and the Traceloop messages stay beside it", () => {
    const attributes = [attr("tfy.input", '{"messages":null,"top_p":1}'), attr("gen_ai.prompt.0.content", "old")];

    expect(translated(attributes)["braintrust.input_json"]).toBeNull();
    expect(keptKeys(attributes)).toEqual(["gen_ai.prompt.0.content"]);
  });
});
