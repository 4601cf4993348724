import { describe, expect, it } from "vitest";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { SpanView } from "../../scripts/lib/braintrust-standin-contract.js";
import { braintrustView } from "../../scripts/lib/braintrust-view.js";
import { type AttrValue, attr } from "../../scripts/lib/traces.js";
import { relayed } from "../support/pipeline.js";
import { requestOf, spanWith } from "../support/traces.js";
import { responsesApiAnswer } from "../support/translation.js";

/**
 * Gateway traces the golden views do not cover, as a Braintrust user sees them (the stand-in's view of
 * what the relay sends): each thing said once.
 */

const json = JSON.stringify;

/** A request span and its model call under it, as the gateway exports them (the model call first). */
function requestWithCall(request: KeyValue[], call: KeyValue[], type = "ChatCompletion") {
  const top = spanWith(`${type}: x`, [attr("tfy.span_type", type), ...request]);
  const model = spanWith("Model: x", [attr("tfy.span_type", "Model"), ...call], { traceId: top.traceId, parentSpanId: top.spanId });
  return requestOf([model, top]);
}

/** The trace's one tree as Braintrust shows it, the tenant's settings applied. */
function shown(request: ReturnType<typeof requestOf>, settings: Record<string, unknown> = {}): SpanView {
  const view = braintrustView(relayed(request, settings).requests.map((r) => r.request));
  expect(view.traces).toHaveLength(1);
  expect(view.unlisted).toBe(0);
  return view.traces[0]!.tree;
}

describe("the model the gateway called, tfy.model.name", () => {
  const call = (name: string, answered?: string) =>
    requestWithCall(
      [attr("tfy.request.model_name", "openai-main/gpt-4o")],
      [
        attr("tfy.model.name", name),
        attr("tfy.input", json({ model: "openai-main/gpt-4o", messages: [{ role: "user", content: "Hi" }] })),
        attr(
          "tfy.output",
          json({ ...(answered ? { model: answered } : {}), choices: [{ index: 0, message: { role: "assistant", content: "Hello" } }] }),
        ),
        attr("tfy.model.metric.input_tokens", 5),
        attr("tfy.model.metric.output_tokens", 2),
      ],
    );

  it("shows once, as metadata.model, when it is the model Braintrust prices by", () => {
    const [model] = shown(call("gpt-4o")).children;

    expect(model!.metadata.model).toBe("gpt-4o");
    expect(model!.metadata).not.toHaveProperty("tfy.model.name");
    expect(model!.cost).toBe("priced by model name");
  });

  it("stays beside metadata.model when it says something else: the answer's own model, or the account it was called under", () => {
    expect(shown(call("gpt-4o", "gpt-4o-2024-08-06")).children[0]!.metadata).toMatchObject({
      model: "gpt-4o-2024-08-06",
      "tfy.model.name": "gpt-4o",
    });
    expect(shown(call("openai-main/gpt-4o")).children[0]!.metadata).toMatchObject({
      model: "gpt-4o",
      "tfy.model.name": "openai-main/gpt-4o",
    });
  });

  it("stays as it came for a tenant keeping source attributes", () => {
    expect(shown(call("gpt-4o"), { keep_source_attributes: true }).children[0]!.metadata).toMatchObject({ "tfy.model.name": "gpt-4o" });
  });
});

