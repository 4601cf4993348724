import { describe, expect, it } from "vitest";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, spansOf } from "../../scripts/lib/traces.js";
import { relayed } from "../support/pipeline.js";
import { attributesOf, requestOf, spanWith } from "../support/traces.js";
import { keptKeys, translated } from "../support/translation.js";

/** Calls other than OpenAI chat completions: MCP tools, Anthropic messages and OpenAI's Responses API. */
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
      // Only a text part's text says why: another part's `text` member (a tool's own shape) is not read.
      '{"content":[{"type":"image","data":"iVBORw0KGgo=","mimeType":"image/png"},{"type":"text","text":"chart failed"},{"type":"resource_link","uri":"file:///q3.png","name":"q3.png","text":"Q3 chart"}],"isError":true}',
      [],
      "chart failed",
    ],
    ["its text part holds no text", '{"content":[{"type":"text","text":null}],"isError":true}', [], "the tool call failed"],
    [
      "its text parts are empty or blank",
      '{"content":[{"type":"text","text":""},{"type":"text","text":" "},{"type":"text","text":"quota spent"}],"isError":true}',
      [],
      "quota spent",
    ],
    ["its only text part is empty", '{"content":[{"type":"text","text":""}],"isError":true}', [], "the tool call failed"],
    [
      "the gateway flags it, its result blank text",
      '" "',
      [attr("tfy.mcp_server.is_tool_call_execution_error", true)],
      "the tool call failed",
    ],
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
      "its result is a JSON-RPC error response whose message is blank",
      '{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"  "}}',
      [],
      "the tool call failed",
    ],
    [
      "it has a JSON-RPC error code and a blank message",
      '{"code":-32602,"message":" "}',
      [attr("tfy.mcp_server.error_code", -32602)],
      "the tool call failed with error -32602",
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

  it("counts Anthropic's cache in the gateway's input tokens when they are Anthropic's own, leave part of the cache out, or are fewer than the cached ones", () => {
    const usage =
      '{"content":[],"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20}}';
    const metrics = (attributes: ReturnType<typeof attr>[]) =>
      translated([attr("tfy.span_type", "Model"), ...attributes])["braintrust.metrics"];

    expect(
      metrics([attr("tfy.model.metric.input_tokens", 10), attr("tfy.model.metric.output_tokens", 5), attr("tfy.output", usage)]),
    ).toEqual({ prompt_tokens: 130, completion_tokens: 5, tokens: 135, prompt_cached_tokens: 100, prompt_cache_creation_tokens: 20 });
    // The gateway counted the cache already: its count stands.
    expect(metrics([attr("tfy.model.metric.input_tokens", 130), attr("tfy.output", usage)])).toMatchObject({ prompt_tokens: 130 });
    // The gateway counted the reads, or the writes, alone: the response says what the rest is.
    for (const partial of [110, 30])
      expect(metrics([attr("tfy.model.metric.input_tokens", partial), attr("tfy.output", usage)])).toMatchObject({ prompt_tokens: 130 });
    // No response to compare with: fewer prompt tokens than cached ones cannot include them.
    expect(
      metrics([
        attr("tfy.model.metric.input_tokens", 10),
        attr("tfy.model.metric.cache_read_input_tokens", 100),
        attr("tfy.model.metric.cache_write_input_tokens", 20),
      ]),
    ).toMatchObject({ prompt_tokens: 130, tokens: 130 });
    // Nor can as many as the reads but fewer than the whole cache, whether a response's usage without cache counts is beside them or not.
    const cacheFromGateway = [
      attr("tfy.model.metric.input_tokens", 60),
      attr("tfy.model.metric.cache_read_input_tokens", 50),
      attr("tfy.model.metric.cache_write_input_tokens", 20),
    ];
    expect(metrics(cacheFromGateway)).toMatchObject({ prompt_tokens: 130 });
    expect(
      metrics([...cacheFromGateway, attr("tfy.output", '{"content":[],"usage":{"input_tokens":60,"output_tokens":5}}')]),
    ).toMatchObject({
      prompt_tokens: 130,
    });
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

  it("adds to a usage's own prompt count, which holds the cache reads in OpenAI's APIs, only the cache writes beside it", () => {
    const metrics = (usage: Record<string, unknown>) =>
      translated([attr("tfy.span_type", "Model"), attr("tfy.output", JSON.stringify({ choices: [], usage }))])["braintrust.metrics"];
    const cached = { prompt_tokens_details: { cached_tokens: 3000 }, cache_creation_input_tokens: 1500 };
    expect(metrics({ prompt_tokens: 3010, ...cached })).toMatchObject({ prompt_tokens: 4510 });
    expect(metrics({ prompt_tokens: 4510, ...cached })).toMatchObject({ prompt_tokens: 4510 });
    // A prompt all read from the cache holds its reads too.
    expect(metrics({ prompt_tokens: 3000, ...cached })).toMatchObject({ prompt_tokens: 4500 });
    // Fewer than the reads cannot hold them: the whole cache is left out, as Anthropic counts.
    expect(metrics({ prompt_tokens: 10, ...cached })).toMatchObject({ prompt_tokens: 4510 });
    // The Responses API's input_tokens hold its cached_tokens as well; the writes here are the gateway's.
    const responses = { input_tokens: 5000, input_tokens_details: { cached_tokens: 4000 } };
    expect(
      translated([
        attr("tfy.span_type", "Model"),
        attr("tfy.output", JSON.stringify({ output: [], usage: responses })),
        attr("tfy.model.metric.cache_write_input_tokens", 2000),
      ])["braintrust.metrics"],
    ).toMatchObject({ prompt_tokens: 7000, prompt_cached_tokens: 4000, prompt_cache_creation_tokens: 2000 });
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
    // Nor one that changed an item of a list as long, left out a member the request set, or answered an object with text.
    const changed = call(
      JSON.stringify({
        input: "2+2?",
        tools: [...tools, { type: "web_search" }],
        reasoning: { effort: "low", summary: "auto" },
        tool_choice: { type: "function", name: "calc" },
      }),
      response({ tools: [...tools, { type: "file_search" }], reasoning: { effort: "low" }, tool_choice: "auto" }),
    );
    expect((changed["braintrust.metadata"] as { response: unknown }).response).toEqual({
      id: "resp_1",
      object: "response",
      tools: [...tools, { type: "file_search" }],
      reasoning: { effort: "low" },
      tool_choice: "auto",
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

describe("a Gemini call made with Google's Gen AI SDK, which the gateway takes as it is", () => {
  const contents = [{ role: "user", parts: [{ text: "Capital of Japan?" }] }];
  const systemInstruction = { parts: [{ text: "Answer with a city." }] };
  const candidates = [{ content: { role: "model", parts: [{ text: "Tokyo." }] }, finishReason: "STOP", index: 0 }];

  it("shows the request's contents with its system instruction as input, the answer's candidates as output, the rest in metadata", () => {
    const added = translated([
      attr("tfy.span_type", "Model"),
      attr("tfy.model.name", "gemini-2.5-flash"),
      attr("tfy.input", JSON.stringify({ contents, systemInstruction, generationConfig: { temperature: 0.2 } })),
      attr("tfy.output", JSON.stringify({ candidates, modelVersion: "gemini-2.5-flash", responseId: "r-1" })),
    ]);

    // The system prompt is the conversation's first message, its parts the content, as Bedrock's `system` blocks are.
    expect(added["braintrust.input_json"]).toEqual([{ role: "system", content: systemInstruction.parts }, ...contents]);
    expect(added["braintrust.output_json"]).toEqual(candidates);
    // The model that answered is metadata's model: not said twice.
    expect(added["braintrust.metadata"]).toEqual({
      generationConfig: { temperature: 0.2 },
      model: "gemini-2.5-flash",
      response: { responseId: "r-1" },
    });
  });

  it("shows the contents as input, a list of messages with or without a system instruction in either spelling", () => {
    const input = (body: unknown) => translated([attr("tfy.input", JSON.stringify(body))])["braintrust.input_json"];

    expect(input({ contents })).toEqual(contents);
    const system = { role: "system", content: systemInstruction.parts };
    expect(input({ contents, system_instruction: systemInstruction })).toEqual([system, ...contents]);
    // An instruction given as text, as the SDK takes it, or of another shape, is the message's content as it came.
    expect(input({ contents, systemInstruction: "Answer with a city." })).toEqual([
      { role: "system", content: "Answer with a city." },
      ...contents,
    ]);
    expect(input({ contents, systemInstruction: { text: "x" } })).toEqual([{ role: "system", content: { text: "x" } }, ...contents]);
    // Beside no contents, it is no Gemini request's: a setting.
    expect(translated([attr("tfy.input", JSON.stringify({ messages: [], systemInstruction }))])["braintrust.metadata"]).toEqual({
      systemInstruction,
    });
  });

  it("is priced by the model the answer names, where the span names none (its model is in the request's URL)", () => {
    const added = translated([
      attr("tfy.span_type", "Model"),
      attr("tfy.input", JSON.stringify({ contents })),
      attr("tfy.output", JSON.stringify({ candidates, modelVersion: "gemini-2.5-flash" })),
    ]);

    expect(added["braintrust.metadata"]).toEqual({ model: "gemini-2.5-flash" });
    // A `model` that names none (null, as an OpenAI-compatible proxy may add) leaves modelVersion to name it.
    const proxied = translated([
      attr("tfy.span_type", "Model"),
      attr("tfy.output", JSON.stringify({ candidates, model: null, modelVersion: "gemini-2.5-flash" })),
    ]);
    expect(proxied["braintrust.metadata"]).toEqual({ model: "gemini-2.5-flash", response: { model: null } });
    // A prompt Google blocked has no candidates: the answer shows whole, and still names its model.
    const blocked = { promptFeedback: { blockReason: "SAFETY" }, modelVersion: "gemini-2.5-flash" };
    expect(translated([attr("tfy.span_type", "Model"), attr("tfy.output", JSON.stringify(blocked))])).toMatchObject({
      "braintrust.output_json": blocked,
      "braintrust.metadata": { model: "gemini-2.5-flash" },
    });
  });
});

describe("a Bedrock Converse call made with boto3, which the gateway takes as it is", () => {
  it("shows the answer's output message as output, its usage as metrics and the stop reason in metadata.response", () => {
    const output = { message: { role: "assistant", content: [{ text: "Tokyo." }] } };
    const added = translated([
      attr("tfy.span_type", "Model"),
      attr("tfy.model.name", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
      attr(
        "tfy.input",
        JSON.stringify({
          messages: [{ role: "user", content: [{ text: "Capital of Japan?" }] }],
          system: [{ text: "Answer with a city." }],
          inferenceConfig: { maxTokens: 64 },
        }),
      ),
      attr("tfy.output", JSON.stringify({ output, stopReason: "end_turn", usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15 } })),
    ]);

    expect(added["braintrust.input_json"]).toEqual([
      { role: "system", content: [{ text: "Answer with a city." }] },
      { role: "user", content: [{ text: "Capital of Japan?" }] },
    ]);
    expect(added["braintrust.output_json"]).toEqual(output);
    expect(added["braintrust.metrics"]).toEqual({ prompt_tokens: 12, completion_tokens: 3, tokens: 15 });
    expect(added["braintrust.metadata"]).toMatchObject({ inferenceConfig: { maxTokens: 64 }, response: { stopReason: "end_turn" } });
  });

  it("shows an output that holds no message whole, as any answer of a shape the relay does not know", () => {
    const answer = { output: { text: "Tokyo." }, id: "x" };
    expect(translated([attr("tfy.span_type", "Model"), attr("tfy.output", JSON.stringify(answer))])["braintrust.output_json"]).toEqual(
      answer,
    );
  });
});
