import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { Span } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, randomId, requestOf, spansOf, spanWith, toProtobuf } from "../scripts/lib/traces.js";
import { traceRoutesObject, waitingTraces } from "../src/deliver/trace-route-shards.js";
import type { TraceRoutes } from "../src/deliver/trace-routes.js";
import { TraceWaitStore } from "../src/deliver/trace-wait-store.js";
import { hex } from "../src/encoding/bytes.js";
import { DECISION_TTL_MS } from "../src/tenants/routing.js";
import { failingBinding, failingObject, meddlingObjects, recordingQueue } from "./support/bindings.js";
import { waitForDeadLetters } from "./support/dead-letters.js";
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
import { alarmIn, EVAL_ROUTE, gatewayTrace, ids, routingTenant, traceRoutesOf, viewsOnceArrived, waitingSpans } from "./support/routing.js";
import { standin } from "./support/standin.js";

function passthroughRoutingTenant(): Promise<TestTenant> {
  return createTenant({
    mode: "passthrough",
    parent: "project_name:default",
    config: { translate: false, routes: [EVAL_ROUTE], trace_wait_seconds: 3600 },
  });
}

/** Has Braintrust accept the tenant's key with a one-span trace at the default parent, so spans sent with it may wait; that trace's top span. */
async function acceptKey(tenant: TestTenant): Promise<Span> {
  const opener = spanWith("opener", []);
  // Started first, so Braintrust's Logs list it first.
  opener.startTimeUnixNano -= 1_000_000_000n;
  expect((await sendTraces(tenant, toProtobuf(requestOf([opener])))).status).toBe(200);
  return opener;
}

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

/** The tenant replaced with these routes (its key and URL kept); the admin API's view of it. */
async function putWithRoutes(
  tenant: TestTenant,
  routes: unknown[],
  config: Record<string, unknown> = {},
): Promise<{ routed_until?: string }> {
  const put = await admin("PUT", `/tenants/${tenant.id}`, {
    parent: tenant.parent,
    braintrust: { api_url: env.STANDIN_URL },
    translate: false,
    routes,
    trace_wait_seconds: 3600,
    ...config,
  });
  expect(put.status).toBe(200);
  return (await put.json()) as { routed_until?: string };
}

const putWithoutRoutes = (tenant: TestTenant) => putWithRoutes(tenant, []);