describe("a Vertex model answering under Google's namespace (google/gemini-2.5-pro)", () => {
  // Vertex's OpenAI-compatible endpoint names its Gemini models `google/<model>`, in the answer too.
  const request = { model: "vertex-main/gemini-2.5-pro", messages: [{ role: "user", content: "Hi" }] };
  const answer = {
    model: "google/gemini-2.5-pro",
    choices: [{ index: 0, message: { role: "assistant", content: "Hello" } }],
    usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
  };
  const payloads = [attr("tfy.input", json(request)), attr("tfy.output", json(answer))];

  it("is priced by the model's own name on a model call that names no model called, and shows it on its request", () => {
    const top = shown(requestWithCall([attr("tfy.request.model_name", "vertex-main/gemini-2.5-pro"), ...payloads], payloads));

    expect([top.metadata.model, top.children[0]!.metadata.model]).toEqual(["gemini-2.5-pro", "gemini-2.5-pro"]);
    expect(top.children[0]!.cost).toBe("priced by model name");
  });

  it("is priced by the model's own name on the older export's one span", () => {
    const span = spanWith("chatCompletions", [
      attr("gen_ai.request.model", "vertex-main/gemini-2.5-pro"),
      attr("gen_ai.response.model", "google/gemini-2.5-pro"),
      attr("gen_ai.usage.input_tokens", 5),
      attr("gen_ai.usage.output_tokens", 2),
      attr("gen_ai.prompt.0.content", "Hi"),
    ]);

    expect(shown(requestOf([span]))).toMatchObject({ metadata: { model: "gemini-2.5-pro" }, cost: "priced by model name" });
  });

  it("keeps the answer's namespace when the request named it too, as Together's meta-llama/ is the model's own", () => {
    const together = [
      attr("tfy.input", json({ ...request, model: "together-main/meta-llama/Llama-3.3-70B-Instruct-Turbo" })),
      attr("tfy.output", json({ ...answer, model: "meta-llama/Llama-3.3-70B-Instruct-Turbo" })),
    ];
    expect(shown(requestWithCall([], together)).children[0]!.metadata.model).toBe("meta-llama/Llama-3.3-70B-Instruct-Turbo");
  });
});

describe("a Responses API answer carrying output_text beside its output list", () => {
  // OpenAI's SDKs add `output_text`, the output's text joined, to a Responses API response; the golden
  // agent trace's answer is one such field alone.
  const text = "Order 1234 shipped yesterday and arrives on Friday.";
  const request = { model: "openai-main/gpt-4.1", instructions: "Be brief.", input: "Where is order 1234?" };
  const response = responsesApiAnswer(text, { output_text: text, usage: { input_tokens: 20, output_tokens: 11, total_tokens: 31 } });

  it("shows the answer's text once, as the output, not again in metadata.response", () => {
    const payloads = [attr("tfy.input", json(request)), attr("tfy.output", json(response))];
    const root = shown(
      requestWithCall(
        [...payloads, attr("tfy.request.model_name", "openai-main/gpt-4.1")],
        [attr("tfy.model.name", "gpt-4.1"), ...payloads],
        "AgentResponse",
      ),
    );

    for (const span of [root, root.children[0]!]) {
      expect(JSON.stringify(span.output)).toContain(text);
      // Not again as metadata.response.output_text, the whole answer stored and billed a second time.
      expect(span.metadata.response).not.toHaveProperty("output_text");
    }
  });
});

describe("a Responses API answer whose output_text is not its output's text joined", () => {
  const request = { model: "openai-main/gpt-4.1", input: "Where is order 1234?" };
  const answerWith = (output: unknown[], outputText: string) =>
    shown(
      requestWithCall(
        [],
        [attr("tfy.input", json(request)), attr("tfy.output", json({ ...responsesApiAnswer("x"), output, output_text: outputText }))],
      ),
    ).children[0]!.metadata.response;
  const message = (...content: unknown[]) => ({ type: "message", role: "assistant", content });

  it("keeps it in metadata.response: it says what the output does not", () => {
    expect(answerWith([message({ type: "output_text", text: "Friday." })], "Thursday.")).toHaveProperty("output_text", "Thursday.");
  });

  it("joins only the output_text parts of messages: a reasoning item's text, or a part of another type, is not the answer's", () => {
    const reasoning = { type: "reasoning", content: [{ type: "output_text", text: "Look it up. " }] };
    const answered = message({ type: "output_text", text: "Friday." });
    const refused = message({ type: "refusal", text: "No. " }, { type: "output_text", text: "Friday." });

    expect(answerWith([reasoning, answered], "Friday.")).not.toHaveProperty("output_text");
    expect(answerWith([reasoning, answered], "Look it up. Friday.")).toHaveProperty("output_text");
    expect(answerWith([refused], "Friday.")).not.toHaveProperty("output_text");
  });
});

