import type { Tenant } from "../tenants/schema.js";
import type { TraceRoutes } from "./trace-routes.js";
import type { WaitingTotals } from "./trace-wait-store.js";

/**
 * A routing tenant's trace-routes objects: one per first hex digit of the trace id. Trace ids are
 * random, so each object takes a sixteenth of the tenant's traces and waiting spans, and a request
 * calls at most sixteen objects, all at once (README, "Routing by trace").
 */
export const TRACE_ROUTE_SHARDS = [..."0123456789abcdef"];

/** Whose traces an object decides: a tenant, and the incarnation of it (tenants/schema.ts). */
export type TraceRoutesOwner = Pick<Tenant, "id" | "incarnation">;

/**
 * The object deciding the traces of `tenant` whose id (hex) starts with `shard`. One per incarnation:
 * a tenant deleted and created again under its id starts with objects of its own, so the decisions
 * the deleted one made (kept a day) never send the next owner's spans to its parents, and spans it
 * left waiting never pass for the same bytes sent by the next owner, which were then kept nowhere. A
 * record without an incarnation keeps the name objects had before there were any.
 */
export function traceRoutesObject(env: Env, tenant: TraceRoutesOwner, shard: string): DurableObjectStub<TraceRoutes> {
  const name = tenant.incarnation === undefined ? `${tenant.id}:${shard}` : `${tenant.id}:${tenant.incarnation}:${shard}`;
  return env.TRACE_ROUTES.getByName(name);
}

/** The shard of a trace id in hex. */
export function shardOf(trace: string): string {
  return trace[0] ?? "0";
}

/** What waits for the tenant across its objects, for operators. */
export async function waitingTraces(env: Env, tenant: TraceRoutesOwner): Promise<WaitingTotals> {
  const totals = await Promise.all(TRACE_ROUTE_SHARDS.map((shard) => traceRoutesObject(env, tenant, shard).waiting()));
  return totals.reduce((sum, t) => ({ traces: sum.traces + t.traces, spans: sum.spans + t.spans, bytes: sum.bytes + t.bytes }), {
    traces: 0,
    spans: 0,
    bytes: 0,
  });
}
