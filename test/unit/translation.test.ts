import { describe, expect, it } from "vitest";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { leavesSpansAlone } from "../../src/process/process-spans.js";
import { traceloopMessages } from "../../src/process/traceloop.js";
import { translateSpan } from "../../src/process/translate.js";
import { relayed } from "../support/pipeline.js";
import { tenantRecord } from "../support/tenants.js";
import { attr, attributesOf, randomId, requestOf, spansOf, spanWith } from "../support/traces.js";

/** The braintrust.* attributes translation adds to one span with these attributes, JSON ones parsed. */
function translated(attributes: KeyValue[], name = "span"): Record<string, unknown> {
  const span = spanWith(name, attributes);
  translateSpan(span);
  const added = Object.entries(attributesOf(span)).filter(
    ([key]) => key.startsWith("braintrust.") && !attributes.some((a) => a.key === key),
  );
  return Object.fromEntries(added.map(([key, value]) => [key, typeof value === "string" ? JSON.parse(value) : value]));
}

describe("span types", () => {
  it.each([
    ["Model", "llm"],
    ["Completion", "llm"],
    ["Embedding", "llm"],
    ["ChatCompletion", "task"],
    ["AgentResponse", "task"],
    ["MCP", "tool"],
    ["Guardrail", "function"],
    ["Rerank", "function"],
    ["SomethingNew", "task"],
  ])("a %s span is a Braintrust %s span, named after the span", (tfyType, type) => {
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
  it("takes a chat payload's messages and choices", () => {
    const result = translated([
      attr("tfy.input", JSON.stringify({ model: "m", messages: [{ role: "user", content: "Hi" }] })),
      attr("tfy.output", JSON.stringify({ id: "1", choices: [{ index: 0, message: { role: "assistant", content: "Hello" } }] })),
    ]);

    expect(result["braintrust.input_json"]).toEqual([{ role: "user", content: "Hi" }]);
    expect(result["braintrust.output_json"]).toEqual([{ index: 0, message: { role: "assistant", content: "Hello" } }]);
  });

  it("takes the whole JSON when it has no such list, and text as a JSON string", () => {
    const result = translated([
      attr("tfy.input", JSON.stringify({ prompt: "Hi", messages: "not a list" })),
      attr("tfy.output", "plain text"),
    ]);

    expect(result["braintrust.input_json"]).toEqual({ prompt: "Hi", messages: "not a list" });
    expect(result["braintrust.output_json"]).toBe("plain text");
  });

  it("keeps JSON scalars and lists as they are", () => {
    const result = translated([attr("tfy.input", "[1,2]"), attr("tfy.output", "42")]);

    expect(result["braintrust.input_json"]).toEqual([1, 2]);
    expect(result["braintrust.output_json"]).toBe(42);
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
    expect(result["braintrust.output_json"]).toEqual([{ content: "done", tool_calls: [{ name: "f" }], index: 0 }]);
  });

  it("leaves out a payload that is JSON null, and translates the rest", () => {
    const result = translated([attr("tfy.span_type", "Model"), attr("tfy.input", "null"), attr("tfy.output", "null")]);

    expect(result).toEqual({ "braintrust.span_attributes": { type: "llm", name: "span" } });
  });

  it("prefers tfy.input and tfy.output to Traceloop messages", () => {
    const result = translated([
      attr("tfy.input", '{"messages":[]}'),
      attr("gen_ai.prompt.0.content", "old"),
      attr("gen_ai.completion.0.content", "old answer"),
    ]);

    expect(result["braintrust.input_json"]).toEqual([]);
    expect(result["braintrust.output_json"]).toEqual([{ content: "old answer" }]);
  });
});

describe("Traceloop messages", () => {
  it("are absent from a span without indexed prompt or completion attributes", () => {
    expect(traceloopMessages([attr("gen_ai.system", "openai"), attr("gen_ai.prompt", "x")])).toBeUndefined();
  });

  it("give only the side that is there", () => {
    expect(traceloopMessages([attr("gen_ai.completion.0.content", "a")])).toEqual({ output: [{ content: "a" }] });
    expect(traceloopMessages([attr("gen_ai.prompt.0.content", "q")])).toEqual({ input: [{ content: "q" }] });
  });
});

describe("metrics", () => {
  it("reads tokens, cost and time to first token (in seconds) from tfy.model.metric.*", () => {
    const result = translated([
      attr("tfy.model.metric.input_tokens", 14),
      attr("tfy.model.metric.output_tokens", 3),
      attr("tfy.model.metric.cost_in_usd", 0.25),
      attr("tfy.model.metric.time_to_first_token_in_ms", 1250),
    ]);

    expect(result["braintrust.metrics"]).toEqual({
      prompt_tokens: 14,
      completion_tokens: 3,
      tokens: 17,
      estimated_cost: 0.25,
      time_to_first_token: 1.25,
    });
  });

  it("falls back to gen_ai.usage.*, and sums what there is", () => {
    expect(translated([attr("tfy.x", 1), attr("gen_ai.usage.prompt_tokens", 9)])["braintrust.metrics"]).toEqual({
      prompt_tokens: 9,
      tokens: 9,
    });
    expect(translated([attr("tfy.x", 1), attr("gen_ai.usage.completion_tokens", 4)])["braintrust.metrics"]).toEqual({
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

  it("are left out when there are none", () => {
    expect(translated([attr("tfy.span_type", "Model")])).not.toHaveProperty("braintrust.metrics");
  });
});

describe("metadata", () => {
  it("gathers model, provider, streaming, request metadata, subject, conversation, prompt version and error", () => {
    const result = translated([
      attr("tfy.model.name", "gpt-4.1-mini"),
      attr("tfy.request.model_name", "openai/gpt-4.1-mini"),
      attr("tfy.model.fqn", "truefoundry:openai/gpt-4.1-mini"),
      attr("tfy.model.streaming", true),
      attr("tfy.request.metadata", JSON.stringify({ env: "prod" })),
      attr("tfy.request.created_by_subject", "user:alice"),
      attr("tfy.request.conversation_id", "conv-1"),
      attr("tfy.prompt_version_fqn", "prompt:acme/greeting:3"),
      attr("tfy.error_message", "rate limited"),
    ]);

    expect(result["braintrust.metadata"]).toEqual({
      model: "gpt-4.1-mini",
      model_fqn: "truefoundry:openai/gpt-4.1-mini",
      provider: "openai",
      stream: true,
      request_metadata: { env: "prod" },
      subject: "user:alice",
      conversation_id: "conv-1",
      prompt_version: "prompt:acme/greeting:3",
      error: "rate limited",
    });
  });

  it("names the model from the request, then gen_ai.request.model; the provider from gen_ai.system, then the model's prefix", () => {
    expect(translated([attr("tfy.request.model_name", "anthropic/claude")])["braintrust.metadata"]).toEqual({
      model: "anthropic/claude",
      provider: "anthropic",
    });
    expect(translated([attr("tfy.request.model_name", "no-slash")])["braintrust.metadata"]).toEqual({ model: "no-slash" });
    expect(
      translated([attr("tfy.x", 1), attr("gen_ai.request.model", "gpt-4o"), attr("gen_ai.system", "openai")])["braintrust.metadata"],
    ).toEqual({ model: "gpt-4o", provider: "openai" });
    expect(translated([attr("tfy.request.model_name", "a/b"), attr("gen_ai.system", "azure")])["braintrust.metadata"]).toEqual({
      model: "a/b",
      provider: "azure",
    });
  });

  it("are left out when there are none", () => {
    expect(translated([attr("tfy.span_type", "Model")])).not.toHaveProperty("braintrust.metadata");
  });
});

describe("tags", () => {
  it("come from the request metadata's tags, a list of strings or one comma-separated string", () => {
    const tags = (value: unknown) => translated([attr("tfy.request.metadata", JSON.stringify({ tags: value }))])["braintrust.tags"];

    expect(tags(["a", 1, "b"])).toEqual(["a", "b"]);
    expect(tags(" a , b,,c ")).toEqual(["a", "b", "c"]);
    expect(tags(7)).toBeUndefined();
    expect(tags([])).toBeUndefined();
    expect(translated([attr("tfy.request.metadata", "not json")])).not.toHaveProperty("braintrust.tags");
  });
});

describe("translating a span", () => {
  it("leaves spans without tfy.* or Traceloop attributes alone, and reports what it added to the others", () => {
    const plain = spanWith("db.query", [attr("db.system", "postgresql"), attr("gen_ai.system", "x")]);
    const gateway = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.model.metric.input_tokens", 1)]);

    expect(translateSpan(plain).added).toEqual([]);
    const { added } = translateSpan(gateway);

    expect(plain.attributes).toEqual([attr("db.system", "postgresql"), attr("gen_ai.system", "x")]);
    expect(added.map((a) => a.key)).toEqual(["braintrust.span_attributes", "braintrust.metrics"]);
    expect(gateway.attributes.slice(2)).toEqual(added);
  });

  it("keeps every braintrust.* attribute a span already has, as it is", () => {
    const own = [
      attr("braintrust.span_attributes", "own"),
      attr("braintrust.input_json", "own"),
      attr("braintrust.output_json", "own"),
      attr("braintrust.metrics", "own"),
      attr("braintrust.metadata", "own"),
      attr("braintrust.tags", "own"),
    ];
    const span = spanWith("Model: x", [
      attr("tfy.span_type", "Model"),
      attr("tfy.input", "in"),
      attr("tfy.output", "out"),
      attr("tfy.model.metric.input_tokens", 1),
      attr("tfy.model.name", "m"),
      attr("tfy.request.metadata", JSON.stringify({ tags: ["t"] })),
      ...own,
    ]);

    expect(translateSpan(span).added).toEqual([]);
    expect(span.attributes.slice(6)).toEqual(own);
  });

  it("translates every span of every resource and scope", () => {
    const request = requestOf([spanWith("a", [attr("tfy.span_type", "Model")])]);
    request.resourceSpans.push(...requestOf([spanWith("b", [attr("tfy.span_type", "MCP")])], "other").resourceSpans);

    const [sent] = relayed(request).requests;

    expect(spansOf(sent!.request).map((s) => attributesOf(s)["braintrust.span_attributes"])).toEqual([
      JSON.stringify({ type: "llm", name: "a" }),
      JSON.stringify({ type: "tool", name: "b" }),
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

  it("sends translated spans as their original fields with the translation after them", () => {
    const span = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.model.metric.input_tokens", 3)]);

    const [sent] = relayed(requestOf([span])).requests;

    expect(spansOf(sent!.request)[0]!.attributes.map((a) => a.key)).toEqual([
      "tfy.span_type",
      "tfy.model.metric.input_tokens",
      "braintrust.span_attributes",
      "braintrust.metrics",
    ]);
  });
});