describe("the GenAI conventions' request settings the gateway dual-writes beside its payload", () => {
  // TrueFoundry's gateway can write gen_ai.* beside tfy.* ("dual-write"), its sampling parameters taken
  // from the request: the conventions name some of them otherwise than the request body does.
  const body = {
    model: "openai-main/gpt-4o",
    messages: [{ role: "user", content: "Name two colours" }],
    max_completion_tokens: 50,
    stop: ["\n\n"],
    n: 2,
  };

  it("show each setting once, under the request body's name", () => {
    const span = spanWith("ChatCompletion: openai-main/gpt-4o", [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", json(body)),
      attr("tfy.request.model_name", "openai-main/gpt-4o"),
      attr("gen_ai.request.model", "openai-main/gpt-4o"),
      attr("gen_ai.request.max_tokens", 50),
      attr("gen_ai.request.stop_sequences", ["\n\n"]),
      attr("gen_ai.request.choice.count", 2),
    ]);
    const metadata = shown(requestOf([span])).metadata;

    expect(metadata).toMatchObject({ max_completion_tokens: 50, stop: ["\n\n"], n: 2 });
    // Not the same three settings again under the conventions' names.
    expect(Object.keys(metadata).filter((key) => key.startsWith("gen_ai.request."))).toEqual([]);
  });
  it.each([
    [
      "Anthropic's max_tokens and stop_sequences",
      { max_tokens: 50, stop_sequences: ["\n\n"] },
      { max_tokens: 50, stop_sequences: ["\n\n"] },
    ],
    ["the Responses API's max_output_tokens", { max_output_tokens: 50 }, { max_tokens: 50 }],
    ["an embedding's encoding_format", { encoding_format: "float" }, { encoding_formats: ["float"] }],
    ["one stop sequence given as a string", { stop: "\n" }, { stop_sequences: ["\n"] }],
  ])("show %s once, under the request body's name", (_, settings, conventions) => {
    const span = spanWith("ChatCompletion: openai-main/gpt-4o", [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", json({ ...body, max_completion_tokens: undefined, stop: undefined, n: undefined, ...settings })),
      ...Object.entries(conventions).map(([name, value]) => attr(`gen_ai.request.${name}`, value)),
    ]);
    const metadata = shown(requestOf([span])).metadata;

    expect(metadata).toMatchObject(settings);
    expect(Object.keys(metadata).filter((key) => key.startsWith("gen_ai.request."))).toEqual([]);
  });
  it.each([
    ["another", ["END"]],
    ["it and another", ["\n", "END"]],
  ])("keep stop sequences that say %s beside one given as a string: the body's does not say them", (_, sequences) => {
    const span = spanWith("ChatCompletion: openai-main/gpt-4o", [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", json({ ...body, stop: "\n" })),
      attr("gen_ai.request.stop_sequences", sequences),
    ]);
    expect(shown(requestOf([span])).metadata).toMatchObject({ stop: "\n", "gen_ai.request.stop_sequences": sequences });
  });
});

describe("a model call's cache counts in the GenAI conventions' names", () => {
  it("show as the cache metrics, so Braintrust prices the cached tokens as such", () => {
    const call = [
      attr("tfy.model.name", "claude-sonnet-4-5"),
      attr("tfy.model.metric.input_tokens", 1205),
      attr("tfy.model.metric.output_tokens", 3),
      attr("gen_ai.usage.input_tokens", 1205),
      attr("gen_ai.usage.output_tokens", 3),
      attr("gen_ai.usage.cache_read.input_tokens", 1000),
      attr("gen_ai.usage.cache_creation.input_tokens", 200),
    ];
    const model = shown(requestWithCall([attr("tfy.request.model_name", "anthropic-main/claude-sonnet-4-5")], call)).children[0]!;

    expect(model.metrics).toMatchObject({ prompt_tokens: 1205, completion_tokens: 3 });
    // Without them, the counts would sit in metadata and all 1205 prompt tokens be priced as uncached.
    expect(model.metrics).toMatchObject({ prompt_cached_tokens: 1000, prompt_cache_creation_tokens: 200 });
  });
});