/** Gives the object one of its tables as an older relay made it (`create`), empty, and starts it again, as a deploy does. */
async function withTableAsBefore(object: DurableObjectStub<TraceRoutes>, table: string, create: string): Promise<void> {
  await runInDurableObject(object, (_instance, state) => {
    state.storage.sql.exec(`DROP TABLE ${table}`);
    state.storage.sql.exec(create);
  });
  await evictDurableObject(object);
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
    const tenant = await routingTenant({ trace_wait_seconds: 2 });
    const trace = gatewayTrace({ env: "eval" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);

    const moved = await admin("PUT", `/tenants/${tenant.id}`, {
      parent: "project_name:moved",
      braintrust: { api_url: env.STANDIN_URL },
      translate: false,
      routes: [EVAL_ROUTE],
      trace_wait_seconds: 2,
    });

    expect(moved.status).toBe(200);
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
    await runInDurableObject(object, (_instance, state) => {
      state.storage.sql.exec("UPDATE trace_routes SET due_at = ? WHERE trace = ?", Date.now() - 1, hex(trace.traceId));
    });
    await runDurableObjectAlarm(object);

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

  it("an alarm whose object's storage fails writes a trace_routes_failed line, without the client's key, and throws, for Cloudflare to run it again", async () => {
    const tenant = await passthroughRoutingTenant();
    await acceptKey(tenant);
    const trace = gatewayTrace({ env: "eval" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    const object = traceRoutesOf(tenant, trace.traceId);
    await runInDurableObject(object, (_instance, state) => state.storage.sql.exec("DROP TABLE waiting_pieces"));

    const { result: thrown, lines, errors } = await loggedWhile(() => runDurableObjectAlarm(object).catch((err: unknown) => err));

    const failure = "no such table: waiting_pieces: SQLITE_ERROR";
    expect(thrown).toEqual(new Error(failure));
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

  it("a retry of spans an object kept, whose call then failed before it set its alarm (503), sets the alarm by the trace's due time", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 2 });
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
    expect((await sendTraces(tenant, children)).status).toBe(200);

    expect(await alarmIn(object)).toBeLessThanOrEqual(2_000);
    // The top span never comes: once the wait is over, the children go to the default parent, once.
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
      await runDurableObjectAlarm(object);
    });
    expect(await alarmIn(object)).toBeGreaterThan(10_000);

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
    await runInDurableObject(object, (_instance, state) =>
      new TraceWaitStore(state.storage.sql).decide(hex(trace.traceId), EVAL_ROUTE.parent, Date.now() + DECISION_TTL_MS),
    );
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

    expect((await putWithoutRoutes(tenant)).routed_until).toBeDefined();
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

  it("a retry after one object failed keeps once the spans another object had already taken", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const first = gatewayTrace({ env: "eval" });
    let second = gatewayTrace({ env: "eval" });
    while (hex(second.traceId)[0] === hex(first.traceId)[0]) second = gatewayTrace({ env: "eval" });
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

  describe("routes weighed across requests: the first route any span of the trace matches wins, however the exporter batched it", () => {
    const CHILD_ROUTE = { match: { field: "span_name", prefix: "Model:" }, parent: "project_name:models" };

    it.each([
      ["children first", (t: ReturnType<typeof gatewayTrace>) => [t.children, [t.top]]],
      ["top span first", (t: ReturnType<typeof gatewayTrace>) => [[t.top], t.children]],
      ["in one request", (t: ReturnType<typeof gatewayTrace>) => [t.all]],
    ])("a child matching the second route, the top span the first (%s): the trace goes by the first", async (_, batches) => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "eval" });

      for (const spans of batches(trace)) expect((await sendTraces(tenant, toProtobuf(requestOf(spans)))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
        "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
      });
    });

    it("a child matching the second route waits for the top span, and goes by that route when the top matches none", async () => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "prod" });

      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      expect(await waitingSpans(tenant.id)).toBe(3);
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
        "project_name:models": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
      });
    });

    it("spans whose top never comes go by the best route they matched once the wait is over", async () => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 1 });
      const trace = gatewayTrace({ env: "prod" });

      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.children)).toEqual({ "project_name:models": { traces: [], unlisted: 3 } });
    });

    it("a late top span's braintrust.parent wins over a route an earlier child matched, as the attribute goes ahead of routes", async () => {
      const tenant = await routingTenant({ routes: [CHILD_ROUTE], parent_from_attribute: true, trace_wait_seconds: 3600 });
      const trace = gatewayTrace({});
      trace.top.attributes.push(attr("braintrust.parent", "project_id:p-42"));

      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
        "project_id:p-42": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
      });
    });

    it("a decision stored after its spans were delivered (a key accepted on that delivery) is kept, whatever candidate the object holds: the trace stays whole", async () => {
      const tenant = await createTenant({
        mode: "passthrough",
        parent: "project_name:default",
        config: { translate: false, routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 },
      });
      // The key accepted: the trace's children, matching the second route, wait with that candidate.
      const opener = await acceptKey(tenant);
      const trace = gatewayTrace({ env: "prod" });
      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      expect(await waitingSpans(tenant.id)).toBe(3);
      // The key forgotten, as in an isolate that never saw it accepted: a 403 for another parent's spans.
      await standin.script(tenant.apiKey, [{ status: 403, body: "Forbidden" }]);
      expect((await sendTraces(tenant, toProtobuf(requestOf([spanWith("other", [])])))).status).toBe(403);

      // The top span, matching no route, is delivered at once where it alone says, and that decision stored after.
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      const views = await viewsOnceArrived(tenant, [opener, ...trace.all]);
      expect(views["project_name:models"]).toBeUndefined();
      expect(views["project_name:default"]?.traces).toContainEqual({ root: trace.top.name, spans: 4 });
    });

    it.each([
      ["the route removed", [EVAL_ROUTE]],
      ["routing turned off", []],
    ])("a child that matched a route waits, then %s: its top span, matching none, decides for the default parent", async (_, routes) => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "prod" });
      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      expect(await waitingSpans(tenant.id)).toBe(3);

      await putWithRoutes(tenant, routes);
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
        "project_name:default": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
      });
    });

    it("a child that matched the first route waits, then the routes change order: the trace goes by the route now first", async () => {
      // braintrust.parent allowed, so a match of the first route does not decide at once: the child waits with it.
      const tenant = await routingTenant({ routes: [CHILD_ROUTE, EVAL_ROUTE], parent_from_attribute: true, trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "eval" });
      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      expect(await waitingSpans(tenant.id)).toBe(3);

      await putWithRoutes(tenant, [EVAL_ROUTE, CHILD_ROUTE], { parent_from_attribute: true });
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
        "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
      });
    });

    it("a child that matched the second route waits, then that route is moved first: it wins over the top span's route, now second", async () => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "eval" });
      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      expect(await waitingSpans(tenant.id)).toBe(3);

      await putWithRoutes(tenant, [CHILD_ROUTE, EVAL_ROUTE]);
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
        "project_name:models": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
      });
    });

    it("two routes to one parent: a child matching the later one ranks there, behind the top span's route between them", async () => {
      const guardrails = { match: { field: "span_name", prefix: "Guardrail:" }, parent: CHILD_ROUTE.parent };
      const tenant = await routingTenant({ routes: [CHILD_ROUTE, EVAL_ROUTE, guardrails], trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "eval" });
      const [guardrail, call, model] = trace.children;
      expect((await sendTraces(tenant, toProtobuf(requestOf([guardrail!])))).status).toBe(200);
      expect(await waitingSpans(tenant.id)).toBe(1);

      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);
      // Decided: the model call, which matches the first route, follows the decision.
      expect((await sendTraces(tenant, toProtobuf(requestOf([call!, model!])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
        "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
      });
    });

    it("a child that matched a route removed since, whose top span never comes, goes to the default parent when its wait is over", async () => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "prod" });
      const object = traceRoutesOf(tenant, trace.traceId);
      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      await putWithRoutes(tenant, [EVAL_ROUTE]);

      // Its wait over now, rather than in an hour.
      await runInDurableObject(object, (_instance, state) => {
        state.storage.sql.exec("UPDATE trace_routes SET due_at = ? WHERE trace = ?", Date.now() - 1, hex(trace.traceId));
      });
      await runDurableObjectAlarm(object);

      expect(await viewsOnceArrived(tenant, trace.children)).toEqual({ "project_name:default": { traces: [], unlisted: 3 } });
    });

    it("an object whose table of traces predates candidates gains the columns, and its traces wait and go as before", async () => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "prod" });
      const object = traceRoutesOf(tenant, trace.traceId);
      await withTableAsBefore(
        object,
        "trace_routes",
        "CREATE TABLE trace_routes (trace TEXT PRIMARY KEY, parent TEXT, default_parent TEXT NOT NULL, due_at INTEGER, decided_until INTEGER, spans INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
      );

      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
        "project_name:models": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
      });
    });
  });

  it("a route matched only by a span drop_non_ai_spans drops decides its trace, whatever request that span came in alone", async () => {
    const anthropic = { match: { field: "span_name", prefix: "POST https://api.anthropic.com/" }, parent: "project_name:anthropic" };
    const tenant = await createTenant({
      parent: "project_name:default",
      config: { translate: false, drop_non_ai_spans: true, routes: [anthropic], trace_wait_seconds: 3600 },
    });
    const trace = gatewayTrace({});
    // The provider call, as the gateway exports it: an HTTP client span without tfy.* attributes, so dropped.
    const [guardrail, call, model] = trace.children;
    call!.name = "POST https://api.anthropic.com/v1/messages";

    // The gateway's exporter batched the call apart from the rest of its trace.
    expect((await sendTraces(tenant, toProtobuf(requestOf([call!])))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([guardrail!, model!])))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, [guardrail!, model!, trace.top])).toEqual({
      "project_name:anthropic": { traces: [{ root: trace.top.name, spans: 3 }], unlisted: 0 },
    });
  });

  describe("a route matched only by a span drop_non_ai_spans drops, sent alone, is weighed as any other", () => {
    const ANTHROPIC_ROUTE = { match: { field: "span_name", prefix: "POST https://api.anthropic.com/" }, parent: "project_name:anthropic" };

    function tracePartedByExporter(env: string) {
      const trace = gatewayTrace({ env });
      const [guardrail, call, model] = trace.children;
      call!.name = "POST https://api.anthropic.com/v1/messages";
      return { trace, call: call!, kept: [guardrail!, model!, trace.top] };
    }

    it("the top span, matching the first route, comes later: the trace goes by the first route", async () => {
      const tenant = await routingTenant({ drop_non_ai_spans: true, routes: [EVAL_ROUTE, ANTHROPIC_ROUTE], trace_wait_seconds: 3600 });
      const { trace, call, kept } = tracePartedByExporter("eval");

      expect((await sendTraces(tenant, toProtobuf(requestOf([call])))).status).toBe(200);
      expect((await sendTraces(tenant, toProtobuf(requestOf(kept.slice(0, 2))))).status).toBe(200);
      expect(await waitingSpans(tenant.id)).toBe(2);
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, kept)).toEqual({
        "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 3 }], unlisted: 0 },
      });
    });

    it("a key Braintrust has not accepted yet: its request's other spans taken, the dropped span's route is still only a candidate", async () => {
      const tenant = await createTenant({
        mode: "passthrough",
        parent: "project_name:default",
        config: { translate: false, drop_non_ai_spans: true, routes: [EVAL_ROUTE, ANTHROPIC_ROUTE], trace_wait_seconds: 3600 },
      });
      // Another trace of the same request goes, whole, to the second route's parent, which Braintrust takes.
      const opener = tracePartedByExporter("prod");
      const { trace, call, kept } = tracePartedByExporter("eval");

      expect((await sendTraces(tenant, toProtobuf(requestOf([...opener.trace.all, call])))).status).toBe(200);
      expect((await sendTraces(tenant, toProtobuf(requestOf(kept)))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, [...opener.kept, ...kept])).toEqual({
        "project_name:anthropic": { traces: [{ root: opener.trace.top.name, spans: 3 }], unlisted: 0 },
        "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 3 }], unlisted: 0 },
      });
    });

    it("nothing else comes within the wait: the trace is decided by the dropped span's route, which its late spans follow", async () => {
      const tenant = await routingTenant({ drop_non_ai_spans: true, routes: [EVAL_ROUTE, ANTHROPIC_ROUTE], trace_wait_seconds: 1 });
      const { trace, call, kept } = tracePartedByExporter("eval");
      const object = traceRoutesOf(tenant, trace.traceId);

      expect((await sendTraces(tenant, toProtobuf(requestOf([call])))).status).toBe(200);
      await vi.waitFor(async () => expect(await object.decisions([hex(trace.traceId)])).toEqual(["project_name:anthropic"]), {
        timeout: 10_000,
        interval: 200,
      });
      expect((await sendTraces(tenant, toProtobuf(requestOf(kept)))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, kept)).toEqual({
        "project_name:anthropic": { traces: [{ root: trace.top.name, spans: 3 }], unlisted: 0 },
      });
    });

    it("its route removed while the trace waits, in an object where no spans wait: it names nothing once the wait is over", async () => {
      const tenant = await routingTenant({ drop_non_ai_spans: true, routes: [EVAL_ROUTE, ANTHROPIC_ROUTE], trace_wait_seconds: 2 });
      const { trace, call, kept } = tracePartedByExporter("prod");
      const object = traceRoutesOf(tenant, trace.traceId);

      expect((await sendTraces(tenant, toProtobuf(requestOf([call])))).status).toBe(200);
      expect(await waitingSpans(tenant.id)).toBe(0);
      await putWithRoutes(tenant, [EVAL_ROUTE], { drop_non_ai_spans: true, trace_wait_seconds: 2 });

      await vi.waitFor(async () => expect(await object.decisions([hex(trace.traceId)])).toEqual(["project_name:default"]), {
        timeout: 15_000,
        interval: 200,
      });
      expect((await sendTraces(tenant, toProtobuf(requestOf(kept)))).status).toBe(200);
      expect(await viewsOnceArrived(tenant, kept)).toEqual({
        "project_name:default": { traces: [{ root: trace.top.name, spans: 3 }], unlisted: 0 },
      });
    });

    it("the top span never comes: the spans that waited go by the dropped span's route once the wait is over", async () => {
      const tenant = await routingTenant({ drop_non_ai_spans: true, routes: [EVAL_ROUTE, ANTHROPIC_ROUTE], trace_wait_seconds: 1 });
      const { call, kept } = tracePartedByExporter("prod");

      expect((await sendTraces(tenant, toProtobuf(requestOf([call])))).status).toBe(200);
      expect((await sendTraces(tenant, toProtobuf(requestOf(kept.slice(0, 2))))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, kept.slice(0, 2))).toEqual({ "project_name:anthropic": { traces: [], unlisted: 2 } });
    });
  });

  it("hands the waiting parts of many decided traces to the queue in a few sends, not one awaited send a part", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const traces = Array.from({ length: 100 }, () => {
      const trace = gatewayTrace({ env: "eval" });
      trace.traceId[0] = 0x30;
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
      trace.traceId[0] = 0x40;
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
    big.top.traceId[0] = small.traceId[0]!;
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

  it("a passthrough client's waiting spans go out with the client's own key, once Braintrust has accepted it", async () => {
    const tenant = await passthroughRoutingTenant();
    // A first request Braintrust accepts makes the key trusted, so the relay may keep spans sent with it.
    const opener = gatewayTrace({ env: "prod" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(opener.all)))).status).toBe(200);
    const trace = gatewayTrace({ env: "eval" });

    await sendTraces(tenant, toProtobuf(requestOf(trace.children)));
    await sendTraces(tenant, toProtobuf(requestOf([trace.top])));

    // The stand-in files what it received under the key it was sent with: the client's.
    expect(await viewsOnceArrived(tenant, [...opener.all, ...trace.all])).toEqual({
      "project_name:default": { traces: [{ root: opener.top.name, spans: 4 }], unlisted: 0 },
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a passthrough client's waiting spans are not sent to an api_url the tenant moved to while they waited: they become a dead letter", async () => {
    const tenant = await passthroughRoutingTenant();
    const opener = gatewayTrace({ env: "prod" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(opener.all)))).status).toBe(200);
    const trace = gatewayTrace({ env: "eval" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect(await waitingSpans(tenant.id)).toBe(3);
    const moved = `${standin.url}/self-hosted`;
    const put = await admin("PUT", `/tenants/${tenant.id}`, {
      parent: "project_name:default",
      translate: false,
      routes: [EVAL_ROUTE],
      trace_wait_seconds: 3600,
      braintrust: { api_url: moved },
    });
    expect(put.status).toBe(200);

    // The top span, sent now, goes where the tenant points now; its waiting children stay bound to where theirs was sent.
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    const [deadLetter, ...more] = await waitForDeadLetters(tenant.id, (list) => list.length > 0);
    expect(more).toEqual([]);
    expect(deadLetter).toMatchObject({
      parent: "experiment_id:exp-eval",
      spans: 3,
      reason: `the tenant's api_url changed to ${moved} after the client's Braintrust key was sent for ${standin.url}, and the key goes nowhere else: replay once api_url is ${standin.url} again, or delete`,
    });
    expect((await standin.received(tenant.apiKey)).map((r) => [r.path, ids(spansOf(r.request))])).toEqual([
      ["/otel/v1/traces", ids(opener.all)],
      ["/self-hosted/otel/v1/traces", ids([trace.top])],
    ]);
  });

  it("a key Braintrust has not accepted yet keeps nothing waiting: its undecided trace is decided at once by the default parent", async () => {
    const tenant = await passthroughRoutingTenant();
    const trace = gatewayTrace({ env: "eval" });

    await sendTraces(tenant, toProtobuf(requestOf(trace.children)));
    await sendTraces(tenant, toProtobuf(requestOf([trace.top])));

    // Whole, in one place: the default parent, which the first request decided with what it knew.
    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "project_name:default": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a key Braintrust accepts on its first request has that request's decision remembered: spans sent after it follow", async () => {
    const tenant = await passthroughRoutingTenant();
    const trace = gatewayTrace({ env: "eval" });

    // The first request's key is not trusted yet; once Braintrust took its spans, its decision is stored.
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);

    // With an hour's wait, the children arriving at all means they found the decision.
    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a key Braintrust accepts at one parent and refuses at another has its request's decision remembered only where it took the spans", async () => {
    const tenant = await passthroughRoutingTenant();
    const taken = gatewayTrace({ env: "prod" });
    const refused = gatewayTrace({ env: "eval" });
    // The key may write to the default project, not to the experiment.
    await standin.script(tenant.apiKey, [{ parent: EVAL_ROUTE.parent, status: 403, body: "Forbidden" }]);

    await sendTraces(tenant, toProtobuf(requestOf([...taken.all, ...refused.all])));

    const decisions = await Promise.all(
      [taken, refused].map(async ({ traceId }) => (await traceRoutesObject(env, tenant, hex(traceId)[0]!).decisions([hex(traceId)]))[0]),
    );
    expect(decisions).toEqual(["project_name:default", null]);
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status).sort()).toEqual([200, 403]);
  });

  it("a key Braintrust accepts whose request's decisions the object cannot store is answered as delivered, with a trace_routes_failed line that does not hold the key", async () => {
    const tenant = await passthroughRoutingTenant();
    const trace = gatewayTrace({ env: "eval" });
    const { name } = traceRoutesOf(tenant, trace.traceId);
    const reset = { TRACE_ROUTES: failingObject(env.TRACE_ROUTES, name!, "settle", "Durable Object reset because its code was updated.") };

    const { result: response, lines, errors } = await loggedWhile(() => sendTracesWith(tenant, toProtobuf(requestOf([trace.top])), reset));

    expect(response.status).toBe(200);
    expect(errors.filter((e) => e.tenant === tenant.id)).toEqual([
      {
        event: "trace_routes_failed",
        tenant: tenant.id,
        error: "Durable Object reset because its code was updated.",
        request_id: expect.any(String),
      },
    ]);
    expect(JSON.stringify([lines, errors])).not.toContain(tenant.apiKey);
    expect(await viewsOnceArrived(tenant, [trace.top])).toEqual({
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 1 }], unlisted: 0 },
    });
  });

  it("reports how many traces and spans wait, per tenant", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    await sendTraces(tenant, toProtobuf(requestOf(trace.children)));

    const response = await admin("GET", `/tenants/${tenant.id}/waiting-traces`);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ traces: 1, spans: 3 });
  });
});

