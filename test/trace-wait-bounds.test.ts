import { describe, expect, it } from "vitest";
import type { Span } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, randomId, toProtobuf } from "../scripts/lib/traces.js";
import {
  MAX_SPANLESS_TRACES_PER_OBJECT,
  MAX_WAITING_BYTES_PER_OBJECT,
  MAX_WAITING_BYTES_PER_TRACE,
  MAX_WAITING_SPANS_PER_OBJECT,
  MAX_WAITING_SPANS_PER_TRACE,
} from "../src/deliver/trace-wait-limits.js";
import { hex } from "../src/encoding/bytes.js";
import { loggedWhile } from "./support/logs.js";
import { admin, sendTraces, sendTracesWith, type TestTenant } from "./support/relay.js";
import { EVAL_ROUTE, gatewayTrace, ids, routingTenant, viewsOnceArrived, waitingSpans } from "./support/routing.js";
import { standin } from "./support/standin.js";
import { requestOf, spanWith } from "./support/traces.js";

/**
 * What may wait for a trace's decision is bounded, per trace and per trace-routes object, so that
 * one tenant's undecided traces cannot fill an object's storage or a call's 32 MiB. Spans past a
 * bound do not wait: their trace is decided then by what is known, and the line says so.
 */

const CHILD_ROUTE = { match: { field: "span_name", prefix: "Model:" }, parent: "project_name:models" };

/** `count` guardrail spans under the trace's top span. */
function guardrails(trace: ReturnType<typeof gatewayTrace>, count: number, label = "Guardrail") {
  return Array.from({ length: count }, (_, i) =>
    spanWith(`${label} ${i}`, [attr("tfy.span_type", "Guardrail")], { traceId: trace.traceId, parentSpanId: trace.top.spanId }),
  );
}

/** Sends the spans, answered 200, and gives the trace_decided_early lines the request wrote for the tenant. */
async function decidedEarlyWhileSending(tenant: TestTenant, spans: Span[]) {
  const { result: response, events } = await loggedWhile(() => sendTraces(tenant, toProtobuf(requestOf(spans))));
  expect(response.status).toBe(200);
  return events.filter((e) => e.event === "trace_decided_early" && e.tenant === tenant.id);
}