describe("a Gemini or Bedrock Converse call's usage, in the provider's own names", () => {
  // The gateway takes Google's Gen AI SDK and boto3 as they are: the answer's usage is Gemini's
  // `usageMetadata` or Converse's camelCase `usage`, which the gateway's attributes say only part of.
  const gemini = {
    candidates: [{ content: { role: "model", parts: [{ text: "Tokyo." }] }, finishReason: "STOP" }],
    usageMetadata: {
      promptTokenCount: 5000,
      candidatesTokenCount: 20,
      thoughtsTokenCount: 300,
      cachedContentTokenCount: 4096,
      totalTokenCount: 5320,
    },
    modelVersion: "gemini-2.5-flash",
  };
  const converse = {
    output: { message: { role: "assistant", content: [{ text: "Tokyo." }] } },
    stopReason: "end_turn",
    usage: { inputTokens: 3, outputTokens: 1, totalTokens: 2004, cacheReadInputTokens: 2000, cacheWriteInputTokens: 0 },
  };
  const call = (model: string, answer: unknown, ...more: KeyValue[]) =>
    shown(requestWithCall([], [attr("tfy.model.name", model), attr("tfy.output", json(answer)), ...more])).children[0]!;

  it("gives a Gemini call its cached and thinking tokens, so Braintrust prices the cached ones as such", () => {
    const tokens = [attr("tfy.model.metric.input_tokens", 5000), attr("tfy.model.metric.output_tokens", 20)];
    const model = call("gemini-2.5-flash", gemini, ...tokens);

    expect(model.metrics).toEqual({
      prompt_tokens: 5000,
      completion_tokens: 20,
      prompt_cached_tokens: 4096,
      completion_reasoning_tokens: 300,
      // Gemini's total, which holds the thinking its completion tokens leave out, as Braintrust's Google wrapper shows it.
      tokens: 5320,
    });
    // The counts the metrics show are not shown again, nor the model that answered, metadata's model.
    expect(model.metadata).toMatchObject({ model: "gemini-2.5-flash" });
    expect(model.metadata).not.toHaveProperty("response");
    // Without the gateway's counts, the answer's give them all.
    expect(call("gemini-2.5-flash", gemini).metrics).toEqual(model.metrics);
  });

  it("counts a Converse call's cache reads in its prompt tokens, as Braintrust counts Anthropic's", () => {
    const tokens = [attr("tfy.model.metric.input_tokens", 3), attr("tfy.model.metric.output_tokens", 1)];
    const model = call("anthropic.claude-3-5-sonnet-20240620-v1:0", converse, ...tokens);

    // Converse's inputTokens, as Anthropic's, leave the cache out: 3 prompt tokens would price 2,000 cached ones as nothing.
    expect(model.metrics).toEqual({
      prompt_tokens: 2003,
      completion_tokens: 1,
      prompt_cached_tokens: 2000,
      prompt_cache_creation_tokens: 0,
      tokens: 2004,
    });
    expect(model.metadata.response).toEqual({ stopReason: "end_turn", usage: { inputTokens: 3 } });
    expect(call("anthropic.claude-3-5-sonnet-20240620-v1:0", converse).metrics).toEqual(model.metrics);
  });
});

