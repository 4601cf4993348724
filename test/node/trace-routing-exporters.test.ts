import { type Context, ROOT_CONTEXT, type Span, SpanKind, TraceFlags, trace } from "@opentelemetry/api";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { adminCall, type RelayProcess, startRelay } from "../../scripts/lib/wrangler-dev.js";
import { standinClient } from "../standin/client.js";
import { viewsByParent } from "../support/parent-views.js";

/**
 * Issue 13's proof: a trace whose spans TrueFoundry exports in several requests, each through its
 * own exporter (its own connection), reaches Braintrust whole at one parent. Real OpenTelemetry
 * SDK and exporters, the relay under wrangler dev with its Durable Objects, queue and alarms.
 */
const standin = standinClient(inject("standinUrl"));
let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelay();
});

afterAll(async () => {
  await relay?.stop();
});

const EVAL_ROUTE = { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:exp-eval" };

interface GatewayTrace {
  top: ReadableSpan;
  /** Guardrail, provider call, model call: they end, so are exported, before the top span. */
  children: ReadableSpan[];
  all: ReadableSpan[];
}

/** One gateway chat completion recorded with the real SDK; `callerParent`: the caller's span the gateway continued (W3C traceparent). */
function recordTrace(env: string, options: { callerParent?: boolean } = {}): GatewayTrace {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": "tfy-llm-gateway" }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer("tfy-llm-gateway", "1.2.3");
  const caller = options.callerParent
    ? trace.setSpanContext(ROOT_CONTEXT, { traceId: hexId(16), spanId: hexId(8), traceFlags: TraceFlags.SAMPLED, isRemote: true })
    : ROOT_CONTEXT;
  const top = tracer.startSpan(
    "ChatCompletion: openai/gpt-4.1-mini",
    { kind: SpanKind.SERVER, attributes: { "tfy.span_type": "ChatCompletion", "tfy.request.metadata": JSON.stringify({ env }) } },
    caller,
  );
  const under = (parent: Span) => trace.setSpan(ROOT_CONTEXT, parent) as Context;
  const guardrail = tracer.startSpan("Guardrail: pii", { attributes: { "tfy.span_type": "Guardrail" } }, under(top));
  guardrail.end();
  const model = tracer.startSpan("Model: gpt-4.1-mini", { attributes: { "tfy.span_type": "Model" } }, under(top));
  tracer.startSpan("POST https://api.openai.com/v1/chat/completions", { kind: SpanKind.CLIENT }, under(model)).end();
  model.end();
  top.end();
  const all = memory.getFinishedSpans();
  return { top: all.at(-1)!, children: all.slice(0, -1), all };
}

function hexId(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

/** Each export through a new exporter: a connection of its own, as separate gateway batches would be. */
function exportSpans(tenant: { id: string; token: string }, spans: ReadableSpan[]): Promise<ExportResult> {
  const exporter = new OTLPTraceExporter({
    url: `${relay.url}/t/${tenant.id}/v1/traces`,
    headers: { Authorization: `Bearer ${tenant.token}` },
  });
  return new Promise((resolve) => exporter.export(spans, resolve)).finally(() => exporter.shutdown()) as Promise<ExportResult>;
}

let tenants = 0;
async function routingTenant(config: Record<string, unknown>): Promise<{ id: string; token: string; apiKey: string }> {
  const apiKey = await standin.issueKey();
  const id = `e2e-traces-${++tenants}`;
  const created = await adminCall(relay, "PUT", `/tenants/${id}`, {
    parent: "project_name:default",
    braintrust: { api_url: standin.url, api_key: apiKey },
    translate: false,
    routes: [EVAL_ROUTE],
    ...config,
  });
  expect(created.status).toBe(201);
  const { token } = (await (await adminCall(relay, "POST", `/tenants/${id}/tokens`)).json()) as { token: string };
  return { id, token, apiKey };
}

async function viewsOnceArrived(apiKey: string, spans: ReadableSpan[]) {
  const arrival = await standin.waitForSpans(
    apiKey,
    spans.map((s) => s.spanContext().spanId),
    60_000,
  );
  expect(arrival.missing).toEqual([]);
  expect(arrival.duplicates).toBe(0);
  return viewsByParent(arrival.requests);
}

const SUCCESS = { code: ExportResultCode.SUCCESS };

describe("a trace split across exports reaches Braintrust whole, at one parent", () => {
  it("children exported first, the top span with the routed metadata later on another connection: one whole trace in the experiment", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const recorded = recordTrace("eval");

    expect(await exportSpans(tenant, recorded.children)).toEqual(SUCCESS);
    expect(await exportSpans(tenant, [recorded.top])).toEqual(SUCCESS);

    expect(await viewsOnceArrived(tenant.apiKey, recorded.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: recorded.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("the top span never comes: every span at the default parent once the wait is over, none elsewhere", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 2 });
    const recorded = recordTrace("eval");

    expect(await exportSpans(tenant, recorded.children)).toEqual(SUCCESS);

    // Rootless, so hidden from Logs as Braintrust hides such spans; but in one place, not split.
    expect(await viewsOnceArrived(tenant.apiKey, recorded.children)).toEqual({ "project_name:default": { traces: [], unlisted: 3 } });
  });

  it("a span exported after the trace was decided follows the decision", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const recorded = recordTrace("eval");
    const [guardrail, ...rest] = recorded.children;

    expect(await exportSpans(tenant, [guardrail!, recorded.top])).toEqual(SUCCESS);
    expect(await exportSpans(tenant, rest)).toEqual(SUCCESS);

    expect(await viewsOnceArrived(tenant.apiKey, recorded.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: recorded.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("two exports of one trace at once, then the top span: all at the routed parent", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const recorded = recordTrace("eval");
    const [guardrail, ...rest] = recorded.children;

    expect(await Promise.all([exportSpans(tenant, [guardrail!]), exportSpans(tenant, rest)])).toEqual([SUCCESS, SUCCESS]);
    expect(await exportSpans(tenant, [recorded.top])).toEqual(SUCCESS);

    expect(await viewsOnceArrived(tenant.apiKey, recorded.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: recorded.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a gateway top span continuing the caller's trace (a parent never sent) is the top: its waiting children go with it at once", async () => {
    // An hour's wait: had the top span not been recognised, nothing would arrive within the test.
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const recorded = recordTrace("prod", { callerParent: true });

    expect(await exportSpans(tenant, recorded.children)).toEqual(SUCCESS);
    expect(await exportSpans(tenant, [recorded.top])).toEqual(SUCCESS);

    // The caller's own span is never sent, so Braintrust hides the trace whatever the relay does; it is whole, in one place.
    expect(await viewsOnceArrived(tenant.apiKey, recorded.all)).toEqual({ "project_name:default": { traces: [], unlisted: 4 } });
  });
});
