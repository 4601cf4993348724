import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { toProtobuf } from "../scripts/lib/traces.js";
import { hex } from "../src/encoding/bytes.js";
import { recordingCursors } from "./support/bindings.js";
import { loggedWhile } from "./support/logs.js";
import { sendTraces } from "./support/relay.js";
import { alarmIn, gatewayTrace, routingTenant, traceRoutesOf, waitingSpans } from "./support/routing.js";
import { requestOf } from "./support/traces.js";

/**
 * A trace-routes object's alarm does all its later work: it ends waits, hands decided spans to the
 * queue and forgets decisions past their day. Nothing else runs it, so when it is set is what these
 * tests prove: an object left without its alarm keeps spans, or decisions, for ever.
 */

const HOUR = 60 * 60 * 1000;

/** Two traces of one shard, so of one object. */
function tracesOfOneObject(metadata: Record<string, string>) {
  const traces = [gatewayTrace(metadata), gatewayTrace(metadata)];
  for (const trace of traces) trace.traceId[15] = 0xe7;
  return traces;
}

describe.concurrent("the trace-routes object's alarm", () => {
  it("an object that only decides, with nothing waiting, forgets its decisions after their day: its alarm is set to sweep them", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);

    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.all)))).status).toBe(200);
    expect(await object.decisions([hex(trace.traceId)])).toEqual(["experiment_id:exp-eval"]);
    const sweep = await alarmIn(object);
    expect(sweep).toBeGreaterThan(HOUR - 60_000);
    expect(sweep).toBeLessThanOrEqual(HOUR);

    // The decision's day over by the time the sweep runs.
    await runInDurableObject(object, (_instance, state) => {
      state.storage.sql.exec("UPDATE trace_routes SET decided_until = ? WHERE trace = ?", Date.now() - 1, hex(trace.traceId));
    });
    expect(await runDurableObjectAlarm(object)).toBe(true);
    expect(await object.decisions([hex(trace.traceId)])).toEqual([null]);
  });

  it("an alarm that hands a trace's spans to the queue reads them, not every decision the object remembers: those are swept once an hour", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const [swept, split] = tracesOfOneObject({ env: "eval" });
    const object = traceRoutesOf(tenant, split!.traceId);
    expect((await sendTraces(tenant, toProtobuf(requestOf(swept!.all)))).status).toBe(200);
    // A day of a busy tenant's traces of this object, decided; the object swept them within the hour.
    await runInDurableObject(object, (_instance, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
         INSERT INTO trace_routes (trace, parent, default_parent, decided_until) SELECT printf('%031d7', i), 'project_name:default', 'project_name:default', ? FROM n`,
        Date.now() + 12 * HOUR,
      );
    });
    expect(await runDurableObjectAlarm(object)).toBe(true);

    // A split trace: its children wait until its top span decides it, and the alarm hands them over.
    expect((await sendTraces(tenant, toProtobuf(requestOf(split!.children)))).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf([split!.top])))).status).toBe(200);
    const cursors = await runInDurableObject(object, (_instance, state) => recordingCursors(state.storage.sql));
    expect(await runDurableObjectAlarm(object)).toBe(true);

    expect(await waitingSpans(tenant.id)).toBe(0);
    expect(cursors.reduce((rows, cursor) => rows + cursor.rowsRead, 0)).toBeLessThan(100);
  });

  it("an alarm its own storage fails sets itself again in 30 s, rather than throw until Cloudflare gives up on it, and then hands the spans over", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 3600 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    expect((await sendTraces(tenant, toProtobuf(requestOf(trace.children)))).status).toBe(200);
    // Its wait over, and the table of traces out of reach, as storage failing is.
    await runInDurableObject(object, (_instance, state) => {
      state.storage.sql.exec("UPDATE trace_routes SET due_at = ?", Date.now() - 1);
      state.storage.sql.exec("ALTER TABLE trace_routes RENAME TO trace_routes_away");
    });

    const { errors } = await loggedWhile(() => runDurableObjectAlarm(object));

    expect(errors).toContainEqual(expect.objectContaining({ event: "trace_routes_failed", tenant: tenant.id }));
    const retry = await alarmIn(object);
    expect(retry).toBeGreaterThan(25_000);
    expect(retry).toBeLessThanOrEqual(30_000);
    expect(await waitingSpans(tenant.id)).toBe(3);
    await runInDurableObject(object, (_instance, state) => state.storage.sql.exec("ALTER TABLE trace_routes_away RENAME TO trace_routes"));
    expect(await runDurableObjectAlarm(object)).toBe(true);
    expect(await waitingSpans(tenant.id)).toBe(0);
  });

  it("a trace decided at once does not put off the end of another trace's wait: the alarm only ever moves earlier", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 60 });
    const [waiting, whole] = tracesOfOneObject({ env: "eval" });
    const object = traceRoutesOf(tenant, waiting!.traceId);
    expect((await sendTraces(tenant, toProtobuf(requestOf(waiting!.children)))).status).toBe(200);
    expect(await alarmIn(object)).toBeLessThanOrEqual(60_000);

    // Decided in this request: all it asks of the alarm is the sweep, an hour away.
    expect((await sendTraces(tenant, toProtobuf(requestOf(whole!.all)))).status).toBe(200);

    expect(await alarmIn(object)).toBeLessThanOrEqual(60_000);
    expect(await waitingSpans(tenant.id)).toBe(3);
  });

  it("a later part of a trace whose alarm was lost sets it by the trace's wait, which runs from its first part", async () => {
    const tenant = await routingTenant({ trace_wait_seconds: 60 });
    const trace = gatewayTrace({ env: "eval" });
    const object = traceRoutesOf(tenant, trace.traceId);
    const [guardrail, call, model] = trace.children;
    expect((await sendTraces(tenant, toProtobuf(requestOf([guardrail!])))).status).toBe(200);
    // What a call whose alarm write failed after it committed leaves (its client answered 503): no alarm.
    const dueAt = await runInDurableObject(object, async (_instance, state) => {
      await state.storage.deleteAlarm();
      return state.storage.sql.exec<{ due_at: number }>("SELECT due_at FROM trace_routes WHERE trace = ?", hex(trace.traceId)).one().due_at;
    });

    expect((await sendTraces(tenant, toProtobuf(requestOf([call!, model!])))).status).toBe(200);

    expect(await runInDurableObject(object, (_instance, state) => state.storage.getAlarm())).toBe(dueAt);
    expect(await waitingSpans(tenant.id)).toBe(3);
  });
});
