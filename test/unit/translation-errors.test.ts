import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import {
  type Span,
  Span_EventSchema,
  Span_SpanKind,
  Status_StatusCode,
  StatusSchema,
} from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { SpanView } from "../../scripts/lib/braintrust-standin-contract.js";
import { braintrustView } from "../../scripts/lib/braintrust-view.js";
import { attr, spansOf } from "../../scripts/lib/traces.js";
import { relayed } from "../support/pipeline.js";
import { attributesOf, requestOf, spanWith } from "../support/traces.js";

/** How a failed span shows its error. */
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

  it.each([
    // Said as a word of its own, first or later in the gateway's message: not said twice.
    ["400", "Provider answered 400 Bad Request: the prompt is too long", "Provider answered 400 Bad Request: the prompt is too long"],
    ["400", "400 Bad Request: the prompt is too long", "400 Bad Request: the prompt is too long"],
    // Only the start of a longer number, at the message's start too, or of a word: both show.
    ["400", "4000 tokens is the most this model takes", "400: 4000 tokens is the most this model takes"],
    ["4", "429 Too Many Requests", "4: 429 Too Many Requests"],
    // A code with more around it and a reason phrase are no status line of their own.
    ["HTTP 429", "Too Many Requests", "HTTP 429: Too Many Requests"],
    ["429 from openai-main", "Too Many Requests", "429 from openai-main: Too Many Requests"],
  ])("shows a status message %j with the gateway's %j as %j", (status, gateway, shown) => {
    const span = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.error_message", gateway)]);
    span.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: status });
    const [out] = spansOf(relayed(requestOf([span])).requests[0]!.request);

    expect(out!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: shown });
    expect(attributesOf(out!)).not.toHaveProperty("tfy.error_message");
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
    // Status UNSET: the exception event alone may be one that was handled.
    const unset = failedWith([], timedOut);
    unset.status = create(StatusSchema, { code: Status_StatusCode.UNSET });
    expect(statusOf(unset)?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
    expect(statusOf(unset)?.message ?? "").toBe("");
    expect(statusOf(failedWith([], {}))?.message).toBe("");
    expect(
      statusOf(failedWith([attr("tfy.span_type", "Model"), attr("tfy.error_message", "Provider returned 500")], timedOut))?.message,
    ).toBe("Provider returned 500");
  });
});