describe("an OpenAI-shaped answer whose total_tokens holds thinking its completion_tokens leave out", () => {
  // xAI's reasoning models, and Gemini through an OpenAI-compatible endpoint, answer so: Braintrust's
  // OpenAI wrappers show `total_tokens` as the call's `tokens`, as its Google wrapper shows Gemini's total.
  const xai = {
    id: "chatcmpl-x1",
    model: "grok-3-mini",
    choices: [{ index: 0, message: { role: "assistant", content: "303" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 32, completion_tokens: 9, total_tokens: 135, completion_tokens_details: { reasoning_tokens: 94 } },
  };
  const call = (answer: unknown, ...more: KeyValue[]) =>
    shown(requestWithCall([], [attr("tfy.model.name", "grok-3-mini"), attr("tfy.output", json(answer)), ...more])).children[0]!;

  it("counts the total, thinking and all, as the call's tokens, with the gateway's counts or from the answer alone", () => {
    const model = call(xai, attr("tfy.model.metric.input_tokens", 32), attr("tfy.model.metric.output_tokens", 9));

    expect(model.type).toBe("llm");
    expect(model.metrics).toEqual({ prompt_tokens: 32, completion_tokens: 9, completion_reasoning_tokens: 94, tokens: 135 });
    // The counts the metrics show are not shown again in the response's metadata, the total among them.
    expect(model.metadata.response).toEqual({ id: "chatcmpl-x1" });
    expect(call(xai).metrics).toEqual(model.metrics);
  });

  it("leaves a total under the counts' sum as the answer said it: the sum is the call's tokens", () => {
    const under = { ...xai, usage: { prompt_tokens: 32, completion_tokens: 9, total_tokens: 40 } };

    expect(call(under).metrics).toEqual({ prompt_tokens: 32, completion_tokens: 9, tokens: 41 });
    expect(call(under).metadata.response).toEqual({ id: "chatcmpl-x1", usage: { total_tokens: 40 } });
  });
});

describe("a caller's metadata key that a request setting hides, for a tenant keeping source attributes", () => {
  it("shows the caller's value once", () => {
    const span = spanWith("ChatCompletion: openai-main/gpt-4o", [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", json({ model: "openai-main/gpt-4o", messages: [{ role: "user", content: "hi" }], user: "end-user-1" })),
      attr("tfy.request.model_name", "openai-main/gpt-4o"),
      attr("tfy.request.metadata.user", "ana"),
    ]);
    const root = shown(requestOf([span]), { keep_source_attributes: true });

    expect(root.metadata).toMatchObject({ user: "end-user-1", "tfy.request.metadata.user": "ana" });
    // Not in both the kept attribute and braintrust.metadata.
    expect(root.shownTwice).toBeUndefined();
  });
});

describe("the GenAI conventions' copy of an Anthropic conversation with tool use, beside the gateway's payload", () => {
  // A model call in Anthropic's own shape (its content blocks, which the relay shows as they are), with the
  // GenAI conventions' copy of the same messages the gateway dual-writes: a tool call's arguments are an
  // object in both, never JSON text as in OpenAI's payload.
  const request = {
    model: "claude-sonnet-4-5",
    max_tokens: 100,
    messages: [
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "18C and sunny" }] },
    ],
  };
  const response = {
    id: "msg_2",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5-20250929",
    content: [{ type: "tool_use", id: "toolu_2", name: "get_forecast", input: { city: "Paris", days: "2" } }],
    stop_reason: "tool_use",
    usage: { input_tokens: 80, output_tokens: 12 },
  };
  const inputCopy = [
    { role: "user", parts: [{ type: "text", content: "Weather in Paris?" }] },
    { role: "assistant", parts: [{ type: "tool_call", id: "toolu_1", name: "get_weather", arguments: { city: "Paris" } }] },
    { role: "user", parts: [{ type: "tool_call_response", id: "toolu_1", response: "18C and sunny" }] },
  ];
  const outputCopy = [
    {
      role: "assistant",
      parts: [{ type: "tool_call", id: "toolu_2", name: "get_forecast", arguments: { city: "Paris", days: "2" } }],
      finish_reason: "tool_use",
    },
  ];

  // OTLP carries a structured value either way: JSON text, or a list of key-value lists as given.
  it.each([
    ["as JSON text", json],
    ["as a list of key-value lists", (copy: unknown) => copy as AttrValue],
  ])("goes with the payload, the copies %s: the conversation and the answer show once", (_, form) => {
    const model = spanWith("Model: anthropic-main/claude-sonnet-4-5", [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.name", "claude-sonnet-4-5"),
      attr("tfy.input", json(request)),
      attr("tfy.output", json(response)),
      attr("tfy.model.metric.input_tokens", 80),
      attr("tfy.model.metric.output_tokens", 12),
      attr("gen_ai.input.messages", form(inputCopy)),
      attr("gen_ai.output.messages", form(outputCopy)),
    ]);
    const span = shown(requestOf([model]));

    expect(span.input).toEqual(request.messages);
    expect(span.output).toEqual(response.content);
    // Not both copies in metadata, the whole prompt and answer stored and billed twice.
    expect(span.metadata).not.toHaveProperty("gen_ai.input.messages");
    expect(span.metadata).not.toHaveProperty("gen_ai.output.messages");
  });

  it("goes with the payload beside system instructions the gateway added, which stay", () => {
    const model = spanWith("Model: anthropic-main/claude-sonnet-4-5", [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", json(request)),
      attr("gen_ai.input.messages", json(inputCopy)),
      attr("gen_ai.system_instructions", json([{ type: "text", content: "Answer in Celsius." }])),
    ]);
    const span = shown(requestOf([model]));

    // The tool call's arguments, an object in the payload, are said as JSON though the instructions are said nowhere.
    expect(span.metadata).not.toHaveProperty("gen_ai.input.messages");
    expect(span.metadata).toHaveProperty("gen_ai.system_instructions");
  });
});

