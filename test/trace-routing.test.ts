import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { attr, randomId, toOtlpJson, toProtobuf } from "../scripts/lib/traces.js";
import { shardOf, waitingTraces } from "../src/deliver/trace-route-shards.js";
import { TraceWaitStore } from "../src/deliver/trace-wait-store.js";
import { hex } from "../src/encoding/bytes.js";
import { DECISION_TTL_MS } from "../src/tenants/routing.js";
import { failingBinding, failingObject, meddlingObjects } from "./support/bindings.js";
import { loggedWhile } from "./support/logs.js";
import { viewsByParent } from "./support/parent-views.js";
import {
  admin,
  createTenant,
  createTenantAgain,
  incarnationOf,
  issueToken,
  sendTraces,
  sendTracesWith,
  type TestTenant,
  withObjectBindings,
} from "./support/relay.js";
import {
  acceptKey,
  alarmIn,
  EVAL_ROUTE,
  endWaitNow,
  gatewayTrace,
  ids,
  passthroughRoutingTenant,
  putWithoutRoutes,
  routingTenant,
  traceRoutesOf,
  viewsOnceArrived,
  waitingSpans,
  withTableAsBefore,
} from "./support/routing.js";
import { standin } from "./support/standin.js";
import { requestOf, spanWith } from "./support/traces.js";

/** A routing tenant under an id whose tenant was deleted, as another owner would make it: its own key, URL, default parent and a short wait. */
async function createRoutingTenantAgain(tenantId: string): Promise<TestTenant> {
  const apiKey = await standin.issueKey();
  const parent = "project_name:the-next-owner";
  const response = await admin("PUT", `/tenants/${tenantId}`, {
    parent,
    braintrust: { api_url: `${env.STANDIN_URL}/self-hosted/`, api_key: apiKey },
    translate: false,
    routes: [EVAL_ROUTE],
    trace_wait_seconds: 1,
  });
  expect(response.status).toBe(201);
  return { id: tenantId, parent, apiKey, bearer: await issueToken(tenantId), incarnation: await incarnationOf(tenantId) };
}