describe("a call failed by OpenTelemetry's error.type alone", () => {
  // The conventions set `error.type` exactly when an operation ended in error, and TrueFoundry's GenAI span
  // attributes write it beside the gateway's own: a span saying nothing else shows its class as the error.
  const typed = (type: string | number | boolean, status?: Status_StatusCode, ...more: KeyValue[]) => {
    const span = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("error.type", type), ...more]);
    if (status !== undefined) span.status = create(StatusSchema, { code: status, message: "" });
    return span;
  };
  const statusOf = (span: Span) => spansOf(relayed(requestOf([span])).requests[0]!.request)[0]!.status;

  it.each([
    ["ERROR without a message", Status_StatusCode.ERROR],
    ["not set", undefined],
  ] as const)("fails with the error's class when the status is %s, the attribute kept", (_status, code) => {
    const span = typed("rate_limit_exceeded", code);
    const [out] = spansOf(relayed(requestOf([span])).requests[0]!.request);

    expect(out!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "the call failed with error rate_limit_exceeded" });
    expect(out!.attributes).toContainEqual(attr("error.type", "rate_limit_exceeded"));
  });

  it("does so on a span that is not the gateway's too, a timed-out network call, and with a code written as a number", () => {
    const call = spanWith("POST https://api.openai.com/v1/chat/completions", [attr("error.type", "timeout")]);

    expect(statusOf(call)?.message).toBe("the call failed with error timeout");
    expect(statusOf(typed(429))?.message).toBe("the call failed with error 429");
  });

  it("says less than the status's message, the gateway's, an exception's or an HTTP status code, which win", () => {
    const withMessage = typed("500");
    withMessage.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: "provider unavailable" });
    const thrown = typed("ProviderTimeoutError", Status_StatusCode.ERROR);
    thrown.events = [create(Span_EventSchema, { name: "exception", attributes: [attr("exception.message", "timed out after 60s")] })];

    expect(statusOf(withMessage)?.message).toBe("provider unavailable");
    expect(statusOf(typed("429", undefined, attr("tfy.error_message", "Rate limit reached")))?.message).toBe("Rate limit reached");
    expect(statusOf(thrown)?.message).toBe("timed out after 60s");
    expect(statusOf(typed("503", undefined, attr("http.response.status_code", 503)))?.message).toBe("the call failed with HTTP status 503");
  });

  it("fails a server's span that answered 4xx when it says error.type: the HTTP conventions set none for a 4xx it served", () => {
    const served = Object.assign(typed("400", undefined, attr("http.response.status_code", 400)), { kind: Span_SpanKind.SERVER });

    expect(statusOf(served)).toMatchObject({ code: Status_StatusCode.ERROR, message: "the call failed with error 400" });
  });

  it("leaves a span alone whose error.type names no class: empty, spaces only, or a flag", () => {
    for (const type of ["", "  ", true, false])
      expect(statusOf(typed(type))?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
  });

  it("leaves a span alone whose status is OK: set by its developer, final, the error handled (a retry, a fallback)", () => {
    const handled = spanWith("POST https://api.openai.com/v1/chat/completions", [attr("error.type", "timeout")]);

    expect(statusOf(typed("RateLimitError", Status_StatusCode.OK))).toMatchObject({ code: Status_StatusCode.OK, message: "" });
    expect(statusOf(Object.assign(handled, { status: create(StatusSchema, { code: Status_StatusCode.OK }) }))?.code).toBe(
      Status_StatusCode.OK,
    );
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
    [
      "Bedrock's (AWS's `message` alone)",
      '{"message":"The security token included in the request is invalid."}',
      "The security token included in the request is invalid.",
    ],
    [
      "AWS's, beside its `__type`",
      '{"__type":"ThrottlingException","message":"Too many requests, please wait before trying again."}',
      "Too many requests, please wait before trying again.",
    ],
    [
      "AWS's, spelt `Message` as some services spell it",
      '{"Message":"User is not authorized to perform bedrock:InvokeModel"}',
      "User is not authorized to perform bedrock:InvokeModel",
    ],
  ])("fails with %s message, a status of ERROR without one too", (_whose, output, message) => {
    const unset = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.output", output)]);
    const failed = spanWith("Model: y", [attr("tfy.span_type", "Model"), attr("tfy.output", output)]);
    failed.status = { $typeName: "opentelemetry.proto.trace.v1.Status", code: Status_StatusCode.ERROR, message: "" };

    for (const out of spansOf(relayed(requestOf([unset, failed])).requests[0]!.request))
      expect(out.status).toMatchObject({ code: Status_StatusCode.ERROR, message });
  });

  it("puts the body's message beside a status message of ERROR that does not say it, as it does the gateway's", () => {
    const output = '{"error":{"message":"Rate limit reached for gpt-4o on tokens per min","code":"rate_limit_exceeded"}}';
    const failed = (status: string) => {
      const span = spanWith("Model: x", [attr("tfy.span_type", "Model"), attr("tfy.output", output)]);
      span.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: status });
      return span;
    };
    const [bare, saying] = spansOf(
      relayed(requestOf([failed("429"), failed("429 Rate limit reached for gpt-4o on tokens per min")])).requests[0]!.request,
    );

    expect(bare!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "429: Rate limit reached for gpt-4o on tokens per min" });
    expect(saying!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "429 Rate limit reached for gpt-4o on tokens per min" });
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
      // A message beside what an answer has, or one that is no text, is no AWS error.
      '{"id":"chat-1","message":"Hello!"}',
      '{"message":{"role":"assistant","content":"Hello!"}}',
      '{"message":"  "}',
      "{}",
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

  it("reads a tool's failure on a tool's span only: a guardrail's, model's or agent's output saying isError, or the MCP error flag, is no failure", () => {
    const output = '{"content":[{"type":"text","text":"PII found"}],"isError":true}';
    const spans = ["Guardrail", "Model", "AgentResponse"].map((type) =>
      spanWith(`${type}: x`, [
        attr("tfy.span_type", type),
        attr("tfy.output", output),
        attr("tfy.mcp_server.is_tool_call_execution_error", "true"),
        attr("tfy.mcp_server.error_code", -32603),
      ]),
    );
    for (const out of spansOf(relayed(requestOf(spans)).requests[0]!.request)) {
      expect(out.status?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
    }
  });
});

