import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attr, toProtobuf } from "../scripts/lib/traces.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { traceRoutesObject } from "../src/deliver/trace-route-shards.js";
import { failingBinding, recordingQueue } from "./support/bindings.js";
import { loggedWhile } from "./support/logs.js";
import { admin, sendTraces, withObjectBindings } from "./support/relay.js";
import {
  alarmIn,
  gatewayTrace,
  ids,
  putWithoutRoutes,
  routingTenant,
  traceRoutesOf,
  viewsOnceArrived,
  waitingSpans,
} from "./support/routing.js";
import { standin } from "./support/standin.js";
import { requestOf, spanWith } from "./support/traces.js";

describe.concurrent("a decided trace's waiting spans, handed to the queue and counted", () => {
  it("hands the waiting parts of many decided traces to the queue in a few sends, not one awaited send a part", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const traces = Array.from({ length: 100 }, () => {
      const trace = gatewayTrace({ env: "eval" });
      trace.traceId[15] = 0x03;
      return trace;
    });
    const object = traceRoutesObject(env, tenant, "3");
    expect(await sendTraces(tenant, toProtobuf(requestOf(traces.flatMap((t) => t.children))))).toMatchObject({ status: 200 });
    const queue = recordingQueue(env.DELIVERY_QUEUE);
    await withObjectBindings(object, { DELIVERY_QUEUE: queue });

    expect(await sendTraces(tenant, toProtobuf(requestOf(traces.map((t) => t.top))))).toMatchObject({ status: 200 });

    const arrival = await standin.waitForSpans(tenant.apiKey, ids(traces.flatMap((t) => t.all)));
    await withObjectBindings(object, {});
    expect(arrival.missing).toEqual([]);
    // 100 parts, read 50 at a time, each 50 in as few sends as the queue's limits on a send allow.
    expect(queue.batches.reduce((sum, n) => sum + n, 0)).toBe(100);
    expect(queue.batches.length).toBeLessThanOrEqual(4);
  });

  it("a queue that takes one send of decided parts and refuses the next: the parts it took leave, the rest wait and go later, each once", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const traces = Array.from({ length: 100 }, () => {
      const trace = gatewayTrace({ env: "eval" });
      trace.traceId[15] = 0x04;
      return trace;
    });
    const object = traceRoutesObject(env, tenant, "4");
    expect(await sendTraces(tenant, toProtobuf(requestOf(traces.flatMap((t) => t.children))))).toMatchObject({ status: 200 });
    let sends = 0;
    await withObjectBindings(object, {
      DELIVERY_QUEUE: failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: 503", () => ++sends > 1),
    });

    await loggedWhile(async () => {
      expect(await sendTraces(tenant, toProtobuf(requestOf(traces.map((t) => t.top))))).toMatchObject({ status: 200 });
      await runDurableObjectAlarm(object);
    });

    const waiting = await waitingSpans(tenant.id);
    expect(waiting).toBeGreaterThan(0);
    expect(waiting).toBeLessThan(300);
    expect(waiting % 3).toBe(0);
    await withObjectBindings(object, {});
    await runDurableObjectAlarm(object);
    const arrival = await standin.waitForSpans(tenant.apiKey, ids(traces.flatMap((t) => t.all)));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect(await waitingSpans(tenant.id)).toBe(0);
  });

  it("a decided part whose payload R2 cannot store waits; the parts read before it in the same batch still go", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const small = gatewayTrace({ env: "eval" });
    const big = gatewayTrace({ env: "eval" });
    // The same object, the big part after the small one's; too large for a queue message, so its payload goes to R2.
    big.top.traceId[15] = small.traceId[15]!;
    for (const span of big.children) span.traceId = big.top.traceId;
    big.children[2]!.attributes.push(attr("note", "x".repeat(200_000)));
    const object = traceRoutesOf(tenant, small.traceId);
    expect((await sendTraces(tenant, toProtobuf(requestOf(small.children)))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf(big.children)))).status).toBe(200);
    expect(await waitingSpans(tenant.id)).toBe(6);
    await withObjectBindings(object, { PAYLOADS: failingBinding(env.PAYLOADS, "put", "R2 put failed: 503") });

    await loggedWhile(async () => {
      expect((await sendTraces(tenant, toProtobuf(requestOf([small.top, big.top])))).status).toBe(200);
      await runDurableObjectAlarm(object);
    });

    expect(await waitingSpans(tenant.id)).toBe(3);
    // Tried again in 30 s, with no other request needed.
    expect(await alarmIn(object)).toBeGreaterThan(10_000);
    expect(await alarmIn(object)).toBeLessThanOrEqual(30_000);
    await withObjectBindings(object, {});
    await runDurableObjectAlarm(object);
    expect((await standin.waitForSpans(tenant.apiKey, ids([...small.all, ...big.all]))).missing).toEqual([]);
  });

  it("hands a waiting part under a resource too large for a queue message to R2 in one object, not one a span", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const steps = Array.from({ length: 300 }, (_, i) =>
      spanWith(`step ${i}`, [], { traceId: trace.traceId, parentSpanId: trace.top.spanId }),
    );
    // A resource of 150 kB: one object a span would copy it 300 times (45 MB, 300 R2 writes, on each
    // release the alarm tries), and with a thousand spans pass an isolate's memory and its subrequests.
    const children = requestOf([...trace.children, ...steps]);
    children.resourceSpans[0]!.resource!.attributes.push(attr("process.command_line", "x".repeat(150_000)));
    const object = traceRoutesOf(tenant, trace.traceId);
    expect((await sendTraces(tenant, toProtobuf(children))).status).toBe(200);
    const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);
    await withObjectBindings(object, { DELIVERY_QUEUE: queue });

    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);
    await runDurableObjectAlarm(object);
    await withObjectBindings(object, {});

    expect(queue.sent.filter(({ body }) => "r2Key" in body.payload)).toHaveLength(1);
    const arrival = await standin.waitForSpans(tenant.apiKey, ids([...trace.all, ...steps]));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
  });

  it("counts spans that waited as accepted when they came and as queued when their trace was decided", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });

    await sendTraces(tenant, toProtobuf(requestOf(trace.children)));
    await sendTraces(tenant, toProtobuf(requestOf([trace.top])));
    await viewsOnceArrived(tenant, trace.all);

    let spans: Record<string, number> = {};
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && spans.left_queue !== 3; ) {
      spans = ((await (await admin("GET", `/tenants/${tenant.id}/stats`)).json()) as { total: { spans: Record<string, number> } }).total
        .spans;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(spans).toMatchObject({ accepted: 4, delivered: 4, queued: 3, left_queue: 3 });
  });

  it("counts spans of an export sent again while they wait as received and accepted once: they are kept, and delivered, once", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const children = toProtobuf(requestOf(trace.children));

    expect((await sendTraces(tenant, children)).status).toBe(200);
    // The exporter's own timeout ran out before the 200 reached it: the same export comes again.
    expect((await sendTraces(tenant, children)).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);
    const arrival = await standin.waitForSpans(tenant.apiKey, ids(trace.all));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);

    let spans: Record<string, number> = {};
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && spans.left_queue !== 3; ) {
      spans = ((await (await admin("GET", `/tenants/${tenant.id}/stats`)).json()) as { total: { spans: Record<string, number> } }).total
        .spans;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // accepted = delivered + dead_lettered + refused_upstream + waiting_in_queue (README, "How to read the numbers").
    expect(spans).toMatchObject({ received: 4, accepted: 4, delivered: 4, queued: 3, left_queue: 3, dead_lettered: 0 });
  });

  it("reports how many traces and spans wait, per tenant", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    await sendTraces(tenant, toProtobuf(requestOf(trace.children)));

    const response = await admin("GET", `/tenants/${tenant.id}/waiting-traces`);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ traces: 1, spans: 3, routes_traces: true });
  });

  it("says beside a count of 0 whether the tenant holds traces back: by its routes, for a day after they went, not once the relay's clock passed that day", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const answer = async () => (await (await admin("GET", `/tenants/${tenant.id}/waiting-traces`)).json()) as Record<string, unknown>;

    const routing = await answer();
    await putWithoutRoutes(tenant);
    const stopped = await answer();
    // The record as its object keeps it a day later: its routed_until a minute ago.
    await runInDurableObject(env.TENANT_OBJECTS.getByName(tenant.id), async (_object, state) => {
      const record = await state.storage.get<Record<string, unknown>>("tenant");
      await state.storage.put("tenant", { ...record, routed_until: new Date(Date.now() - 60_000).toISOString() });
    });
    const over = await answer();

    const zero = { tenant: tenant.id, traces: 0, spans: 0, bytes: 0 };
    expect([routing, stopped, over]).toEqual([
      { ...zero, routes_traces: true },
      { ...zero, routes_traces: true },
      { ...zero, routes_traces: false },
    ]);
  });

  it("reports the bytes that wait, summed over the tenant's objects", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const traces = [gatewayTrace({ env: "eval" }), gatewayTrace({ env: "eval" })];
    traces[0]!.traceId[15] = 0x01;
    traces[1]!.traceId[15] = 0x02;
    await sendTraces(tenant, toProtobuf(requestOf(traces.flatMap((t) => t.children))));
    const [first, second] = await Promise.all(["1", "2"].map((shard) => traceRoutesObject(env, tenant, shard).waiting()));
    expect(first!.bytes).toBeGreaterThan(0);
    expect(second!.bytes).toBeGreaterThan(0);

    const response = await admin("GET", `/tenants/${tenant.id}/waiting-traces`);

    expect(await response.json()).toMatchObject({ traces: 2, spans: 6, bytes: first!.bytes + second!.bytes });
  });
});
