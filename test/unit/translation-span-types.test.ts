import { describe, expect, it } from "vitest";
import { type Span, Span_SpanKind } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, randomId, spansOf } from "../../scripts/lib/traces.js";
import { hex } from "../../src/encoding/bytes.js";
import { relayed } from "../support/pipeline.js";
import { requestOf, spanWith } from "../support/traces.js";
import { translated } from "../support/translation.js";

/** How a span is typed: only the model call is an LLM span, a trace's root a task. */
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
    // Of kind SERVER, only an MCP span is a request of its own.
    const guardrail = continued("Guardrail").sent;
    guardrail[1]!.kind = Span_SpanKind.SERVER;
    expect(parentsOf(guardrail)["Guardrail: x"]).toBe(callerOf(guardrail));
    const plain = continued().sent;
    expect(parentsOf(plain, { keep_caller_parent: true })["ChatCompletion: x"]).toBe(callerOf(plain));
    expect(parentsOf(plain, { translate: false })["ChatCompletion: x"]).toBe(callerOf(plain));
  });
});