/**
 * Any key-shaped bearer passes a passthrough tenant's authentication, and trace ids are not secret
 * (they travel in `traceparent`): a request whose key Braintrust refuses must leave nothing behind
 * that decides where anyone else's spans of a trace go.
 */
describe.concurrent("a passthrough key Braintrust refuses decides no trace", () => {
  const stranger = (tenant: TestTenant) => ({ id: tenant.id, bearer: `sk-stranger-${crypto.randomUUID()}` });

  it("a stranger's span that matches a route does not send the client's trace to that route's parent", async () => {
    const tenant = await passthroughRoutingTenant();
    const trace = gatewayTrace({ env: "prod" });
    const claim = spanWith("evil", [attr("tfy.request.metadata", JSON.stringify({ env: "eval" }))], {
      traceId: trace.traceId,
      parentSpanId: randomId(8),
    });

    expect((await sendTraces(stranger(tenant), toProtobuf(requestOf([claim])))).status).toBe(401);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
      "project_name:default": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a stranger's undecided span neither pins the client's trace to the default parent nor releases the client's waiting spans", async () => {
    const tenant = await passthroughRoutingTenant();
    const opener = await acceptKey(tenant);
    const trace = gatewayTrace({ env: "eval" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    const child = spanWith("Guardrail: evil", [attr("tfy.span_type", "Guardrail")], {
      traceId: trace.traceId,
      parentSpanId: trace.top.spanId,
    });

    expect((await sendTraces(stranger(tenant), toProtobuf(requestOf([child])))).status).toBe(401);
    expect(await waitingSpans(tenant.id)).toBe(3);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, [opener, ...trace.all])).toEqual({
      "project_name:default": { traces: [{ root: opener.name, spans: 1 }], unlisted: 0 },
      "experiment_id:exp-eval": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
    });
  });

  it("a stranger's top span does not decide a trace whose spans wait for the client's", async () => {
    const tenant = await passthroughRoutingTenant();
    const opener = await acceptKey(tenant);
    const trace = gatewayTrace({ env: "prod" });
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    const top = spanWith("ChatCompletion: evil", [attr("tfy.span_type", "ChatCompletion")], { traceId: trace.traceId });
    top.attributes.push(attr("tfy.request.metadata", JSON.stringify({ env: "eval" })));

    expect((await sendTraces(stranger(tenant), toProtobuf(requestOf([top])))).status).toBe(401);
    expect(await waitingSpans(tenant.id)).toBe(3);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    expect(await viewsOnceArrived(tenant, [opener, ...trace.all])).toEqual({
      "project_name:default": {
        traces: [
          { root: opener.name, spans: 1 },
          { root: trace.top.name, spans: 4 },
        ],
        unlisted: 0,
      },
    });
  });
});