describe("an agent's answer shaped as a request (its run's messages)", () => {
  // Only a guardrail's output is the request it let through, whose settings it may have changed or taken out.
  const request = {
    model: "openai-main/gpt-4.1",
    messages: [{ role: "user", content: "Where is my order 1234?" }],
    iteration_limit: 5,
    temperature: 0,
  };
  const answer = {
    messages: [
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "call_1", content: "shipped" },
      { role: "assistant", content: "Order 1234 has shipped." },
    ],
  };
  const spanOf = (type: string) =>
    spanWith(`${type}: support-agent`, [attr("tfy.span_type", type), attr("tfy.input", json(request)), attr("tfy.output", json(answer))]);

  it("shows whole as the agent's output, and says nothing of the request's settings, which show once as its own", () => {
    const agent = shown(requestOf([spanOf("AgentResponse")]));

    expect(agent.output).toEqual(answer);
    expect(agent.metadata).toMatchObject({ iteration_limit: 5, temperature: 0 });
    expect(agent.metadata).not.toHaveProperty("response");
    // A guardrail's output of that shape is the request it let through, without the settings it took out.
    expect(shown(requestOf([spanOf("Guardrail")])).metadata.response).toEqual({
      removed_settings: ["model", "iteration_limit", "temperature"],
    });
  });
});

describe("the older export's finish reasons without a payload", () => {
  const olderExport = (finishReasons: string[]) =>
    spanWith("chatCompletions", [
      attr("gen_ai.system", "openai"),
      attr("gen_ai.request.model", "gpt-4o"),
      attr("gen_ai.response.finish_reasons", finishReasons),
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", "What is the weather in Paris?"),
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.finish_reason", "tool_calls"),
      attr("gen_ai.completion.0.tool_calls.0.id", "call_1"),
      attr("gen_ai.completion.0.tool_calls.0.name", "get_weather"),
      attr("gen_ai.completion.0.tool_calls.0.arguments", '{"city":"Paris"}'),
    ]);

  it("go with the indexed completions whose reasons the output shows, and stay when they say another", () => {
    const root = shown(requestOf([olderExport(["tool_calls"])]));

    expect(root.output).toEqual([
      {
        role: "assistant",
        finish_reason: "tool_calls",
        tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
      },
    ]);
    expect(root.metadata).not.toHaveProperty("gen_ai.response.finish_reasons");
    expect(shown(requestOf([olderExport(["length"])])).metadata["gen_ai.response.finish_reasons"]).toEqual(["length"]);
  });
});

describe("the GenAI conventions' copy of the older export's indexed prompt, as a list of key-value lists", () => {
  it("goes with the indexed messages it restates: the prompt shows once, as the input", () => {
    const span = spanWith("chatCompletions", [
      attr("gen_ai.system", "openai"),
      attr("gen_ai.request.model", "gpt-4.1"),
      attr("gen_ai.prompt.0.role", "user"),
      attr("gen_ai.prompt.0.content", "Where is my order 1234?"),
      attr("gen_ai.completion.0.role", "assistant"),
      attr("gen_ai.completion.0.content", "It has shipped."),
      attr("gen_ai.input.messages", [{ role: "user", parts: [{ type: "text", content: "Where is my order 1234?" }] }] as AttrValue),
    ]);
    const root = shown(requestOf([span]));

    expect(root.input).toEqual([{ role: "user", content: "Where is my order 1234?" }]);
    expect(root.metadata).not.toHaveProperty("gen_ai.input.messages");
    // A copy saying more than the indexed messages stays.
    const more = spanWith("chatCompletions", [
      ...span.attributes.filter((a) => a.key !== "gen_ai.input.messages"),
      attr("gen_ai.input.messages", [{ role: "user", parts: [{ type: "text", content: "Something else" }] }] as AttrValue),
    ]);
    expect(shown(requestOf([more])).metadata).toHaveProperty("gen_ai.input.messages");
  });
});

