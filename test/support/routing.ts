import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, randomId, toProtobuf } from "../../scripts/lib/traces.js";
import { shardOf, traceRoutesObject } from "../../src/deliver/trace-route-shards.js";
import type { TraceRoutes } from "../../src/deliver/trace-routes.js";
import { hex } from "../../src/encoding/bytes.js";
import { viewsByParent } from "./parent-views.js";
import { admin, createTenant, sendTraces, type TestTenant } from "./relay.js";
import { standin } from "./standin.js";
import { requestOf, spanWith } from "./traces.js";

/** Routing by trace: the tenants, traces and readings the tests of its decisions, waits and bounds share. */

export const EVAL_ROUTE = { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:exp-eval" };

/** The object deciding a trace of the tenant's, found as the relay finds it: by the shard of the trace's id. */
export function traceRoutesOf(tenant: TestTenant, traceId: Uint8Array) {
  return traceRoutesObject(env, tenant, shardOf(hex(traceId)));
}

/** A gateway chat completion as TrueFoundry exports it: the top span (with the request metadata) and, below it, a guardrail and the model call. */
export function gatewayTrace(metadata: Record<string, string>, options: { callerParent?: Uint8Array } = {}) {
  const traceId = randomId(16);
  const top = spanWith(
    "ChatCompletion: openai/gpt-4.1-mini",
    [attr("tfy.span_type", "ChatCompletion"), attr("tfy.request.metadata", JSON.stringify(metadata))],
    { traceId, ...(options.callerParent ? { parentSpanId: options.callerParent } : {}) },
  );
  const model = spanWith("Model: gpt-4.1-mini", [attr("tfy.span_type", "Model")], { traceId, parentSpanId: top.spanId });
  const guardrail = spanWith("Guardrail: pii", [attr("tfy.span_type", "Guardrail")], { traceId, parentSpanId: top.spanId });
  const call = spanWith("POST api.openai.com", [], { traceId, parentSpanId: model.spanId });
  return { traceId, top, children: [guardrail, call, model], all: [guardrail, call, model, top] };
}

export function routingTenant(config: Record<string, unknown> = {}): Promise<TestTenant> {
  return createTenant({ parent: "project_name:default", config: { translate: false, routes: [EVAL_ROUTE], ...config } });
}

export const ids = (spans: Span[]) => spans.map((s) => hex(s.spanId));

/** How many of the tenant's spans wait for their traces' decisions, as the admin API reports it. */
export async function waitingSpans(tenantId: string): Promise<number> {
  return ((await (await admin("GET", `/tenants/${tenantId}/waiting-traces`)).json()) as { spans: number }).spans;
}

/** Each parent's view once every one of `spans` arrived, each once. */
export async function viewsOnceArrived(tenant: TestTenant, spans: Span[]) {
  const arrival = await standin.waitForSpans(tenant.apiKey, ids(spans));
  expect(arrival.missing).toEqual([]);
  expect(arrival.duplicates).toBe(0);
  return viewsByParent(arrival.requests);
}

/**
 * Ends the trace's wait now and runs the object's alarm, as its end would: a test that must act
 * while a trace waits gives it an hour, which no machine however slow lets pass, then ends it here.
 */
export async function endWaitNow(object: DurableObjectStub<TraceRoutes>, traceId: Uint8Array): Promise<void> {
  await runInDurableObject(object, (_instance, state) => {
    state.storage.sql.exec("UPDATE trace_routes SET due_at = ? WHERE trace = ?", Date.now() - 1, hex(traceId));
  });
  await runDurableObjectAlarm(object);
}

/** How long until the object's alarm, in ms; undefined when none is set. */
export function alarmIn(object: DurableObjectStub<TraceRoutes>): Promise<number | undefined> {
  return runInDurableObject(object, async (_instance, state) => {
    const at = await state.storage.getAlarm();
    return at === null ? undefined : at - Date.now();
  });
}

/** A passthrough tenant that routes eval traces to the experiment and keeps traces waiting an hour. */
export function passthroughRoutingTenant(): Promise<TestTenant> {
  return createTenant({
    mode: "passthrough",
    parent: "project_name:default",
    config: { translate: false, routes: [EVAL_ROUTE], trace_wait_seconds: 3600 },
  });
}

/** Has Braintrust accept the tenant's key with a one-span trace at the default parent, so spans sent with it may wait; that trace's top span. */
export async function acceptKey(tenant: TestTenant): Promise<Span> {
  const opener = spanWith("opener", []);
  // Started first, so Braintrust's Logs list it first.
  opener.startTimeUnixNano -= 1_000_000_000n;
  expect((await sendTraces(tenant, toProtobuf(requestOf([opener])))).status).toBe(200);
  return opener;
}

/** The tenant replaced with these routes (its key and URL kept); the admin API's view of it. */
export async function putWithRoutes(
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

export const putWithoutRoutes = (tenant: TestTenant) => putWithRoutes(tenant, []);

/** Gives the object one of its tables as an older relay made it (`create`), empty, and starts it again, as a deploy does. */
export async function withTableAsBefore(object: DurableObjectStub<TraceRoutes>, table: string, create: string): Promise<void> {
  await runInDurableObject(object, (_instance, state) => {
    state.storage.sql.exec(`DROP TABLE ${table}`);
    state.storage.sql.exec(create);
  });
  await evictDurableObject(object);
}