describe.concurrent("routing keeps a trace whole across requests", () => {
  it("children exported first wait for the top span, then every span is at the routed parent: one whole trace in the experiment", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });

    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect(await standin.received(tenant.apiKey)).toEqual([]);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("Braintrust down for the first attempts: the top span's and the waiting spans' deliveries go through the queue, and meet at the routed parent", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    await standin.script(tenant.apiKey, [{ status: 503 }, { status: 503 }, { status: 503 }]);

    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    const arrival = await standin.waitForSpans(tenant.apiKey, ids(trace.all), 50_000);
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect(viewsByParent(arrival.requests)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
    expect((await standin.attempts(tenant.apiKey)).filter((a) => a.status === 503)).toHaveLength(3);
  });

  it("spans whose top never comes go to the default parent once the wait is over", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 1 });
    const trace = gatewayTrace({ env: "eval" });

    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);

    // The user sees them in the default project, hidden from Logs as Braintrust hides any rootless spans: none went elsewhere.
    expect(await viewsOnceArrived(tenant, trace.children)).toEqual({ "project_name:default": { traces: [], unlisted: 3 } });
  });

  it("spans waiting when the tenant's parent changes go to the new default parent once the wait is over", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);

    const moved = await admin("PUT", `/tenants/${tenant.id}`, {
      parent: "project_name:moved",
      braintrust: { api_url: env.STANDIN_URL },
      translate: false,
      routes: [EVAL_ROUTE],
      trace_wait_seconds: 3600,
    });

    expect(moved.status).toBe(200);
    await endWaitNow(object, trace.traceId);
    expect(await viewsOnceArrived(tenant, trace.children)).toEqual({ "project_name:moved": { traces: [], unlisted: 3 } });
  });

  it("spans that waited for a tenant deleted since are not counted as queued for the tenant created again under its id", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 1 });
    const trace = gatewayTrace({ env: "eval" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);
    await createTenantAgain(tenant.id);

    // The deleted tenant's objects, which the admin API no longer reads: the tenant created again has its own.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await waitingTraces(env, tenant)).spans > 0) await new Promise((r) => setTimeout(r, 200));

    expect((await waitingTraces(env, tenant)).spans).toBe(0);
    const stats = (await (await admin("GET", `/tenants/${tenant.id}/stats`)).json()) as { total: { spans: { queued: number } } };
    expect(stats.total.spans.queued).toBe(0);
  });

  it("traces that waited for a tenant deleted since keep the parent they came with: the tenant created again under its id is not their owner", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);
    await createTenantAgain(tenant.id);

    // The deleted tenant's wait over now, rather than in an hour.
    await endWaitNow(object, trace.traceId);

    expect(await object.decisions([hex(trace.traceId)])).toEqual(["project_name:default"]);
  });

  it("a trace decided for a tenant deleted since decides nothing for the tenant created again under its id, whose spans wait and go by its own routes", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);
    expect(await viewsOnceArrived(tenant, [trace.top])).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 1 }], unlisted: 0 },
    });
    expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);
    const next = await createRoutingTenantAgain(tenant.id);

    expect((await sendTraces(next, toProtobuf(requestOf(trace.children)))).status).toBe(200);

    // The next owner's routes send nothing of theirs to the experiment: its spans wait for a top span, then go to its default parent.
    expect(await viewsOnceArrived(next, trace.children)).toEqual({ "project_name:the-next-owner": { traces: [], unlisted: 3 } });
  });

  it("spans waiting for a tenant deleted since do not stand for the same bytes sent to the tenant created again under its id", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const children = toProtobuf(requestOf(trace.children));
    expect((await sendTraces(tenant, children)).status).toBe(200);
    expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);
    const next = await createRoutingTenantAgain(tenant.id);

    expect((await sendTraces(next, children)).status).toBe(200);

    expect(await viewsOnceArrived(next, trace.children)).toEqual({ "project_name:the-next-owner": { traces: [], unlisted: 3 } });
  });

  it("a span arriving after the decision follows it, even when it matches no route itself", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const [guardrail, call, model] = trace.children;

    await sendTraces(tenant, toProtobuf(requestOf([guardrail!, trace.top])));
    await sendTraces(tenant, toProtobuf(requestOf([call!, model!])));

    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("two requests of one trace at once both wait, and go with the top span", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const [guardrail, call, model] = trace.children;

    const answers = await Promise.all([
      sendTraces(tenant, toProtobuf(requestOf([guardrail!]))),
      sendTraces(tenant, toProtobuf(requestOf([call!, model!]))),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    await sendTraces(tenant, toProtobuf(requestOf([trace.top])));

    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a gateway top span whose parent is the caller's (continued traceparent) decides its trace: children arriving later follow it", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "prod" }, { callerParent: randomId(8) });

    await sendTraces(tenant, toProtobuf(requestOf([trace.top])));
    await sendTraces(tenant, toProtobuf(requestOf(trace.children)));

    // With an hour's wait, arriving at all means nothing waited. The caller's span never comes, so
    // Braintrust hides the trace whatever the relay does: what matters is that it is whole, in one place.
    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({ "project_name:default": { traces: [], unlisted: 4 } });
  });

  it("an agent run whose top span's parent is the caller's, sent whole, decides its trace at once, though its MCP calls' parent came", async () => {
    // braintrust.parent allowed, so the first route's match alone does not decide: the top span must.
    const tenant = await routingTenant({ parent_from_attribute: true, trace_wait_seconds: 3600 });
    const traceId = randomId(16);
    const agent = spanWith(
      "AgentResponse: support-agent",
      [attr("tfy.span_type", "AgentResponse"), attr("tfy.request.metadata", JSON.stringify({ env: "eval" }))],
      { traceId, parentSpanId: randomId(8) },
    );
    const tools = ["lookup", "refund"].map((tool) =>
      spanWith(`MCP: orders/${tool}`, [attr("tfy.span_type", "MCP")], { traceId, parentSpanId: agent.spanId }),
    );
    const all = [...tools, agent];

    expect((await sendTraces(tenant, toProtobuf(requestOf(all)))).status).toBe(200);

    // With an hour's wait, arriving at all means nothing waited; the caller's span never comes, so no root is listed.
    expect(await viewsOnceArrived(tenant, all)).toEqual({ "experiment_id:exp-eval": { traces: [], unlisted: 3 } });
  });

  it("an agent's MCP tool calls exported before its AgentResponse wait for it: the agent's request metadata routes the whole run", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const traceId = randomId(16);
    const agent = spanWith(
      "AgentResponse: support-agent",
      [attr("tfy.span_type", "AgentResponse"), attr("tfy.request.metadata", JSON.stringify({ env: "eval" }))],
      { traceId },
    );
    // Tool calls the agent made, not requests the gateway received: of kind INTERNAL, as the gateway's other inner spans.
    const tools = ["lookup", "refund"].map((tool) =>
      spanWith(`MCP: orders/${tool}`, [attr("tfy.span_type", "MCP")], { traceId, parentSpanId: agent.spanId }),
    );

    expect((await sendTraces(tenant, toProtobuf(requestOf(tools)))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([agent])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, [...tools, agent])).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: agent.name, spans: 3 }], unlisted: 0 },
    });
  });

  it("a top span sent with a parent of zeros, which is none, decides its trace: the children waiting for it go with it, one trace listed", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const traceId = randomId(16);
    // A converter's root: not a gateway entry span, so only its parent says it is the top; no route matches it.
    const top = spanWith("HTTP POST /chat", [], { traceId, parentSpanId: new Uint8Array(8) });
    const model = spanWith("Model: gpt-4.1-mini", [attr("tfy.span_type", "Model")], { traceId, parentSpanId: top.spanId });

    expect((await sendTraces(tenant, toProtobuf(requestOf([model])))).status).toBe(200);
    expect(await standin.received(tenant.apiKey)).toEqual([]);
    expect((await sendTraces(tenant, toProtobuf(requestOf([top])))).status).toBe(200);

    // With an hour's wait, arriving at all means the top span decided the trace; listed, as it goes without that parent.
    expect(await viewsOnceArrived(tenant, [model, top])).toEqual({
      "project_name:default": { traces: [{ root: top.name, spans: 2 }], unlisted: 0 },
    });
  });

  it("when the object cannot store waiting spans the client gets 503 with Retry-After, and its retry loses nothing", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    await runInDurableObject(object, (_instance, state) => state.storage.sql.exec("DROP TABLE waiting_pieces"));

    const { result: refused, errors } = await loggedWhile(() => sendTraces(tenant, toProtobuf(requestOf(trace.children))));

    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("2");
    expect(errors.filter((e) => e.tenant === tenant.id)).toEqual([
      {
        event: "trace_routes_failed",
        tenant: tenant.id,
        error: "no such table: waiting_pieces: SQLITE_ERROR",
        request_id: expect.any(String),
      },
    ]);
    // Started again, the object makes its tables anew; the client sends the same spans again.
    await evictDurableObject(object);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);
    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a decided trace's spans the queue refuses wait, with a trace_release_failed line, and go once it takes them", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    // The object's own bindings: its alarm hands the spans to a queue that refuses them.
    await withObjectBindings(object, { DELIVERY_QUEUE: failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: 503") });

    const { errors } = await loggedWhile(async () => {
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);
      await runDurableObjectAlarm(object);
    });

    const released = errors.filter((e) => e.event === "trace_release_failed" && e.tenant === tenant.id);
    expect(released.length).toBeGreaterThan(0);
    for (const line of released) {
      expect(line).toEqual({
        event: "trace_release_failed",
        tenant: tenant.id,
        trace: hex(trace.traceId),
        spans: 3,
        error: "the queue refused 1 messages: Queue sendBatch failed: 503",
      });
    }
    expect(await waitingSpans(tenant.id)).toBe(3);
    // Tried again in 30 s, with no other request needed.
    expect(await alarmIn(object)).toBeGreaterThan(10_000);
    expect(await alarmIn(object)).toBeLessThanOrEqual(30_000);
    await withObjectBindings(object, {});
    await runDurableObjectAlarm(object);
    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("an alarm that cannot read the tenant from its object writes a trace_routes_failed line and goes on: traces whose wait is over go to the default parent they came with", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 1 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    // The object's own bindings: its alarm reads the tenant from a tenant object reset mid-call.
    const reset = failingObject(env.TENANT_OBJECTS, tenant.id, "read", "Durable Object reset because its code was updated.");
    await withObjectBindings(object, { TENANT_OBJECTS: reset });

    const { errors } = await loggedWhile(async () => {
      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      // Past the wait: the alarm, run now or already, reads the tenant for its default parent.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await runDurableObjectAlarm(object);
    });

    expect(errors.filter((e) => e.tenant === tenant.id)).toContainEqual({
      event: "trace_routes_failed",
      tenant: tenant.id,
      error: "Durable Object reset because its code was updated.",
    });
    await withObjectBindings(object, {});
    expect(await viewsOnceArrived(tenant, trace.children)).toEqual({ "project_name:default": { traces: [], unlisted: 3 } });
  });

  it("an alarm with no wait over does not ask the tenant's object for the tenant", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    const reset = failingObject(env.TENANT_OBJECTS, tenant.id, "read", "Durable Object reset because its code was updated.");
    await withObjectBindings(object, { TENANT_OBJECTS: reset });

    const { errors } = await loggedWhile(() => runDurableObjectAlarm(object));

    expect(errors.filter((e) => e.tenant === tenant.id)).toEqual([]);
    expect(await waitingSpans(tenant.id)).toBe(3);
    await withObjectBindings(object, {});
  });

  it("an alarm whose object's storage fails writes a trace_routes_failed line, without the client's key, and sets itself again", async () => {
    const tenant = await passthroughRoutingTenant();
    await acceptKey(tenant);
    const trace = gatewayTrace({ env: "eval" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    const object = traceRoutesOf(tenant, trace.traceId);
    await runInDurableObject(object, (_instance, state) => state.storage.sql.exec("DROP TABLE waiting_pieces"));

    const { result: ran, lines, errors } = await loggedWhile(() => runDurableObjectAlarm(object));

    const failure = "no such table: waiting_pieces: SQLITE_ERROR";
    expect(ran).toBe(true);
    expect(await alarmIn(object)).toBeGreaterThan(0);
    // An alarm has no request: no request_id.
    expect(errors.filter((e) => e.tenant === tenant.id)).toEqual([{ event: "trace_routes_failed", tenant: tenant.id, error: failure }]);
    expect(JSON.stringify([lines, errors])).not.toContain(tenant.apiKey);
  });

  it("an object whose table of waiting spans predates their key's api_url gains the column, and its spans wait and go as before", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    await withTableAsBefore(
      object,
      "waiting_pieces",
      "CREATE TABLE waiting_pieces (id INTEGER PRIMARY KEY AUTOINCREMENT, trace TEXT NOT NULL, tenant TEXT NOT NULL, incarnation TEXT, sealed_client_key TEXT, protobuf BLOB NOT NULL, spans INTEGER NOT NULL, received_at INTEGER NOT NULL)",
    );

    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect(await waitingSpans(tenant.id)).toBe(3);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a call whose alarm cannot be set fails (503), though its spans were stored: no spans wait with no alarm to end their wait", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    await runInDurableObject(object, (_instance, state) => {
      state.storage.setAlarm = () => Promise.reject(new Error("Durable Object storage operation exceeded timeout"));
    });

    const { result: refused } = await loggedWhile(() => sendTraces(tenant, toProtobuf(requestOf(trace.children))));

    expect(refused.status).toBe(503);
    expect(await runInDurableObject(object, (_instance, state) => state.storage.getAlarm())).toBeNull();
    // Started again, with storage that takes an alarm: the client's retry sets it.
    await evictDurableObject(object);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect(await runInDurableObject(object, (_instance, state) => state.storage.getAlarm())).not.toBeNull();
  });

  it("a retry of spans an object kept, whose call then failed before it set its alarm (503), sets the alarm by the trace's due time", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    const children = toProtobuf(requestOf(trace.children));
    const failedAfter = {
      TRACE_ROUTES: meddlingObjects(env.TRACE_ROUTES, "settle", "after", async () => {
        // What a call whose alarm write failed leaves: its spans committed, no alarm.
        await runInDurableObject(object, (_instance, state) => state.storage.deleteAlarm());
        throw new Error("Durable Object storage operation exceeded timeout which caused object to be reset.");
      }),
    };

    expect((await sendTracesWith(tenant, children, failedAfter)).status).toBe(503);
    const dueAt = await runInDurableObject(
      object,
      (_instance, state) =>
        state.storage.sql.exec<{ due_at: number }>("SELECT due_at FROM trace_routes WHERE trace = ?", hex(trace.traceId)).one().due_at,
    );
    expect((await sendTraces(tenant, children)).status).toBe(200);

    expect(await runInDurableObject(object, (_instance, state) => state.storage.getAlarm())).toBe(dueAt);
    // The top span never comes: once the wait is over, the children go to the default parent, once.
    await endWaitNow(object, trace.traceId);
    expect(await viewsOnceArrived(tenant, trace.children)).toEqual({ "project_name:default": { traces: [], unlisted: 3 } });
  });

  it("a later request of a decided trace whose spans the queue refused does not run the release again at once", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    await withObjectBindings(object, { DELIVERY_QUEUE: failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: 503") });
    await loggedWhile(async () => {
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);
      // The decision sets the alarm for now. It runs on its own, and the queue's refusal sets it 30 s
      // on: run by hand as well, the two runs could cross and leave no alarm, which no object meets.
      await vi.waitFor(
        async () => {
          const due = await alarmIn(object);
          expect(due).toBeGreaterThan(10_000);
          expect(due).toBeLessThanOrEqual(30_000);
        },
        { timeout: 30_000 },
      );
    });

    // The top span sent again (an exporter's retry), while the queue still refuses.
    const { errors } = await loggedWhile(async () => {
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    });

    expect(errors.filter((e) => e.event === "trace_release_failed" && e.tenant === tenant.id)).toEqual([]);
    expect(await alarmIn(object)).toBeGreaterThan(10_000);
    await withObjectBindings(object, {});
  });

  it("a retry of the top span whose call decided the trace and then failed before it set its alarm (503) sends the spans that waited for it within 30 s", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    // What the top span's first call leaves when its decision committed and its alarm write then
    // failed: the trace decided, its children still here, the alarm at the end of their hour.
    await runInDurableObject(object, (_instance, state) => {
      const store = new TraceWaitStore(state.storage.sql);
      const id = hex(trace.traceId);
      store.decide(id, EVAL_ROUTE.parent, Date.now() + DECISION_TTL_MS, store.trace(id));
    });
    expect(await alarmIn(object)).toBeGreaterThan(3_500_000);

    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    // Not at once, as spans the queue refused wait as long; the alarm, run now, sends them.
    expect(await alarmIn(object)).toBeLessThanOrEqual(30_000);
    await runDurableObjectAlarm(object);
    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("routes removed after a trace was decided: its later spans still follow the decision, one trace in the experiment", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const [guardrail, call, model] = trace.children;
    expect((await sendTraces(tenant, toProtobuf(requestOf([guardrail!, trace.top])))).status).toBe(200);

    const before = Date.now();
    const routedUntil = (await putWithoutRoutes(tenant)).routed_until;
    // Routing goes on for as long as a decision is remembered: a day from the change.
    expect(Date.parse(routedUntil!)).toBeGreaterThanOrEqual(before + DECISION_TTL_MS);
    expect(Date.parse(routedUntil!)).toBeLessThanOrEqual(Date.now() + DECISION_TTL_MS);
    expect((await sendTraces(tenant, toProtobuf(requestOf([call!, model!])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("routes removed while children wait: they go with their top span when it comes, not at the end of their wait", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect(await waitingSpans(tenant.id)).toBe(3);

    await putWithoutRoutes(tenant);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "project_name:default": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a retry after one object failed keeps once the spans another object had already taken, counted received and accepted once", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const first = gatewayTrace({ env: "eval" });
    let second = gatewayTrace({ env: "eval" });
    while (shardOf(hex(second.traceId)) === shardOf(hex(first.traceId))) second = gatewayTrace({ env: "eval" });
    const broken = traceRoutesOf(tenant, second.traceId);
    await runInDurableObject(broken, (_instance, state) => state.storage.sql.exec("DROP TABLE waiting_pieces"));
    const children = toProtobuf(requestOf([...first.children, ...second.children]));

    expect((await sendTraces(tenant, children)).status).toBe(503);
    await evictDurableObject(broken);
    expect((await sendTraces(tenant, children)).status).toBe(200);

    expect(await (await admin("GET", `/tenants/${tenant.id}/waiting-traces`)).json()).toMatchObject({ traces: 2, spans: 6 });
    expect((await sendTraces(tenant, toProtobuf(requestOf([first.top, second.top])))).status).toBe(200);
    const views = await viewsOnceArrived(tenant, [...first.all, ...second.all]);
    expect(views["experiment_id:exp-eval"]?.traces).toHaveLength(2);
    expect(Object.keys(views)).toEqual(["experiment_id:exp-eval"]);
    // accepted = delivered + dead_lettered + refused_upstream + waiting_in_queue (README, "How to read the numbers").
    const spans = await vi.waitFor(
      async () => {
        const stats = (await (await admin("GET", `/tenants/${tenant.id}/stats`)).json()) as { total: { spans: Record<string, number> } };
        expect(stats.total.spans.left_queue).toBe(6);
        return stats.total.spans;
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(spans).toMatchObject({ received: 8, accepted: 8, delivered: 8, queued: 6 });
  });

  it("children sent as protobuf and their top span as OTLP/JSON with upper-case hex ids are one trace: both ids are read as the same bytes", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const topAsJson = JSON.stringify(toOtlpJson(requestOf([trace.top]))).replace(/"[0-9a-f]{16,32}"/g, (id) => id.toUpperCase());
    expect(topAsJson).toContain(hex(trace.traceId).toUpperCase());

    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect(await waitingSpans(tenant.id)).toBe(3);
    expect((await sendTraces(tenant, topAsJson, { contentType: "application/json" })).status).toBe(200);

    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("one request of children of traces in every shard, then their top spans in reverse order in another: each trace whole at its own parent", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const traces = Array.from({ length: 32 }, (_, i) => {
      const trace = gatewayTrace({ env: i % 2 === 0 ? "eval" : "prod" });
      // Its id's last digit, so two traces of each parity in every one of the 16 shards.
      trace.traceId[15] = i;
      return trace;
    });

    expect(await sendTraces(tenant, toProtobuf(requestOf(traces.flatMap((t) => t.children))))).toMatchObject({ status: 200 });
    expect(await waitingSpans(tenant.id)).toBe(96);
    expect(await sendTraces(tenant, toProtobuf(requestOf(traces.map((t) => t.top).reverse())))).toMatchObject({ status: 200 });

    const views = await viewsOnceArrived(
      tenant,
      traces.flatMap((t) => t.all),
    );
    const whole = (parity: number) => traces.filter((_, i) => i % 2 === parity).map((t) => ({ root: t.top.name, spans: 4 }));
    expect(Object.keys(views).sort()).toEqual(["experiment_id:exp-eval", "project_name:default"]);
    expect(views["experiment_id:exp-eval"]).toEqual({ traces: whole(0), unlisted: 0 });
    expect(views["project_name:default"]).toEqual({ traces: whole(1), unlisted: 0 });
  });

  it("a top span whose request failed on another trace's object (503) after its own object decided the trace: the retry delivers it once, its trace whole", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const decided = gatewayTrace({ env: "eval" });
    let other = gatewayTrace({ env: "prod" });
    while (shardOf(hex(other.traceId)) === shardOf(hex(decided.traceId))) other = gatewayTrace({ env: "prod" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(decided.children)))).status).toBe(200);
    const broken = traceRoutesOf(tenant, other.traceId);
    await runInDurableObject(broken, (_instance, state) => state.storage.sql.exec("DROP TABLE waiting_pieces"));
    const mixed = toProtobuf(requestOf([decided.top, ...other.children]));

    expect((await sendTraces(tenant, mixed)).status).toBe(503);
    await evictDurableObject(broken);
    expect((await sendTraces(tenant, mixed)).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([other.top])))).status).toBe(200);

    // viewsOnceArrived also finds no span twice: the first attempt's decision released the waiting children, not its top span.
    expect(await viewsOnceArrived(tenant, [...decided.all, ...other.all])).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: decided.top.name, spans: 4 }], unlisted: 0 },
      "project_name:default": { traces: [{ root: other.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a tenant that routes by braintrust.parent keeps a trace whole when only a late span carries it", async () => {
    const tenant = await createTenant({
      parent: "project_name:default",
      config: { translate: false, parent_from_attribute: true, trace_wait_seconds: 3600 },
    });
    const trace = gatewayTrace({});
    trace.top.attributes.push(attr("braintrust.parent", "project_id:p-42"));

    await sendTraces(tenant, toProtobuf(requestOf(trace.children)));
    await sendTraces(tenant, toProtobuf(requestOf([trace.top])));

    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "project_id:p-42": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });
});
