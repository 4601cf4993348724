import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attr, randomId, spansOf, toProtobuf } from "../scripts/lib/traces.js";
import { MAX_ATTEMPTS_DURING_REQUEST } from "../src/deliver/during-request.js";
import { shardOf, traceRoutesObject } from "../src/deliver/trace-route-shards.js";
import { traceRoutesName } from "../src/deliver/trace-routes-name.js";
import { hex } from "../src/encoding/bytes.js";
import { failingObject, meddlingObjects } from "./support/bindings.js";
import { waitForDeadLetters } from "./support/dead-letters.js";
import { loggedWhile } from "./support/logs.js";
import { admin, createTenant, sendTraces, sendTracesWith, type TestTenant } from "./support/relay.js";
import {
  acceptKey,
  EVAL_ROUTE,
  gatewayTrace,
  ids,
  passthroughRoutingTenant,
  traceRoutesOf,
  viewsOnceArrived,
  waitingSpans,
} from "./support/routing.js";
import { standin } from "./support/standin.js";
import { exportResponseOf, requestOf, spanWith } from "./support/traces.js";

describe.concurrent("a passthrough client's trace, decided once Braintrust accepts its key", () => {
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

  it("a key Braintrust has not accepted yet hears 503, and nothing is sent, when a trace-routes object cannot say what it decided", async () => {
    const tenant = await passthroughRoutingTenant();
    const trace = gatewayTrace({ env: "eval" });
    const name = traceRoutesName(tenant, shardOf(hex(trace.traceId)));
    const overloaded = { TRACE_ROUTES: failingObject(env.TRACE_ROUTES, name, "decisions", "Durable Object is overloaded") };

    const response = await sendTracesWith(tenant, toProtobuf(requestOf(trace.all)), overloaded);

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).not.toBeNull();
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
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
      [taken, refused].map(
        async ({ traceId }) => (await traceRoutesObject(env, tenant, shardOf(hex(traceId))).decisions([hex(traceId)]))[0],
      ),
    );
    expect(decisions).toEqual(["project_name:default", null]);
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status).sort()).toEqual([200, 403]);
  });

  it("a key Braintrust accepts on a first request to more parents than it attempts has the decisions of the parents it queued remembered too", async () => {
    const tenant = await createTenant({
      mode: "passthrough",
      parent: "project_name:default",
      config: { translate: false, parent_from_attribute: true, routes: [EVAL_ROUTE], trace_wait_seconds: 3600 },
    });
    const traces = Array.from({ length: MAX_ATTEMPTS_DURING_REQUEST + 4 }, (_, i) => {
      const traceId = randomId(16);
      const parent = `project_name:p-${String(i).padStart(2, "0")}`;
      return { traceId, parent, top: spanWith(`call for ${parent}`, [attr("braintrust.parent", parent)], { traceId }) };
    });

    expect((await sendTraces(tenant, toProtobuf(requestOf(traces.map((t) => t.top))))).status).toBe(200);

    const decisions = await Promise.all(
      traces.map(async ({ traceId }) => (await traceRoutesOf(tenant, traceId).decisions([hex(traceId)]))[0]),
    );
    expect(decisions).toEqual(traces.map((t) => t.parent));
  });

  it("a request whose only delivery Braintrust refuses the key for, beside another trace's spans kept to wait, is answered 200: those spans were kept", async () => {
    const tenant = await passthroughRoutingTenant();
    const opener = await acceptKey(tenant);
    // The key may write to the default project, not to the experiment.
    await standin.script(tenant.apiKey, [{ parent: EVAL_ROUTE.parent, status: 403, body: "Forbidden" }]);
    const refused = gatewayTrace({ env: "eval" });
    const other = gatewayTrace({ env: "prod" });

    // A whole eval trace, decided and refused at once, and another trace's children, kept to wait for their top span.
    const response = await sendTraces(tenant, toProtobuf(requestOf([...refused.all, ...other.children])));
    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toMatchObject({
      rejectedSpans: BigInt(refused.all.length),
      errorMessage: `${refused.all.length} spans for ${EVAL_ROUTE.parent} not kept, since Braintrust refused the client's key: Braintrust answered 403: Forbidden`,
    });
    expect(await waitingSpans(tenant.id)).toBe(other.children.length);

    // What the client was told was kept reaches Braintrust with its top span.
    expect((await sendTraces(tenant, toProtobuf(requestOf([other.top])))).status).toBe(200);
    const views = await viewsOnceArrived(tenant, [opener, ...other.all]);
    expect(views["project_name:default"]?.traces).toContainEqual({ root: other.top.name, spans: other.all.length });
  });

  it("the same request sent again after a 503 whose objects had kept its spans is answered 200 too, though they are not kept anew", async () => {
    const tenant = await passthroughRoutingTenant();
    await acceptKey(tenant);
    await standin.script(tenant.apiKey, [{ parent: EVAL_ROUTE.parent, status: 403, body: "Forbidden" }]);
    const refused = gatewayTrace({ env: "eval" });
    const other = gatewayTrace({ env: "prod" });
    const request = toProtobuf(requestOf([...refused.all, ...other.children]));
    // Each object keeps what it is sent, and its answer is lost.
    const answerLost = {
      TRACE_ROUTES: meddlingObjects(env.TRACE_ROUTES, "settle", "after", async () => {
        throw new Error("Network connection lost.");
      }),
    };

    expect((await sendTracesWith(tenant, request, answerLost)).status).toBe(503);
    const again = await sendTraces(tenant, request);

    expect(again.status).toBe(200);
    expect((await exportResponseOf(again)).partialSuccess?.rejectedSpans).toBe(BigInt(refused.all.length));
    expect(await waitingSpans(tenant.id)).toBe(other.children.length);
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

  it("a stranger's span drop_non_ai_spans drops, in a request with nothing to deliver, does not route the client's trace", async () => {
    const anthropic = { match: { field: "span_name", prefix: "POST https://api.anthropic.com/" }, parent: "project_name:anthropic" };
    const tenant = await createTenant({
      mode: "passthrough",
      parent: "project_name:default",
      config: { translate: false, drop_non_ai_spans: true, routes: [anthropic], trace_wait_seconds: 3600 },
    });
    // The client's key accepted, so its spans may wait: a whole trace of AI spans, delivered.
    const opener = gatewayTrace({});
    expect((await sendTraces(tenant, toProtobuf(requestOf(opener.all)))).status).toBe(200);
    const trace = gatewayTrace({});
    // Dropped, so nothing is sent and Braintrust never judges the stranger's key.
    const claim = spanWith("POST https://api.anthropic.com/v1/messages", [], { traceId: trace.traceId, parentSpanId: trace.top.spanId });

    expect((await sendTraces(stranger(tenant), toProtobuf(requestOf([claim])))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

    // The gateway's provider call span in each trace is dropped too: three spans of each arrive.
    const kept = (t: typeof trace) => t.all.filter((span) => span !== t.children[1]);
    expect(await viewsOnceArrived(tenant, [...kept(opener), ...kept(trace)])).toEqual({
      "project_name:default": {
        traces: expect.arrayContaining([
          { root: opener.top.name, spans: 3 },
          { root: trace.top.name, spans: 3 },
        ]),
        unlisted: 0,
      },
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

describe("a key not yet accepted whose delivery to one parent Braintrust halved (413)", () => {
  it("decides its traces where Braintrust took spans alone, the halves' results read by their own parent", async () => {
    const tenant = await passthroughRoutingTenant();
    const taken = gatewayTrace({ env: "prod" });
    const refused = gatewayTrace({ env: "eval" });
    await standin.script(tenant.apiKey, [
      { parent: "project_name:default", status: 413, body: '{"error":"Request too large"}' },
      { parent: EVAL_ROUTE.parent, status: 403, body: "Forbidden" },
    ]);

    const response = await sendTraces(tenant, toProtobuf(requestOf([...taken.all, ...refused.all])));

    expect(response.status).toBe(200);
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status).sort()).toEqual([200, 200, 403, 413]);
    const decisions = await Promise.all(
      [taken, refused].map(
        async ({ traceId }) => (await traceRoutesObject(env, tenant, shardOf(hex(traceId))).decisions([hex(traceId)]))[0],
      ),
    );
    expect(decisions).toEqual(["project_name:default", null]);
  });
});