describe("an error body the span's error shows", () => {
  /** Each span, alone, as Braintrust shows it. */
  const views = (...spans: Span[]): SpanView[] =>
    braintrustView(relayed(requestOf(spans)).requests.map((r) => r.request)).traces.map((t) => t.tree);
  const openAi = '{"error":{"message":"Rate limit reached for gpt-4o","type":"rate_limit_error","code":"rate_limit_exceeded"}}';
  const call = (type: string, output: string, ...more: KeyValue[]) =>
    spanWith(`${type}: x`, [attr("tfy.span_type", type), attr("tfy.output", output), ...more]);

  it("shows its message once, as the error, not again as the output: the rest of the body shows as the answer's", () => {
    const bare = call("Model", openAi);
    bare.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: "429" });
    const shown = views(
      call("Model", openAi),
      call("ChatCompletion", openAi, attr("tfy.error_message", "Rate limit reached for gpt-4o")),
      bare,
      call("Model", '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
      call("Model", '{"message":"The security token included in the request is invalid."}'),
      call("Model", '{"error":"model \'llama3\' not found"}'),
      call("Model", '{"error":{"message":"Overloaded"}}'),
    );

    const rest = { error: { type: "rate_limit_error", code: "rate_limit_exceeded" } };
    expect(shown.map((v) => [v.error, v.output, v.metadata.response])).toEqual([
      ["Rate limit reached for gpt-4o", undefined, rest],
      ["Rate limit reached for gpt-4o", undefined, rest],
      ["429: Rate limit reached for gpt-4o", undefined, rest],
      ["Overloaded", undefined, { type: "error", error: { type: "overloaded_error" } }],
      ["The security token included in the request is invalid.", undefined, undefined],
      ["model 'llama3' not found", undefined, undefined],
      // An error that held nothing but its message leaves nothing of it.
      ["Overloaded", undefined, undefined],
    ]);
    for (const view of shown) expect(view.metadata).not.toHaveProperty("tfy.output");
  });

  it("leaves an error beside an output list in the rest, without its message, and the list the output", () => {
    const [failed] = views(
      call("AgentResponse", '{"status":"failed","error":{"code":"server_error","message":"The model failed"},"output":[]}'),
    );

    expect([failed!.error, failed!.output, failed!.metadata.response]).toEqual([
      "The model failed",
      [],
      { status: "failed", error: { code: "server_error" } },
    ]);
  });

  describe("after a gateway message that names only an HTTP status, which says that the call failed, not why", () => {
    const tooLong = "This model's maximum context length is 128000 tokens";
    const badRequest = JSON.stringify({ error: { message: tooLong, type: "invalid_request_error", param: "messages", code: null } });
    const rest = { error: { type: "invalid_request_error", param: "messages", code: null } };

    it.each([
      "400 Bad Request",
      "Bad Request",
      "400",
      "bad request",
      "Request failed with status code 400",
      "HTTP error 400: Bad Request",
      "Internal Server Error",
      "413 Payload Too Large",
      "HTTP/1.1 400 Bad Request",
      "HTTP/2 400",
      "429 Too Many Requests",
      "503 Service Unavailable",
      "422 Unprocessable Entity",
      "416 Range Not Satisfiable",
    ])("%s: both show, the gateway's first, and the body's message once", (gateway) => {
      const [failed] = views(call("Model", badRequest, attr("tfy.error_message", gateway)));

      expect([failed!.error, failed!.output, failed!.metadata.response]).toEqual([`${gateway}: ${tooLong}`, undefined, rest]);
      expect(failed!.metadata).not.toHaveProperty("tfy.error_message");
    });

    it("shows a status's message, the gateway's and the body's, each once, and a body's message that holds the gateway's alone", () => {
      const failed = (status: string, gateway: string, output: string) => {
        const span = call("ChatCompletion", output, attr("tfy.error_message", gateway));
        span.status = create(StatusSchema, { code: Status_StatusCode.ERROR, message: status });
        return span;
      };
      const holding = JSON.stringify({ error: { message: `400 Bad Request: ${tooLong}` } });
      const [bare, same, held] = views(
        failed("400", "Bad Request", badRequest),
        failed("400 Bad Request", "400 Bad Request", badRequest),
        call("Model", holding, attr("tfy.error_message", "400 Bad Request")),
      );

      expect([bare!.error, same!.error, held!.error]).toEqual([
        `400 Bad Request: ${tooLong}`,
        `400 Bad Request: ${tooLong}`,
        `400 Bad Request: ${tooLong}`,
      ]);
      for (const view of [bare, same, held]) expect(view!.output).toBeUndefined();
    });

    it.each([
      "upstream timed out",
      "400 Bad Request: the prompt is too long",
      "Model not found",
      "Rate limit exceeded",
      "请求参数错误",
      "Превышен лимит контекста",
      "—",
    ])("%s says more: it stays the error, and the body the output", (gateway) => {
      const [failed] = views(call("Model", badRequest, attr("tfy.error_message", gateway)));

      expect(failed!.error).toBe(gateway);
      expect(failed!.output).toEqual(JSON.parse(badRequest));
    });
  });

  it("stays the output when the span's error says something else: the gateway's own message", () => {
    const [other] = views(call("Model", openAi, attr("tfy.error_message", "upstream timed out")));

    expect(other!.error).toBe("upstream timed out");
    expect(other!.output).toEqual(JSON.parse(openAi));
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

  it("fails a call answered with an HTTP error whose status is OK, as an exporter marking every span it ended OK sends it", () => {
    const marked = Object.assign(call(429), { status: create(StatusSchema, { code: Status_StatusCode.OK }) });
    const [out] = spansOf(relayed(requestOf([marked])).requests[0]!.request);

    expect(out!.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "the call failed with HTTP status 429" });
  });

  it("leaves a call alone that succeeded, or whose code is no HTTP status", () => {
    for (const code of [200, 204, 304, 399, 600, -500, 429.5, "429 Too Many Requests"]) {
      const [out] = spansOf(relayed(requestOf([call(code)])).requests[0]!.request);
      expect(out!.status?.code ?? Status_StatusCode.UNSET).toBe(Status_StatusCode.UNSET);
    }
  });
});