describe.concurrent("bounds on what waits for a trace's decision", () => {
  it("a trace with more spans than may wait is decided by what is known, the default parent, and later spans follow it", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const many = guardrails(trace, MAX_WAITING_SPANS_PER_TRACE + 1);

    expect(await decidedEarlyWhileSending(tenant, many)).toEqual([
      {
        event: "trace_decided_early",
        tenant: tenant.id,
        trace: hex(trace.traceId),
        parent: "project_name:default",
        spans: many.length,
        reason: `over ${MAX_WAITING_SPANS_PER_TRACE} of its spans would wait`,
      },
    ]);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    // With an hour's wait, arriving at all means nothing waited; the whole trace is in one place.
    expect(await viewsOnceArrived(tenant, [...many, trace.top])).toEqual({
      "project_name:default": { traces: [{ root: trace.top.name, spans: many.length + 1 }], unlisted: 0 },
    });
  });

  it("one request's parts in one object wait up to what the object may hold, within Workers RPC's 32 MiB; the parts past it are decided by the default parent", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    // 19 traces of one shard, a 1.8 MB part each: 34.2 MB of waiting spans in one call, were they all to wait.
    const children = Array.from({ length: 19 }, (_, i) => {
      const traceId = randomId(16);
      traceId[15] = 0xa0;
      return spanWith(`Guardrail ${i}`, [attr("tfy.span_type", "Guardrail"), attr("tfy.output", "x".repeat(1_800_000))], {
        traceId,
        parentSpanId: randomId(8),
      });
    });
    const lifted = { MAX_REQUEST_BYTES: String(64 * 1024 * 1024), MAX_DECOMPRESSED_BYTES: String(64 * 1024 * 1024) };

    expect((await sendTracesWith(tenant, toProtobuf(requestOf(children)), lifted as Partial<Env>)).status).toBe(200);

    expect(await waitingSpans(tenant.id)).toBe(17);
    const decided = children.slice(17);
    expect(await viewsOnceArrived(tenant, decided)).toEqual({ "project_name:default": { traces: [], unlisted: decided.length } });
  });

  it("one request's parts across all its objects wait up to what one object may hold in all: a large resource is not copied once a trace past it", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    // 640 undecided traces over the 16 objects under one 100 KB resource: 64 MB of parts, were each to wait with its copy.
    const children = Array.from({ length: 640 }, (_, i) => {
      const traceId = randomId(16);
      traceId[15] = i % 16;
      return spanWith(`Guardrail ${i}`, [attr("tfy.span_type", "Guardrail")], { traceId, parentSpanId: randomId(8) });
    });
    const request = requestOf(children);
    request.resourceSpans[0]!.resource!.attributes.push(attr("k8s.pod.annotations", "a".repeat(100_000)));
    const body = toProtobuf(request);
    expect(body.byteLength).toBeLessThan(200_000);

    const { result: response, events } = await loggedWhile(() => sendTraces(tenant, body));
    expect(response.status).toBe(200);

    const waiting = (await (await admin("GET", `/tenants/${tenant.id}/waiting-traces`)).json()) as { spans: number; bytes: number };
    expect(waiting.bytes).toBeLessThanOrEqual(MAX_WAITING_BYTES_PER_OBJECT);
    expect(waiting.spans).toBeGreaterThan(0);
    // The rest were decided by the default parent at once: every span waits or arrives, once.
    const sent = new Set(ids(children));
    // As long as a delivery may take on a busy machine: an attempt that times out is queued and sent again.
    await expect
      .poll(
        async () => {
          const arrived = (await standin.spans(tenant.apiKey)).map((span) => hex(span.spanId));
          return { arrived: arrived.length, all: arrived.every((id) => sent.has(id)), once: new Set(arrived).size === arrived.length };
        },
        { timeout: 30_000, interval: 200 },
      )
      .toEqual({ arrived: children.length - waiting.spans, all: true, once: true });
    // Each trace decided before it could wait is said, with the bound it met.
    const early = events.filter((e) => e.event === "trace_decided_early" && e.tenant === tenant.id);
    expect(early).toHaveLength(children.length - waiting.spans);
    expect(early[0]).toMatchObject({
      parent: "project_name:default",
      spans: 1,
      reason: "the request's parts to wait are over 32000000 bytes in all",
    });
  });

  it("a trace whose parts, each under the bound, pass it together is decided then by the best route its waiting spans matched", async () => {
    const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "prod" });
    const more = guardrails(trace, MAX_WAITING_SPANS_PER_TRACE - 1);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect(await waitingSpans(tenant.id)).toBe(3);

    expect(await decidedEarlyWhileSending(tenant, more)).toEqual([
      {
        event: "trace_decided_early",
        tenant: tenant.id,
        trace: hex(trace.traceId),
        parent: "project_name:models",
        spans: more.length,
        reason: `over ${MAX_WAITING_SPANS_PER_TRACE} of its spans would wait`,
      },
    ]);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, [...trace.all, ...more])).toEqual({
      "project_name:models": { traces: [{ root: trace.top.name, spans: trace.all.length + more.length }], unlisted: 0 },
    });
  });

  // One second for all: traces made across a second's turn would start with two.
  const startedAt = Math.floor(Date.now() / 1000);
  it.each([
    // Datadog's 128-bit ids and AWS X-Ray's: the Unix time in seconds in the first 4 bytes.
    ["the time first (Datadog, AWS X-Ray)", (id: Uint8Array) => new DataView(id.buffer, id.byteOffset).setUint32(0, startedAt)],
    // 64-bit ids (Zipkin B3, older Jaeger clients) as OTLP carries them: zeros first.
    ["64 bits padded with zeros (Zipkin, Jaeger)", (id: Uint8Array) => id.fill(0, 0, 8)],
  ])(
    "spreads a tenant's traces over its objects when their ids start alike, %s: more spans than one object holds still wait",
    async (_, shape) => {
      const tenant = await routingTenant({ trace_wait_seconds: 3600 });
      const inFlight = Array.from({ length: Math.ceil((MAX_WAITING_SPANS_PER_OBJECT + 1) / 3) }, () => {
        const trace = gatewayTrace({ env: "eval" });
        shape(trace.traceId);
        return trace;
      });
      expect(new Set(inFlight.map((t) => hex(t.traceId).slice(0, 8))).size).toBe(1);
      for (let i = 0; i < inFlight.length; i += 600) {
        expect(
          await decidedEarlyWhileSending(
            tenant,
            inFlight.slice(i, i + 600).flatMap((t) => t.children),
          ),
        ).toEqual([]);
      }
      const trace = gatewayTrace({ env: "eval" });
      shape(trace.traceId);
      expect(await decidedEarlyWhileSending(tenant, trace.children)).toEqual([]);
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
        "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
      });
      expect(await waitingSpans(tenant.id)).toBe(inFlight.length * 3);
    },
  );

  it("traces of one object wait up to the spans the object may hold; a trace past it is decided then, and the others still wait", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const perTrace = MAX_WAITING_SPANS_PER_TRACE - 1;
    const fitting = Math.floor(MAX_WAITING_SPANS_PER_OBJECT / perTrace);
    // Traces of one shard, so of one object, each just under the bound per trace.
    const traces = Array.from({ length: fitting + 1 }, () => {
      const trace = gatewayTrace({ env: "eval" });
      trace.traceId[15] = 0xc5;
      return { trace, spans: guardrails(trace, perTrace) };
    });
    for (const { spans } of traces.slice(0, fitting)) expect((await sendTraces(tenant, toProtobuf(requestOf(spans)))).status).toBe(200);
    expect(await waitingSpans(tenant.id)).toBe(fitting * perTrace);

    const last = traces.at(-1)!;
    expect(await decidedEarlyWhileSending(tenant, last.spans)).toEqual([
      {
        event: "trace_decided_early",
        tenant: tenant.id,
        trace: hex(last.trace.traceId),
        parent: "project_name:default",
        spans: perTrace,
        reason: `over ${MAX_WAITING_SPANS_PER_OBJECT} spans would wait in its object, its tenant's traces of one sixteenth`,
      },
    ]);
    expect(await waitingSpans(tenant.id)).toBe(fitting * perTrace);
    expect(await viewsOnceArrived(tenant, last.spans)).toEqual({ "project_name:default": { traces: [], unlisted: perTrace } });
  });

  it("traces whose spans were all dropped wait for the route they named up to 5,000 per object; one more is decided then by it, and its later spans follow", async () => {
    const anthropic = { match: { field: "span_name", prefix: "POST https://api.anthropic.com/" }, parent: "project_name:anthropic" };
    const tenant = await routingTenant({ drop_non_ai_spans: true, routes: [EVAL_ROUTE, anthropic], trace_wait_seconds: 3600 });
    // A provider call under a span never sent, each its own trace of one shard: dropped, not about AI, but naming a route.
    const providerCall = () => {
      const traceId = randomId(16);
      traceId[15] = 0xd7;
      return spanWith("POST https://api.anthropic.com/v1/messages", [], { traceId, parentSpanId: randomId(8) });
    };
    const fitting = Array.from({ length: MAX_SPANLESS_TRACES_PER_OBJECT }, providerCall);
    expect(await decidedEarlyWhileSending(tenant, fitting)).toEqual([]);

    const past = providerCall();
    expect(await decidedEarlyWhileSending(tenant, [past])).toEqual([
      {
        event: "trace_decided_early",
        tenant: tenant.id,
        trace: hex(past.traceId),
        parent: anthropic.parent,
        spans: 0,
        reason: `over ${MAX_SPANLESS_TRACES_PER_OBJECT} traces whose spans were all dropped would wait in its object`,
      },
    ]);
    // With an hour's wait, arriving at all means its trace was decided.
    const model = spanWith("Model: claude", [attr("gen_ai.system", "anthropic")], { traceId: past.traceId, parentSpanId: randomId(8) });
    expect((await sendTraces(tenant, toProtobuf(requestOf([model])))).status).toBe(200);
    expect(await viewsOnceArrived(tenant, [model])).toEqual({ [anthropic.parent]: { traces: [], unlisted: 1 } });
    expect(await waitingSpans(tenant.id)).toBe(0);
  });

  it("a trace with exactly as many spans as may wait waits whole, and goes with its top span", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const most = guardrails(trace, MAX_WAITING_SPANS_PER_TRACE);

    expect(await decidedEarlyWhileSending(tenant, most)).toEqual([]);
    expect(await waitingSpans(tenant.id)).toBe(MAX_WAITING_SPANS_PER_TRACE);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, [...most, trace.top])).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: most.length + 1 }], unlisted: 0 },
    });
  });

  it("a trace whose parts, each under the bound on bytes, pass it together is decided then by the default parent, and its later spans follow", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    // Five parts of 1.8 MB, each fitting a row: four wait (7.2 MB), the fifth would take the trace past 8 MB.
    const parts = Array.from({ length: 5 }, (_, i) =>
      spanWith(`Guardrail ${i}`, [attr("tfy.span_type", "Guardrail"), attr("tfy.output", "x".repeat(1_800_000))], {
        traceId: trace.traceId,
        parentSpanId: trace.top.spanId,
      }),
    );
    for (const part of parts.slice(0, 4)) expect(await decidedEarlyWhileSending(tenant, [part])).toEqual([]);
    expect(await waitingSpans(tenant.id)).toBe(4);

    expect(await decidedEarlyWhileSending(tenant, [parts[4]!])).toEqual([
      {
        event: "trace_decided_early",
        tenant: tenant.id,
        trace: hex(trace.traceId),
        parent: "project_name:default",
        spans: 1,
        reason: `over ${MAX_WAITING_BYTES_PER_TRACE} bytes of it would wait`,
      },
    ]);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, [...parts, trace.top])).toEqual({
      "project_name:default": { traces: [{ root: trace.top.name, spans: parts.length + 1 }], unlisted: 0 },
    });
  });
});
