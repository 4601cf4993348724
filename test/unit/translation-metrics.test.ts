import { describe, expect, it } from "vitest";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { attr } from "../../scripts/lib/traces.js";
import { translateSpan } from "../../src/process/translate.js";
import { attributesOf, spanWith } from "../support/traces.js";
import { DROP, KEEP, keptKeys, translated, translateInPlace } from "../support/translation.js";

/** Tokens, timings and the model Braintrust prices a span by. */
describe("metrics", () => {
  it("leave a cost of 0, TrueFoundry's 'no price', as an attribute, so Braintrust prices the call by its model", () => {
    const attributes = [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.name", "gpt-4o"),
      attr("tfy.model.metric.input_tokens", 5),
      attr("tfy.model.metric.cost_in_usd", 0),
    ];

    expect(translated(attributes)["braintrust.metrics"]).toEqual({ prompt_tokens: 5, tokens: 5 });
    // The model's name goes too, shown once as metadata.model; the cost stays.
    expect([...translateInPlace(spanWith("Model: x", attributes), DROP).removedKeys]).toEqual([
      "tfy.model.metric.input_tokens",
      "tfy.model.name",
    ]);
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

  it("takes no count, cost or timing below 0 as a metric, from attributes or a response's usage: it stays as it came", () => {
    const attributes = [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.metric.input_tokens", "-1000000"),
      attr("tfy.model.metric.output_tokens", 3),
      attr("tfy.model.metric.cost_in_usd", -5),
      attr("tfy.model.metric.time_to_first_token_in_ms", -40),
      attr("tfy.output", JSON.stringify({ choices: [], usage: { prompt_tokens: -7, prompt_tokens_details: { cached_tokens: -2 } } })),
    ];

    expect(translated(attributes)["braintrust.metrics"]).toEqual({ completion_tokens: 3, tokens: 3 });
    expect(keptKeys(attributes)).toEqual([
      "tfy.span_type",
      "tfy.model.metric.input_tokens",
      "tfy.model.metric.cost_in_usd",
      "tfy.model.metric.time_to_first_token_in_ms",
    ]);
  });

  it("shows a count of 0 as 0: an answer cut off before its first token, a prompt none of which was cached", () => {
    expect(
      translated([
        attr("tfy.model.metric.input_tokens", 12),
        attr("tfy.model.metric.output_tokens", 0),
        attr("tfy.model.metric.cache_read_input_tokens", 0),
      ])["braintrust.metrics"],
    ).toEqual({ prompt_tokens: 12, completion_tokens: 0, tokens: 12, prompt_cached_tokens: 0 });
  });

  it("reads a response's usage whose details are null, as some OpenAI-compatible servers send them", () => {
    const usage = { prompt_tokens: 10, completion_tokens: 5, prompt_tokens_details: null, completion_tokens_details: null };
    expect(
      translated([attr("tfy.span_type", "Model"), attr("tfy.output", JSON.stringify({ choices: [], usage }))])["braintrust.metrics"],
    ).toEqual({ prompt_tokens: 10, completion_tokens: 5, tokens: 15 });
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

  it("read cache and reasoning tokens under the GenAI conventions' names and Traceloop's older ones, which they restate", () => {
    const names = {
      prompt_cached_tokens: ["gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"],
      prompt_cache_creation_tokens: ["gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens"],
      completion_reasoning_tokens: ["gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens"],
    };
    for (const [metric, keys] of Object.entries(names))
      for (const key of keys) {
        const attributes = [attr("tfy.x", 1), attr(key, 3)];
        expect(translated(attributes)["braintrust.metrics"], key).toEqual({ [metric]: 3 });
        expect(keptKeys(attributes), key).toEqual(["tfy.x"]);
      }
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
    // The conventions' total is the tokens metric when it is their sum, or more: what the parts leave out (a model's thinking).
    const total = (value: number | string) => [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.metric.input_tokens", 14),
      attr("tfy.model.metric.output_tokens", 2),
      attr("gen_ai.usage.total_tokens", value),
    ];
    expect(keptKeys(total(16))).toEqual(["tfy.span_type"]);
    expect(keptKeys(total("16"))).toEqual(["tfy.span_type"]);
    expect(keptKeys(total(17))).toEqual(["tfy.span_type"]);
    expect(translated(total(17))["braintrust.metrics"]).toEqual({ prompt_tokens: 14, completion_tokens: 2, tokens: 17 });
    // Less than their sum, it says otherwise than the metric: the span's own word, kept.
    expect(keptKeys(total(15))).toEqual(["tfy.span_type", "gen_ai.usage.total_tokens"]);
    expect(translated(total(15))["braintrust.metrics"]).toEqual({ prompt_tokens: 14, completion_tokens: 2, tokens: 16 });
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
