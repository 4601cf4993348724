import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attr, randomId, toProtobuf } from "../scripts/lib/traces.js";
import { traceRoutesObject } from "../src/deliver/trace-route-shards.js";
import { fromHex, hex } from "../src/encoding/bytes.js";
import { authoritativeTenant } from "../src/tenants/authoritative.js";
import { routeMatchKeys } from "../src/tenants/route-keys.js";
import { createTenant, sendTraces } from "./support/relay.js";
import {
  acceptKey,
  EVAL_ROUTE,
  endWaitNow,
  gatewayTrace,
  putWithRoutes,
  routingTenant,
  traceRoutesOf,
  viewsOnceArrived,
  waitingSpans,
  withTableAsBefore,
} from "./support/routing.js";
import { standin } from "./support/standin.js";
import { requestOf, spanWith } from "./support/traces.js";

describe.concurrent("routing weighs every span of a trace, in whatever request it came", () => {
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

    // An operator points a route at another project or experiment while traces it matched wait.
    const CHILD_ROUTE_MOVED = { ...CHILD_ROUTE, parent: "project_name:models-2" };

    it("a child that matched the second route waits, then that route's parent is changed: the trace goes to its new parent with its top span", async () => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "prod" });
      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      expect(await waitingSpans(tenant.id)).toBe(3);

      await putWithRoutes(tenant, [EVAL_ROUTE, CHILD_ROUTE_MOVED]);
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, trace.all)).toEqual({
        "project_name:models-2": { traces: [{ root: trace.top.name, spans: 4 }], unlisted: 0 },
      });
    });

    it("a child that matched a route whose parent is changed while it waits, whose top span never comes, goes to that new parent when its wait is over", async () => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "prod" });
      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      await putWithRoutes(tenant, [EVAL_ROUTE, CHILD_ROUTE_MOVED]);

      await endWaitNow(traceRoutesOf(tenant, trace.traceId), trace.traceId);

      expect(await viewsOnceArrived(tenant, trace.children)).toEqual({ "project_name:models-2": { traces: [], unlisted: 3 } });
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

    // Two isolates reading a tenant's routes as they were before and after a change (KV propagates it
    // within a minute): each request says its routes' parents and when they were saved.
    const BEFORE = "2026-12-05T09:00:00.000Z";
    const AFTER = "2026-12-05T10:00:00.000Z";

    /** A trace's object settled request by request, as isolates with these routes would: where its top span, read with the routes after, sends it. */
    async function decidedAfter(
      steps: Array<{ routes: string[]; keys?: string[]; at: string; candidate?: { parent: string; rank: number } }>,
    ) {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE], trace_wait_seconds: 3600 });
      const trace = `${hex(randomId(16)).slice(0, 31)}a`;
      const object = traceRoutesObject(env, tenant, "a");
      const request = {
        tenant: tenant.id,
        incarnation: undefined,
        defaultParent: "project_name:default",
        sealedClientKey: undefined,
        clientKeyApiUrl: undefined,
        waitSeconds: 3600,
      };
      for (const [i, { routes, keys, at, candidate }] of steps.entries()) {
        const child = { trace, ...(candidate ? { candidate } : {}), waiting: { protobuf: new Uint8Array([i]), spans: 1 } };
        await object.settle({ ...request, routeParents: routes, routeKeys: keys, routesAt: at, traces: [child] });
      }
      const { routes, keys, at } = steps.at(-1)!;
      const top = { trace, decided: request.defaultParent };
      return (await object.settle({ ...request, routeParents: routes, routeKeys: keys, routesAt: at, traces: [top] }))[0];
    }

    it("a child read with the routes before a route was added leaves the candidate that route named: the routes after judge it", async () => {
      const [after, before] = [[EVAL_ROUTE.parent, "project_name:models"], [EVAL_ROUTE.parent]];

      const decided = await decidedAfter([
        { routes: after, at: AFTER, candidate: { parent: "project_name:models", rank: 1 } },
        { routes: before, at: BEFORE },
        { routes: after, at: AFTER },
      ]);

      expect(decided).toEqual({ parent: "project_name:models" });
    });

    it("a child read with the routes before a route was added at the top names its own, which does not beat the new route's", async () => {
      const [after, before] = [["project_name:models", EVAL_ROUTE.parent], [EVAL_ROUTE.parent]];

      const decided = await decidedAfter([
        { routes: after, at: AFTER, candidate: { parent: "project_name:models", rank: 0 } },
        { routes: before, at: BEFORE, candidate: { parent: EVAL_ROUTE.parent, rank: 0 } },
        { routes: after, at: AFTER },
      ]);

      expect(decided).toEqual({ parent: "project_name:models" });
    });

    it("a child read with the routes after one was removed names a route that stands: the trace goes by it, not by the removed one", async () => {
      const [before, after] = [["project_name:removed", "project_name:models"], ["project_name:models"]];

      const decided = await decidedAfter([
        { routes: before, at: BEFORE, candidate: { parent: "project_name:removed", rank: 0 } },
        { routes: after, at: AFTER, candidate: { parent: "project_name:models", rank: 0 } },
        { routes: after, at: AFTER },
      ]);

      expect(decided).toEqual({ parent: "project_name:models" });
    });

    it("a child read with the routes after a route's parent changed names the new one; a top span read with the routes before does not send it back", async () => {
      // Both routes match alike: the key of their match is one.
      const [after, before, keys] = [
        [EVAL_ROUTE.parent, "project_name:models-2"],
        [EVAL_ROUTE.parent, "project_name:models"],
        ["eval", "model"],
      ];

      const decided = await decidedAfter([
        { routes: after, keys, at: AFTER, candidate: { parent: "project_name:models-2", rank: 1 } },
        { routes: before, keys, at: BEFORE },
      ]);

      expect(decided).toEqual({ parent: "project_name:models-2" });
    });

    it("a candidate named before its route's parent changed follows it once routes after weigh it; a top span read with the routes before does not send it back", async () => {
      const [before, after, keys] = [
        [EVAL_ROUTE.parent, "project_name:models"],
        [EVAL_ROUTE.parent, "project_name:models-2"],
        ["eval", "model"],
      ];

      const decided = await decidedAfter([
        { routes: before, keys, at: BEFORE, candidate: { parent: "project_name:models", rank: 1 } },
        { routes: after, keys, at: AFTER },
        { routes: before, keys, at: BEFORE },
      ]);

      expect(decided).toEqual({ parent: "project_name:models-2" });
    });

    it("a candidate an alarm sent to its route's new parent stays there for a top span read with the routes before", async () => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
      const keys = await routeMatchKeys((await authoritativeTenant(env, tenant.id))!.routes);
      const [waits, due] = [randomId(16), randomId(16)].map((id) => `${hex(id).slice(0, 31)}a`) as [string, string];
      const object = traceRoutesObject(env, tenant, "a");
      const before = {
        tenant: tenant.id,
        incarnation: tenant.incarnation,
        defaultParent: tenant.parent,
        sealedClientKey: undefined,
        clientKeyApiUrl: undefined,
        waitSeconds: 3600,
        routeParents: [EVAL_ROUTE.parent, CHILD_ROUTE.parent],
        routeKeys: keys,
        routesAt: BEFORE,
      };
      // Two traces whose spans that matched the second route were all dropped: each waits with its candidate alone.
      const candidate = { parent: CHILD_ROUTE.parent, rank: 1 };
      await object.settle({ ...before, traces: [waits, due].map((trace) => ({ trace, candidate, spanless: true as const })) });
      await putWithRoutes(tenant, [EVAL_ROUTE, CHILD_ROUTE_MOVED]);

      // The other trace's wait ends: the alarm weighs every candidate by the routes as they are now.
      await endWaitNow(object, fromHex(due));
      const [decided] = await object.settle({ ...before, traces: [{ trace: waits, decided: tenant.parent }] });

      expect(decided).toEqual({ parent: CHILD_ROUTE_MOVED.parent });
    });

    it("a child that matched a route removed since, whose top span never comes, goes to the default parent when its wait is over", async () => {
      const tenant = await routingTenant({ routes: [EVAL_ROUTE, CHILD_ROUTE], trace_wait_seconds: 3600 });
      const trace = gatewayTrace({ env: "prod" });
      const object = traceRoutesOf(tenant, trace.traceId);
      expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
      await putWithRoutes(tenant, [EVAL_ROUTE]);

      // Its wait over now, rather than in an hour.
      await endWaitNow(object, trace.traceId);

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

    it("a key Braintrust accepts on the request that carried the dropped span: its route is kept as a candidate, which a top span matching no route follows", async () => {
      const tenant = await createTenant({
        mode: "passthrough",
        parent: "project_name:default",
        config: { translate: false, drop_non_ai_spans: true, routes: [EVAL_ROUTE, ANTHROPIC_ROUTE], trace_wait_seconds: 3600 },
      });
      const opener = tracePartedByExporter("prod");
      const { trace, call, kept } = tracePartedByExporter("prod");

      // The key's first request: another trace, whole, and this trace's provider call alone, dropped.
      expect((await sendTraces(tenant, toProtobuf(requestOf([...opener.trace.all, call])))).status).toBe(200);
      expect((await sendTraces(tenant, toProtobuf(requestOf(kept.slice(0, 2))))).status).toBe(200);
      expect((await sendTraces(tenant, toProtobuf(requestOf([trace.top])))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, [...opener.kept, ...kept])).toEqual({
        "project_name:anthropic": {
          traces: expect.arrayContaining([
            { root: opener.trace.top.name, spans: 3 },
            { root: trace.top.name, spans: 3 },
          ]),
          unlisted: 0,
        },
      });
    });

    it("a key Braintrust accepts on the request whose only span of a trace, dropped, matched the first route: that route decides the trace, as a trusted key's would", async () => {
      const tenant = await createTenant({
        mode: "passthrough",
        parent: "project_name:default",
        config: { translate: false, drop_non_ai_spans: true, routes: [ANTHROPIC_ROUTE, EVAL_ROUTE], trace_wait_seconds: 3600 },
      });
      // Braintrust takes the key with another trace, at the default parent: no span of the request goes to the first route's.
      const opener = gatewayTrace({ env: "prod" });
      const openerKept = opener.all.filter((span) => span !== opener.children[1]);
      const { trace, call, kept } = tracePartedByExporter("prod");

      expect((await sendTraces(tenant, toProtobuf(requestOf([...opener.all, call])))).status).toBe(200);
      expect((await sendTraces(tenant, toProtobuf(requestOf(kept)))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, [...openerKept, ...kept])).toEqual({
        "project_name:default": { traces: [{ root: opener.top.name, spans: 3 }], unlisted: 0 },
        "project_name:anthropic": { traces: [{ root: trace.top.name, spans: 3 }], unlisted: 0 },
      });
    });

    it("nothing else comes within the wait: the trace is decided by the dropped span's route, which its late spans follow", async () => {
      const tenant = await routingTenant({ drop_non_ai_spans: true, routes: [EVAL_ROUTE, ANTHROPIC_ROUTE], trace_wait_seconds: 3600 });
      const { trace, call, kept } = tracePartedByExporter("eval");
      const object = traceRoutesOf(tenant, trace.traceId);

      expect((await sendTraces(tenant, toProtobuf(requestOf([call])))).status).toBe(200);
      await endWaitNow(object, trace.traceId);
      expect(await object.decisions([hex(trace.traceId)])).toEqual(["project_name:anthropic"]);
      expect((await sendTraces(tenant, toProtobuf(requestOf(kept)))).status).toBe(200);

      expect(await viewsOnceArrived(tenant, kept)).toEqual({
        "project_name:anthropic": { traces: [{ root: trace.top.name, spans: 3 }], unlisted: 0 },
      });
    });

    it("its route removed while the trace waits, in an object where no spans wait: it names nothing once the wait is over", async () => {
      const tenant = await routingTenant({ drop_non_ai_spans: true, routes: [EVAL_ROUTE, ANTHROPIC_ROUTE], trace_wait_seconds: 3600 });
      const { trace, call, kept } = tracePartedByExporter("prod");
      const object = traceRoutesOf(tenant, trace.traceId);

      expect((await sendTraces(tenant, toProtobuf(requestOf([call])))).status).toBe(200);
      expect(await waitingSpans(tenant.id)).toBe(0);
      await putWithRoutes(tenant, [EVAL_ROUTE], { drop_non_ai_spans: true, trace_wait_seconds: 3600 });

      await endWaitNow(object, trace.traceId);
      expect(await object.decisions([hex(trace.traceId)])).toEqual(["project_name:default"]);
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
});