describe("the GenAI conventions' copy of an MCP tool call's arguments and result, beside the gateway's payload", () => {
  // An `execute_tool` span in the conventions carries the call's arguments and result again, JSON text or a
  // key-value list: the tool call shows whole, so a copy that is the same JSON is the same call again.
  const args = { order_id: "1234", notify: true, amount: 12.5 };
  const result = { content: [{ type: "text", text: "refunded" }], isError: false };
  const toolCall = (...copies: KeyValue[]) =>
    spanWith("MCP: orders.refund", [
      attr("tfy.span_type", "MCP"),
      attr("tfy.mcp_server.primitive_name", "refund"),
      attr("tfy.input", json(args)),
      attr("tfy.output", json(result)),
      attr("gen_ai.operation.name", "execute_tool"),
      attr("gen_ai.tool.name", "refund"),
      ...copies,
    ]);

  it.each([
    ["JSON text", json(args), JSON.stringify(result, null, 2)],
    ["a key-value list", args, result],
  ] as const)("goes with the payload, as %s: the call's arguments and result show once", (_form, argsCopy, resultCopy) => {
    const span = shown(requestOf([toolCall(attr("gen_ai.tool.call.arguments", argsCopy), attr("gen_ai.tool.call.result", resultCopy))]));

    expect(span.input).toEqual(args);
    expect(span.output).toEqual(result);
    // Not again in metadata, the call's arguments and its result stored and billed twice.
    expect(span.metadata).not.toHaveProperty("gen_ai.tool.call.arguments");
    expect(span.metadata).not.toHaveProperty("gen_ai.tool.call.result");
    expect(span.metadata["gen_ai.tool.name"]).toBe("refund");
  });

  it("stays when it says something else, and for a tenant keeping sources", () => {
    const other = toolCall(
      attr("gen_ai.tool.call.arguments", json({ ...args, amount: 13 })),
      attr("gen_ai.tool.call.result", json(result)),
    );
    const kept = shown(requestOf([toolCall(attr("gen_ai.tool.call.arguments", json(args)))]), { keep_source_attributes: true });

    expect(shown(requestOf([other])).metadata).toHaveProperty("gen_ai.tool.call.arguments");
    expect(shown(requestOf([other])).metadata).not.toHaveProperty("gen_ai.tool.call.result");
    expect(kept.metadata).toHaveProperty("gen_ai.tool.call.arguments");
  });
});

describe("a guardrail over the model's output, whose input is the whole completion", () => {
  const completion = {
    id: "chatcmpl-9x2",
    object: "chat.completion",
    created: 1764000000,
    model: "gpt-4o-mini-2024-07-18",
    choices: [{ index: 0, message: { role: "assistant", content: "Write to ana@example.com." }, finish_reason: "stop" }],
    usage: { prompt_tokens: 31, completion_tokens: 6, total_tokens: 37 },
    system_fingerprint: "fp_1",
  };
  const redacted = [{ index: 0, message: { role: "assistant", content: "Write to [EMAIL]." }, finish_reason: "stop" }];
  /** The guardrail under its request, as Braintrust shows it. */
  const guardrail = (passedOn: object) => {
    const top = spanWith("ChatCompletion: x", [attr("tfy.span_type", "ChatCompletion")]);
    const checked = spanWith(
      "Guardrail: pii-output",
      [attr("tfy.span_type", "Guardrail"), attr("tfy.input", json(completion)), attr("tfy.output", json(passedOn))],
      { traceId: top.traceId, parentSpanId: top.spanId },
    );
    return shown(requestOf([checked, top])).children[0]!;
  };

  it("shows the completion it checked once, as its input, and the choices it let through: no model priced, no usage counted", () => {
    const view = guardrail({ ...completion, choices: redacted });

    expect(view.input).toEqual(completion);
    expect(view.output).toEqual(redacted);
    expect(view.metadata).not.toHaveProperty("response");
    expect(view.metadata).not.toHaveProperty("model");
    expect([view.metrics, view.cost]).toEqual([{}, null]);
  });

  it("drops only what an answer it checked holds: a request of another shape keeps the answer's members it repeats", () => {
    const top = spanWith("ChatCompletion: x", [attr("tfy.span_type", "ChatCompletion")]);
    const checked = spanWith(
      "Guardrail: custom",
      [
        attr("tfy.span_type", "Guardrail"),
        attr("tfy.input", json({ task: "moderate", id: completion.id })),
        attr("tfy.output", json(completion)),
      ],
      { traceId: top.traceId, parentSpanId: top.spanId },
    );

    expect(shown(requestOf([checked, top])).children[0]!.metadata.response).toMatchObject({ id: completion.id });
  });

  it("shows what it changed beside the choices, once", () => {
    const view = guardrail({ ...completion, choices: redacted, system_fingerprint: "fp_guarded" });

    expect(view.metadata.response).toEqual({ system_fingerprint: "fp_guarded" });
  });
});
