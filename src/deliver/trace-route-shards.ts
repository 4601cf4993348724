import type { TraceRoutes } from "./trace-routes.js";
import { type TraceRoutesOwner, traceRoutesName } from "./trace-routes-name.js";
import type { WaitingTotals } from "./trace-wait-store.js";

/**
 * A routing tenant's trace-routes objects: one per last hex digit of the trace id. That digit is
 * random, so each object takes a sixteenth of the tenant's traces and waiting spans, and a request
 * calls at most sixteen objects, all at once (README, "Routing by trace"). Not the first: W3C Trace
 * Context promises randomness only in an id's right-most bytes, and ids the gateway may continue
 * from a caller often start alike (Datadog's and AWS X-Ray's with the time, 64-bit Zipkin and Jaeger
 * ids with zeros), which would put all of a tenant's traces in one object.
 */
export const TRACE_ROUTE_SHARDS = [..."0123456789abcdef"];

/** The object deciding the traces of `tenant` whose id (hex) ends with `shard` (named as trace-routes-name.ts says). */
export function traceRoutesObject(env: Env, tenant: TraceRoutesOwner, shard: string): DurableObjectStub<TraceRoutes> {
  return env.TRACE_ROUTES.getByName(traceRoutesName(tenant, shard));
}

/** The shard of a trace id in hex. */
export function shardOf(trace: string): string {
  return trace.at(-1) ?? "0";
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
