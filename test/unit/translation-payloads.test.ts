import { describe, expect, it } from "vitest";
import { attr, spansOf } from "../../scripts/lib/traces.js";
import { traceloopMessages } from "../../src/process/traceloop.js";
import { addedKeyValue } from "../../src/process/translate.js";
import { relayed } from "../support/pipeline.js";
import { attributesOf, requestOf, spanWith } from "../support/traces.js";
import { DROP, KEEP, keptKeys, translated, translateInPlace } from "../support/translation.js";

/** What a span shows as its input and output, and which source attributes go once it does. */
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

  it("shows a model call's bodies whose messages and choices a redaction rule took out as metadata and metrics, once", () => {
    const request = { model: "openai-main/gpt-4o", messages: [{ role: "user", content: "secret" }], temperature: 0.2, max_tokens: 50 };
    const response = {
      id: "c1",
      model: "gpt-4o-2024-08-06",
      choices: [{ index: 0, message: { role: "assistant", content: "secret answer" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7, prompt_tokens_details: { cached_tokens: 4 } },
    };
    const span = spanWith("Model: gpt-4o", [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify(request)),
      attr("tfy.output", JSON.stringify(response)),
    ]);
    const redact = { keys: [{ pattern: "tfy.input.messages" }, { pattern: "tfy.output.choices" }] };
    const out = attributesOf(spansOf(relayed(requestOf([span]), { redact }).requests[0]!.request)[0]!);

    expect(Object.keys(out).sort()).toEqual(["braintrust.metadata", "braintrust.metrics", "braintrust.span_attributes", "tfy.span_type"]);
    expect(JSON.parse(out["braintrust.metadata"] as string)).toEqual({
      temperature: 0.2,
      max_tokens: 50,
      model: "gpt-4o-2024-08-06",
      gateway_model: "openai-main/gpt-4o",
      response: { id: "c1" },
    });
    expect(JSON.parse(out["braintrust.metrics"] as string)).toEqual({
      prompt_tokens: 5,
      completion_tokens: 2,
      tokens: 7,
      prompt_cached_tokens: 4,
    });
  });

  it("shows a model call's body of a shape it does not know whole, model and all, when no rule took anything out of it", () => {
    const request = { model: "gpt-4o", prompt: { id: "pmpt_1", variables: { city: "Oslo" } } };
    const answer = { model: "llama3", message: { role: "assistant", content: "Hello" }, done: true };
    const span = (settings: Record<string, unknown>) =>
      attributesOf(
        spansOf(
          relayed(
            requestOf([
              spanWith("Model: x", [
                attr("tfy.span_type", "Model"),
                attr("tfy.input", JSON.stringify(request)),
                attr("tfy.output", JSON.stringify(answer)),
              ]),
            ]),
            settings,
          ).requests[0]!.request,
        )[0]!,
      );

    for (const settings of [{}, { redact: { keys: [{ pattern: "tfy.input.user" }, { pattern: "tfy.output.id" }] } }]) {
      const out = span(settings);
      expect(JSON.parse(out["braintrust.input_json"] as string)).toEqual(request);
      expect(JSON.parse(out["braintrust.output_json"] as string)).toEqual(answer);
    }
  });

  it("shows a guardrail's or a task's body whole, what a rule left of it, since neither is a model call's body", () => {
    const checked = { text: "Call me at 555-0100", policy: "pii", user: "u1" };
    const verdict = { verdict: "flagged", findings: ["phone"], reviewer: "r1" };
    const redact = { keys: [{ pattern: "tfy.input.user" }, { pattern: "tfy.output.reviewer" }] };
    const spans = [[attr("tfy.span_type", "Guardrail")], [attr("tfy.request.model_name", "m")]].map((typed) =>
      spanWith("check", [...typed, attr("tfy.input", JSON.stringify(checked)), attr("tfy.output", JSON.stringify(verdict))]),
    );

    for (const out of spansOf(relayed(requestOf(spans), { redact }).requests[0]!.request).map(attributesOf)) {
      expect(JSON.parse(out["braintrust.input_json"] as string)).toEqual({ text: "Call me at 555-0100", policy: "pii" });
      expect(JSON.parse(out["braintrust.output_json"] as string)).toEqual({ verdict: "flagged", findings: ["phone"] });
    }
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

  it("shows no input or output for a payload that is empty or blank, as for JSON null, where it showed an empty string", () => {
    for (const empty of ["", "  \n"]) {
      for (const type of ["Model", "ChatCompletion", "MCP"]) {
        const result = translated([attr("tfy.span_type", type), attr("tfy.input", empty), attr("tfy.output", empty)]);
        expect(result).not.toHaveProperty("braintrust.input_json");
        expect(result).not.toHaveProperty("braintrust.output_json");
      }
      // Traceloop messages beside it are then the input and output.
      expect(
        translated([attr("tfy.output", empty), attr("gen_ai.prompt.0.content", "hi"), attr("gen_ai.completion.0.content", "hello")]),
      ).toMatchObject({ "braintrust.input_json": [{ content: "hi" }], "braintrust.output_json": [{ content: "hello" }] });
    }
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

  it("keep a GenAI copy that says a text the payload does not, the word undefined too", () => {
    const model = [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })),
    ];
    const inputCopy = (...texts: string[]) =>
      attr("gen_ai.input.messages", JSON.stringify([{ role: "user", parts: texts.map((content) => ({ type: "text", content })) }]));

    expect(keptKeys([...model, inputCopy("hi")])).toEqual(["tfy.span_type"]);
    expect(keptKeys([...model, inputCopy("hi", "undefined")])).toEqual(["tfy.span_type", "gen_ai.input.messages"]);
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

    // The model goes too: metadata.model says it.
    expect(keptKeys([...indexed, inputCopy, outputCopy("Tokyo.")])).toEqual([]);
    expect(keptKeys([...indexed, inputCopy, outputCopy("Kyoto, once.")])).toEqual(["gen_ai.output.messages"]);
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
    expect(toolCall({ type: "card" }, ' \n{"type":"card"}')).toEqual([]);
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
    // Nor is a payload longer than that parsed whole for the tool calls it holds as objects (Anthropic's tool_use).
    const toolUse = (content: string) =>
      keptKeys([
        attr(
          "tfy.input",
          JSON.stringify({
            messages: [
              { role: "user", content },
              { role: "assistant", content: [{ type: "tool_use", id: "t", name: "pay", input: { amount: 3 } }] },
            ],
          }),
        ),
        attr(
          "gen_ai.input.messages",
          JSON.stringify([{ role: "assistant", parts: [{ type: "tool_call", id: "t", name: "pay", arguments: { amount: 3 } }] }]),
        ),
      ]);
    expect(toolUse("Pay it.")).toEqual([]);
    expect(toolUse("x".repeat(1024 * 1024))).toEqual(["gen_ai.input.messages"]);
  });

  it("go when the payload holds their tool results and arguments as JSON lists and objects, at any depth", () => {
    const result = [
      { type: "text", text: "3 paid" },
      { type: "text", text: "receipt r-1" },
    ];
    let deep: unknown = { amount: 3 };
    for (let level = 0; level < 100; level++) deep = { a: [deep] };
    const copyOf = (response: unknown, args: unknown) =>
      keptKeys([
        attr(
          "tfy.input",
          JSON.stringify({
            messages: [
              { role: "assistant", content: [{ type: "tool_use", id: "t", name: "pay", input: deep }] },
              { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: result }] },
            ],
          }),
        ),
        attr(
          "gen_ai.input.messages",
          JSON.stringify([
            { role: "assistant", parts: [{ type: "tool_call", id: "t", name: "pay", arguments: args }] },
            { role: "tool", parts: [{ type: "tool_call_response", id: "t", response }] },
          ]),
        ),
      ]);

    expect(copyOf(result, deep)).toEqual([]);
    // A result or arguments the payload does not hold: the copy says more, and stays.
    expect(copyOf(result.slice(1), deep)).toEqual(["gen_ai.input.messages"]);
    expect(copyOf(result, { a: [deep] })).toEqual(["gen_ai.input.messages"]);
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

describe("a payload nested deeper than the relay reads JSON", () => {
  it("shows as text: what is parsed is written out again, and that recurses", () => {
    const deep = `{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    const added = translated([attr("tfy.span_type", "ChatCompletion"), attr("tfy.input", deep), attr("tfy.request.metadata", deep)]);
    expect(added["braintrust.input_json"]).toBe(deep);
    expect(added["braintrust.metadata"]).toBeUndefined();
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

describe("a request made with a TrueFoundry prompt", () => {
  // The caller names the prompt and its variables; the gateway renders its template into the request the model is asked.
  const variables = { city: "Paris", units: "metric" };
  const sent = {
    model: "openai-main/gpt-4o",
    messages: [{ role: "user", content: "What's the weather in {{city}}?" }],
    temperature: 0.2,
    prompt_version_fqn: "chat_prompt:acme/weather/one-line:2",
    variables,
  };
  const rendered = {
    model: "openai-main/gpt-4o",
    messages: [
      { role: "system", content: "You answer in one line." },
      { role: "user", content: "What's the weather in Paris?" },
    ],
    temperature: 0.2,
  };
  const prompt = (caller: unknown) => [
    attr("tfy.span_type", "ChatCompletion"),
    attr("tfy.input", JSON.stringify(caller)),
    attr("tfy.resolved_input", JSON.stringify(rendered)),
    attr("tfy.prompt_version_fqn", sent.prompt_version_fqn),
    attr("tfy.prompt_variables", JSON.stringify(variables)),
  ];

  it("shows the messages the model was asked, once: the rendering's, which with the prompt's name and variables say all the caller's request does", () => {
    const added = translated(prompt(sent));

    expect(added["braintrust.input_json"]).toEqual(rendered.messages);
    expect(added["braintrust.metadata"]).toEqual({
      temperature: 0.2,
      model: "gpt-4o",
      gateway_model: "openai-main/gpt-4o",
      "tfy.prompt_variables": variables,
    });
    expect(keptKeys(prompt(sent))).toEqual(["tfy.span_type", "tfy.prompt_version_fqn"]);
  });

  it("keeps the caller's request when it says what the rendering does not, and both when the tenant keeps sources", () => {
    const other = { ...sent, messages: [...sent.messages, { role: "user", content: "And tomorrow?" }] };

    expect(translated(prompt(other))["braintrust.input_json"]).toEqual(rendered.messages);
    expect(keptKeys(prompt(other))).toEqual(["tfy.span_type", "tfy.input", "tfy.prompt_version_fqn"]);
    expect(keptKeys(prompt(sent), KEEP)).toEqual([
      "tfy.span_type",
      "tfy.input",
      "tfy.resolved_input",
      "tfy.prompt_version_fqn",
      "tfy.prompt_variables",
    ]);
  });

  it("compares a caller's request of up to 1 MiB, and keeps a longer one, as it keeps one too deep to read", () => {
    /** The caller's request and the rendering, both holding a note that makes the request `bytes` long. */
    const sized = (bytes: number) => {
      const note = "x".repeat(bytes - JSON.stringify({ ...sent, note: "" }).length);
      return [
        attr("tfy.input", JSON.stringify({ ...sent, note })),
        attr("tfy.resolved_input", JSON.stringify({ ...rendered, note })),
        ...prompt(sent).slice(3),
      ];
    };
    expect(keptKeys(sized(1024 * 1024))).toEqual(["tfy.prompt_version_fqn"]);
    expect(keptKeys(sized(1024 * 1024 + 1))).toEqual(["tfy.input", "tfy.prompt_version_fqn"]);

    const deep = { ...sent, deep: JSON.parse(`${"[".repeat(300)}${"]".repeat(300)}`) };
    expect(keptKeys(prompt(deep))).toEqual(["tfy.span_type", "tfy.input", "tfy.prompt_version_fqn"]);
  });

  it("reads the prompt's variables up to 1 MiB for what the caller's request says, not longer ones", () => {
    /** Variables holding the caller's `city` alone, padded to `bytes`; the caller's request names the city beside them. */
    const padded = (bytes: number) => {
      const filler = "x".repeat(bytes - JSON.stringify({ ...variables, city: "Lyon", filler: "" }).length);
      return [
        attr("tfy.input", JSON.stringify({ ...sent, variables: { units: "metric" }, city: "Lyon" })),
        attr("tfy.resolved_input", JSON.stringify(rendered)),
        attr("tfy.prompt_version_fqn", sent.prompt_version_fqn),
        attr("tfy.prompt_variables", JSON.stringify({ ...variables, city: "Lyon", filler })),
      ];
    };
    expect(keptKeys(padded(1024 * 1024))).toEqual(["tfy.prompt_version_fqn"]);
    expect(keptKeys(padded(1024 * 1024 + 1))).toEqual(["tfy.input", "tfy.prompt_version_fqn"]);
  });

  it("shows the caller's request when the rendering is blank or JSON null, and a tool's arguments as the tool got them", () => {
    for (const blank of ["", "null"]) {
      const attributes = [attr("tfy.input", JSON.stringify(sent)), attr("tfy.resolved_input", blank)];
      expect(translated(attributes)["braintrust.input_json"]).toEqual(sent.messages);
      expect(keptKeys(attributes)).toEqual(["tfy.resolved_input"]);
    }
    const tool = [
      attr("tfy.span_type", "MCP"),
      attr("tfy.input", '{"city":"Paris"}'),
      attr("tfy.resolved_input", JSON.stringify(rendered)),
    ];
    expect(translated(tool)["braintrust.input_json"]).toEqual({ city: "Paris" });
  });
});

describe("a payload whose input field is null", () => {
  it("is still the input, and the Traceloop messages stay beside it", () => {
    const attributes = [attr("tfy.input", '{"messages":null,"top_p":1}'), attr("gen_ai.prompt.0.content", "old")];

    expect(translated(attributes)["braintrust.input_json"]).toBeNull();
    expect(keptKeys(attributes)).toEqual(["gen_ai.prompt.0.content"]);
  });
});
