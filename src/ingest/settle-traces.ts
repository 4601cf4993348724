import { clientKeyContext } from "../deliver/message.js";
import { shardOf, traceRoutesObject } from "../deliver/trace-route-shards.js";
import { MAX_WAITING_PIECE_BYTES, type SettleRequest, type TraceReport, type TraceSettlement } from "../deliver/trace-routes.js";
import { RelayError } from "../http/errors.js";
import { errorText, logEvent } from "../log/events.js";
import { assembleRequest, type OutgoingSpan } from "../otlp/outgoing.js";
import type { ProcessedSpans, RequestTrace, RequestTraces } from "../process/process-spans.js";
import { sealSecret } from "../secrets/seal.js";
import type { BraintrustCredential } from "../tenants/credentials.js";
import type { Tenant } from "../tenants/schema.js";
import { batchesByParent } from "./prepare-deliveries.js";

/** What the client is told to wait when the objects could not settle its traces. */
const TRACE_ROUTES_RETRY_AFTER_SECONDS = 10;

export interface SettledTraces {
  /** The spans to deliver now, one batch per parent. */
  processed: ProcessedSpans;
  /** Spans the objects keep until their trace is decided. */
  waitingSpans: number;
}

/**
 * Asks the tenant's trace-routes objects where each trace of the request goes, one call per object,
 * in parallel. Undecided traces go with their bytes, so an object that keeps them has them
 * durably before the client hears 2xx. A key Braintrust has not accepted yet keeps nothing
 * (deliver/during-request.ts), so its undecided traces are decided by their default parent.
 * Throws 503 with Retry-After when any object fails: the client keeps its spans and sends them again.
 */
export async function settleTraces(
  env: Env,
  source: Uint8Array,
  request: RequestTraces,
  tenant: Tenant,
  credential: BraintrustCredential,
): Promise<SettledTraces> {
  const { traces } = request;
  const mayWait = credential.trusted;
  const sealedClientKey =
    mayWait && credential.mode === "passthrough" && traces.some((t) => !t.decided)
      ? await sealSecret(credential.apiKey, env.ENCRYPTION_KEY, clientKeyContext(tenant.id))
      : undefined;
  const undecided = undecidedSpans(request);
  const byShard = new Map<string, RequestTrace[]>();
  for (const trace of traces) {
    const shard = shardOf(trace.trace);
    const group = byShard.get(shard);
    if (group) group.push(trace);
    else byShard.set(shard, [trace]);
  }
  const calls = [...byShard].map(async ([shard, group]) => {
    const settle: SettleRequest = {
      tenant: tenant.id,
      incarnation: tenant.incarnation,
      defaultParent: tenant.parent,
      sealedClientKey,
      waitSeconds: tenant.trace_wait_seconds,
      traces: group.map((t) => reportOf(t, undecided.get(t), source, mayWait)),
    };
    const settled = await traceRoutesObject(env, tenant.id, shard).settle(settle);
    return group.map((trace, i): [RequestTrace, TraceSettlement] => [trace, settled[i]!]);
  });
  let answers: Map<RequestTrace, TraceSettlement>;
  try {
    answers = new Map((await Promise.all(calls)).flat());
  } catch (err) {
    logEvent({ event: "trace_routes_failed", tenant: tenant.id, error: errorText(err) });
    throw new RelayError("unavailable", "the relay could not decide where the request's traces go: retry later", {
      retryAfterSeconds: TRACE_ROUTES_RETRY_AFTER_SECONDS,
    });
  }
  const parentOf = (trace: RequestTrace) => {
    const settlement = answers.get(trace);
    return settlement && "parent" in settlement ? settlement.parent : undefined;
  };
  const waitingSpans = request.traceOf.reduce((sum, trace) => sum + (parentOf(trace) === undefined ? 1 : 0), 0);
  return { processed: batchesByParent(request, parentOf), waitingSpans };
}

function reportOf(
  { trace, decided, parent }: RequestTrace,
  spans: OutgoingSpan[] | undefined,
  source: Uint8Array,
  mayWait: boolean,
): TraceReport {
  if (decided) return { trace, decided: parent };
  if (!mayWait || !spans) return { trace };
  const protobuf = assembleRequest(source, spans);
  return protobuf.byteLength <= MAX_WAITING_PIECE_BYTES ? { trace, waiting: { protobuf, spans: spans.length } } : { trace };
}

/** The spans of each trace the request does not decide, in order: the only ones that may have to wait. */
function undecidedSpans({ spans, traceOf }: RequestTraces): Map<RequestTrace, OutgoingSpan[]> {
  const byTrace = new Map<RequestTrace, OutgoingSpan[]>();
  spans.forEach((span, i) => {
    const trace = traceOf[i]!;
    if (trace.decided) return;
    const list = byTrace.get(trace);
    if (list) list.push(span);
    else byTrace.set(trace, [span]);
  });
  return byTrace;
}
