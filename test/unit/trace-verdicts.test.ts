import { describe, expect, it, vi } from "vitest";
import { type Span, Span_SpanKind } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { tenantRecord } from "../../scripts/lib/tenants.js";
import { attr, randomId, toProtobuf } from "../../scripts/lib/traces.js";
import { SpanProcessor } from "../../src/process/process-spans.js";
import { readSpans } from "../../src/receive/read-spans.js";
import { allAtOnce } from "../../src/receive/turns.js";
import { requestOf, spanWith } from "../support/traces.js";

const ROUTED = { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:evals" };

/** What one request's spans say of each trace (in order of first appearance), for a tenant with one route. */
function verdicts(spans: Span[], settings: Record<string, unknown> = {}, apiKey?: string) {
  const bytes = toProtobuf(requestOf(spans));
  const processor = new SpanProcessor(
    tenantRecord({ parent: "project_name:default", translate: false, routes: [ROUTED], ...settings }),
    bytes,
    false,
    apiKey,
  );
  const read = allAtOnce(readSpans(bytes, "protobuf", (incoming) => processor.add(incoming)));
  const byTrace = processor.finishByTrace(read.leftOut);
  return byTrace?.traces.map((t) => ({ parent: t.parent, decided: t.decided, spans: byTrace.traceOf.filter((of) => of === t).length }));
}

const entry = (type: string, options: { traceId: Uint8Array; parentSpanId?: Uint8Array }, attributes = [attr("tfy.span_type", type)]) =>
  spanWith(type, attributes, options);

describe("what one request's spans decide about their trace", () => {
  const traceId = randomId(16);
  const top = entry("ChatCompletion", { traceId });
  const model = entry("Model", { traceId, parentSpanId: top.spanId });

  it("children alone decide nothing: their top span, which ends last, may still carry what routes the trace", () => {
    expect(verdicts([model])).toEqual([{ parent: "project_name:default", decided: false, spans: 1 }]);
  });

  it("a match of the first route decides, wherever in the trace it matched: nothing could come ahead of it", () => {
    const routedChild = entry("Model", { traceId, parentSpanId: top.spanId }, [attr("tfy.request.metadata", '{"env":"eval"}')]);
    expect(verdicts([routedChild])).toEqual([{ parent: "experiment_id:evals", decided: true, spans: 1 }]);
  });

  it("a child's match of a later route, or of the first when a braintrust.parent may come ahead of it, names a candidate only", () => {
    const routedChild = entry("Model", { traceId, parentSpanId: top.spanId }, [attr("tfy.request.metadata", '{"env":"eval"}')]);
    const second = { routes: [{ match: { field: "span_name", equals: "never" }, parent: "project_name:first" }, ROUTED] };
    expect(verdicts([routedChild], second)).toEqual([{ parent: "experiment_id:evals", decided: false, spans: 1 }]);
    expect(verdicts([routedChild], { parent_from_attribute: true })).toEqual([{ parent: "experiment_id:evals", decided: false, spans: 1 }]);
    // With the top span, the request decides; its object still weighs what earlier requests named.
    expect(verdicts([routedChild, top], second)).toEqual([{ parent: "experiment_id:evals", decided: true, spans: 2 }]);
  });

  it("the top span decides: with nothing matched, the default parent", () => {
    expect(verdicts([model, top])).toEqual([{ parent: "project_name:default", decided: true, spans: 2 }]);
  });

  it("a span sent with a parent of zeros is the top, of whatever type: a parent of zeros is none", () => {
    const converted = randomId(16);
    const root = entry("HTTP GET", { traceId: converted, parentSpanId: new Uint8Array(8) }, []);
    const child = entry("Model", { traceId: converted, parentSpanId: root.spanId });
    expect(verdicts([child, root])).toEqual([{ parent: "project_name:default", decided: true, spans: 2 }]);
  });

  it("a gateway request span whose parent is not in the request is the top (the caller's traceparent continued)", () => {
    const callerTrace = randomId(16);
    for (const type of ["ChatCompletion", "Completion", "Embedding", "Rerank", "AgentResponse"])
      expect(verdicts([entry(type, { traceId: callerTrace, parentSpanId: randomId(8) })]), type).toEqual([
        { parent: "project_name:default", decided: true, spans: 1 },
      ]);
    // A direct call to the gateway's MCP endpoint: a request the gateway received.
    const direct = { ...entry("MCP", { traceId: callerTrace, parentSpanId: randomId(8) }), kind: Span_SpanKind.SERVER };
    expect(verdicts([direct])).toEqual([{ parent: "project_name:default", decided: true, spans: 1 }]);
  });

  it("the older gateway's chatCompletions span whose parent is not in the request is the top; another GenAI span is not", () => {
    const older = (name: string) =>
      entry(name, { traceId: randomId(16), parentSpanId: randomId(8) }, [attr("gen_ai.request.model", "openai-main/gpt-4o")]);
    expect(verdicts([older("chatCompletions")])).toEqual([{ parent: "project_name:default", decided: true, spans: 1 }]);
    expect(verdicts([older("openai.chat")])).toEqual([{ parent: "project_name:default", decided: false, spans: 1 }]);
  });

  it("an entry span under a span of the same request is not the top; a non-entry span with a foreign parent never is", () => {
    const agentTrace = randomId(16);
    const agent = entry("AgentResponse", { traceId: agentTrace });
    const step = entry("Model", { traceId: agentTrace, parentSpanId: agent.spanId });
    const mcp = entry("MCP", { traceId: agentTrace, parentSpanId: step.spanId });
    expect(verdicts([mcp, step, entry("Guardrail", { traceId: agentTrace, parentSpanId: randomId(8) })])).toEqual([
      { parent: "project_name:default", decided: false, spans: 3 },
    ]);
  });

  it("a continued caller's agent with its MCP call in one request: the agent's foreign parent makes it the top", () => {
    const callerTrace = randomId(16);
    const agent = entry("AgentResponse", { traceId: callerTrace, parentSpanId: randomId(8) });
    const mcp = entry("MCP", { traceId: callerTrace, parentSpanId: agent.spanId });
    expect(verdicts([mcp, agent])).toEqual([{ parent: "project_name:default", decided: true, spans: 2 }]);
  });

  it("an agent's MCP call exported before the agent's span decides nothing: the agent's span, which carries the request metadata, comes later", () => {
    const agentTrace = randomId(16);
    const agent = entry("AgentResponse", { traceId: agentTrace });
    expect(verdicts([entry("MCP", { traceId: agentTrace, parentSpanId: agent.spanId })])).toEqual([
      { parent: "project_name:default", decided: false, spans: 1 },
    ]);
  });

  it("a valid braintrust.parent decides when the tenant allows it", () => {
    const carrying = entry("Model", { traceId, parentSpanId: top.spanId }, [attr("braintrust.parent", "project_id:p-1")]);
    expect(verdicts([carrying], { routes: [], parent_from_attribute: true })).toEqual([
      { parent: "project_id:p-1", decided: true, spans: 1 },
    ]);
  });

  it("the first valid braintrust.parent among a trace's spans decides, not a later span's", () => {
    const first = entry("Model", { traceId, parentSpanId: top.spanId }, [attr("braintrust.parent", "project_id:first")]);
    const later = entry("Model", { traceId, parentSpanId: top.spanId }, [attr("braintrust.parent", "project_id:later")]);
    expect(verdicts([first, later], { routes: [], parent_from_attribute: true })).toEqual([
      { parent: "project_id:first", decided: true, spans: 2 },
    ]);
  });

  it("a braintrust.parent holding the Braintrust key the spans go with is ignored, unless the key is as short as caller text repeated whatever it holds", () => {
    const apiKey = "sk-a-braintrust-key-of-some-length";
    const carrying = (parent: string) => entry("Model", { traceId, parentSpanId: top.spanId }, [attr("braintrust.parent", parent)]);
    const settings = { routes: [], parent_from_attribute: true };

    expect(verdicts([carrying(`project_name:${apiKey}`)], settings, apiKey)).toEqual([
      { parent: "project_name:default", decided: false, spans: 1 },
    ]);
    expect(verdicts([carrying("project_name:mine")], settings, apiKey)).toEqual([{ parent: "project_name:mine", decided: true, spans: 1 }]);
    // 24 characters: found in any text, such a key says nothing.
    const short = apiKey.slice(0, 24);
    expect(verdicts([carrying(`project_name:${short}`)], settings, short)).toEqual([
      { parent: `project_name:${short}`, decided: true, spans: 1 },
    ]);
  });

  it("a gateway request span with a foreign parent is the top beside another under a span of the request", () => {
    const callerTrace = randomId(16);
    const agent = entry("AgentResponse", { traceId: callerTrace, parentSpanId: randomId(8) });
    const nested = entry("AgentResponse", { traceId: callerTrace, parentSpanId: agent.spanId });
    expect(verdicts([nested, agent])).toEqual([{ parent: "project_name:default", decided: true, spans: 2 }]);
  });

  it("a tenant that does not route gets no traces to settle", () => {
    expect(verdicts([model], { routes: [] })).toBeUndefined();
  });
});

describe("the cost of routing on a resource's attributes", () => {
  it("reads a resource's value once per request, not once for each of its spans: one JSON parse for 3,000 spans", () => {
    const held = JSON.stringify({ owner: "billing", pad: "x".repeat(100_000) });
    const request = requestOf(Array.from({ length: 3_000 }, () => spanWith("s", [])));
    request.resourceSpans[0]!.resource!.attributes.push(attr("team", held));
    const bytes = toProtobuf(request);
    const routes = [
      { match: { field: "resource.team.owner", equals: "search" }, parent: "project_name:search" },
      { match: { field: "resource.team.owner", equals: "billing" }, parent: "project_name:billing" },
    ];
    const processor = new SpanProcessor(tenantRecord({ parent: "project_name:default", translate: false, routes }), bytes);
    const parse = vi.spyOn(JSON, "parse");

    const read = allAtOnce(readSpans(bytes, "protobuf", (incoming) => processor.add(incoming)));
    const byTrace = processor.finishByTrace(read.leftOut);
    const parsesOfHeld = parse.mock.calls.filter(([text]) => text === held).length;
    parse.mockRestore();

    expect(parsesOfHeld).toBe(1);
    expect(new Set(byTrace?.traces.map((t) => t.parent))).toEqual(new Set(["project_name:billing"]));
  });
});
