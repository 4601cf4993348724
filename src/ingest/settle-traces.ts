import { type QueuedClientKey, sealClientKey } from "../deliver/client-key.js";
import { shardOf, traceRoutesObject } from "../deliver/trace-route-shards.js";
import type { SettleRequest, TraceReport, TraceRoutes, TraceSettlement } from "../deliver/trace-routes.js";
import { MAX_WAITING_BYTES_PER_OBJECT, partOverRow } from "../deliver/trace-wait-limits.js";
import { RelayError } from "../http/errors.js";
import { TRANSIENT_RETRY_AFTER_SECONDS } from "../http/retry-after.js";
import { errorText, logEvent } from "../log/events.js";
import { assembleRequest, type OutgoingSpan, sizeBound } from "../otlp/outgoing.js";
import { addModelCall, type ProcessedSpans, type RequestTrace, type RequestTraces, type UsageByParent } from "../process/process-spans.js";
import type { TraceCandidate } from "../process/route.js";
import type { ModelUsageCounts } from "../stats/counts.js";
import { countSpans, countUsage } from "../stats/recorder.js";
import type { BraintrustCredential } from "../tenants/credentials.js";
import { routeMatchKeys } from "../tenants/route-keys.js";
import { maskingRulesDigest } from "../tenants/rules-digest.js";
import type { Tenant } from "../tenants/schema.js";
import { batchesByParent } from "./prepare-deliveries.js";

/**
 * Where one request alone sent a trace no object had decided, or, for a trace whose spans it
 * dropped all of, what they said (a parent they settle, a candidate): stored only once Braintrust
 * took spans sent with its key.
 */
export type ProvisionalDecision =
  | { trace: string; parent: string }
  | { trace: string; dropped: { decided?: string; candidate?: TraceCandidate } };

interface SettledTraces {
  /** The spans to deliver now, one batch per parent. */
  processed: ProcessedSpans;
  /** Spans the objects keep until their trace is decided, but those they kept already, from the request sent before. */
  waitingSpans: number;
  /** The model calls among the spans to deliver now, by the parent they go to, then by model. */
  usage: UsageByParent;
  /** The model calls among the spans the objects kept now (`waitingSpans`), by model: none of those kept before, counted then. */
  keptUsage: Record<string, ModelUsageCounts>;
  /** Whether any span of the request waits in an object, kept now or by the request sent before. */
  anyWaiting: boolean;
  /** A key Braintrust has not accepted yet: the decisions for `rememberAccepted`. Empty for a trusted credential, whose traces the objects settled. */
  provisional: ProvisionalDecision[];
  /** The trace-routes objects called, each a subrequest of the request's. */
  objectsCalled: number;
}

/**
 * Asks the tenant's trace-routes objects where each trace of the request goes, one call per object,
 * in parallel. Undecided traces go with their bytes, so an object that keeps them has them
 * durably before the client hears 2xx. Throws 503 with Retry-After when any object fails: the
 * client keeps its spans and sends them again.
 *
 * A key Braintrust has not accepted yet may be anyone's, and trace ids are not secret (they travel in
 * `traceparent`), so its request only reads what the objects decided: its other traces go where it
 * alone says (a route's parent, else the default parent) and nothing of them is stored, neither a
 * decision nor waiting spans, until Braintrust has taken spans sent with the key (`rememberAccepted`).
 * A stranger's refused request so leaves nothing behind, while a real client's first request in an
 * isolate still decides its traces, a moment later, for the spans that follow.
 */
export async function settleTraces(
  env: Env,
  source: Uint8Array,
  request: RequestTraces,
  tenant: Tenant,
  credential: BraintrustCredential,
): Promise<SettledTraces> {
  if (!credential.trusted) return settleProvisionally(env, request, tenant);
  const { traces } = request;
  const clientKey =
    credential.mode === "passthrough" && traces.some((t) => !t.decided)
      ? await sealClientKey(credential.apiKey, env, tenant.id, tenant.api_url)
      : undefined;
  const digests = await recordDigests(tenant);
  const undecided = undecidedSpans(request);
  // One room for all the request's objects: each trace's part is a copy of its spans with their
  // resource and scope, so a request of many traces under a large resource would otherwise copy it
  // once a trace, many times the request's own size.
  const room = { bytes: MAX_WAITING_BYTES_PER_OBJECT };
  const {
    answers: settlements,
    failure,
    objectsCalled,
  } = await eachObjectAnswers(env, tenant, traces, (object, group) =>
    object.settle(settleRequest(tenant, digests, clientKey, reportsOf(group, undecided, source, room))),
  );
  // By span, not by trace: a trace of the request none of whose spans is sent (all filtered out)
  // waits with nothing of it kept. Kept once however often the request comes, so counted accepted
  // once, the first time; waiting all the same.
  let waitingSpans = 0;
  let anyWaiting = false;
  for (const trace of request.traceOf) {
    const settlement = settlements.get(trace);
    if (settlement === undefined || !("waiting" in settlement)) continue;
    anyWaiting = true;
    if (!settlement.again) waitingSpans++;
  }
  const { usage, keptUsage } = usageBySettlement(request, settlements);
  if (failure) {
    // What the objects that answered kept is the relay's now, to deliver once decided, whatever the
    // client is told: counted here, since the client's retry finds it kept already.
    const counted = { tenant: tenant.id, incarnation: tenant.incarnation };
    countSpans(counted, "received", waitingSpans);
    countSpans(counted, "accepted", waitingSpans);
    countUsage(counted, keptUsage);
    throw failure;
  }
  const parentOf = (trace: RequestTrace) => {
    const settlement = settlements.get(trace);
    return settlement && "parent" in settlement ? settlement.parent : undefined;
  };
  return { processed: batchesByParent(request, parentOf), waitingSpans, usage, keptUsage, anyWaiting, provisional: [], objectsCalled };
}

/**
 * The request's model calls by where their spans went: delivered now, or kept now by an object.
 * Spans an object held already (the same request sent again after an answer was lost) were counted
 * the first time, and count in neither; so do those of an object that did not answer, sent again.
 */
function usageBySettlement(
  { calls, traceOf }: RequestTraces,
  settlements: Map<RequestTrace, TraceSettlement>,
): Pick<SettledTraces, "usage" | "keptUsage"> {
  const usage: UsageByParent = new Map();
  const keptUsage: Record<string, ModelUsageCounts> = {};
  for (const call of calls) {
    const settlement = settlements.get(traceOf[call.at]!);
    if (settlement === undefined) continue;
    if (!("waiting" in settlement)) addModelCall(usageOf(usage, settlement.parent), call.usage);
    else if (!settlement.again) addModelCall(keptUsage, call.usage);
  }
  return { usage, keptUsage };
}

/** A parent's model calls among `usage`, by model: an empty record, there from now on, if it has none yet. */
function usageOf(usage: UsageByParent, parent: string): Record<string, ModelUsageCounts> {
  let calls = usage.get(parent);
  if (!calls) {
    calls = {};
    usage.set(parent, calls);
  }
  return calls;
}

/** What a call settling the tenant's traces carries of its record as digests: its routes' match keys and its redaction rules'. */
interface RecordDigests {
  routeKeys: string[];
  maskedWith: string;
}

async function recordDigests(tenant: Tenant): Promise<RecordDigests> {
  return { routeKeys: await routeMatchKeys(tenant.routes), maskedWith: await maskingRulesDigest(tenant.redact) };
}

/** A call settling these traces of the tenant's, with what delivering their waiting spans later needs. */
function settleRequest(
  tenant: Tenant,
  { routeKeys, maskedWith }: RecordDigests,
  clientKey: QueuedClientKey | undefined,
  traces: TraceReport[],
): SettleRequest {
  return {
    tenant: tenant.id,
    incarnation: tenant.incarnation,
    defaultParent: tenant.parent,
    sealedClientKey: clientKey?.sealedClientKey,
    clientKeyApiUrl: clientKey?.clientKeyApiUrl,
    waitSeconds: tenant.trace_wait_seconds,
    routeParents: tenant.routes.map((route) => route.parent),
    routeKeys,
    routesAt: tenant.updated_at,
    maskedWith,
    traces,
  };
}

/** An untrusted request's traces: an object's decision where there is one, else the request's own verdict, stored nowhere yet. */
async function settleProvisionally(env: Env, request: RequestTraces, tenant: Tenant): Promise<SettledTraces> {
  const {
    answers: decided,
    failure,
    objectsCalled,
  } = await eachObjectAnswers(env, tenant, request.traces, (object, group) => object.decisions(group.map((t) => t.trace)));
  if (failure) throw failure;
  // A trace whose spans here were all dropped went nowhere: what they said decides it only if it
  // settled it, else names a candidate, as a trusted key's dropped spans do.
  const sent = new Set(request.traceOf);
  const provisional = request.traces.flatMap((t): ProvisionalDecision[] => {
    if (decided.get(t)) return [];
    if (sent.has(t)) return [{ trace: t.trace, parent: t.parent }];
    const dropped = { ...(t.decided ? { decided: t.parent } : {}), ...(t.candidate ? { candidate: t.candidate } : {}) };
    return t.decided || t.candidate ? [{ trace: t.trace, dropped }] : [];
  });
  const parentOf = (trace: RequestTrace) => decided.get(trace) ?? trace.parent;
  const usage: UsageByParent = new Map();
  for (const call of request.calls) addModelCall(usageOf(usage, parentOf(request.traceOf[call.at]!)), call.usage);
  return {
    processed: batchesByParent(request, parentOf),
    waitingSpans: 0,
    usage,
    keptUsage: {},
    anyWaiting: false,
    provisional,
    objectsCalled,
  };
}

/**
 * Stores an untrusted request's decisions once Braintrust took its spans, for the parents it took
 * them at (`taken`): from then on the trace's later spans, and any waiting, go there too, as if the
 * key had been trusted from the start; and what its dropped spans said of traces none of whose
 * spans went anywhere (a parent they settle, a candidate), as a trusted key's would count. Recorded
 * after the delivery, so another request may have decided a trace in between (the first decision
 * still wins; that trace is then split). A failure loses only the memory, not spans, which were
 * delivered: it is logged, and the client answered as delivered.
 */
export async function rememberAccepted(
  env: Env,
  tenant: Tenant,
  provisional: ProvisionalDecision[],
  taken: ReadonlySet<string>,
): Promise<void> {
  // A trace only dropped spans spoke for had none delivered: what they said counts as a trusted key's
  // would, whatever parents took the others (a parent they settle decides it, a candidate waits).
  const accepted = provisional.filter((d) => !("parent" in d) || taken.has(d.parent));
  const digests = await recordDigests(tenant);
  const calls = [...byShard(accepted)].map(([shard, group]) =>
    traceRoutesObject(env, tenant, shard).settle(
      settleRequest(
        tenant,
        digests,
        undefined,
        group.map(
          (d): TraceReport =>
            "parent" in d ? { trace: d.trace, decided: d.parent, delivered: true } : { trace: d.trace, ...d.dropped, spanless: true },
        ),
      ),
    ),
  );
  try {
    await Promise.all(calls);
  } catch (err) {
    logEvent({ event: "trace_routes_failed", tenant: tenant.id, error: errorText(err) });
  }
}

/**
 * One call per object the traces fall in, all at once; each answer beside its trace. Every call is
 * awaited, those after a failure too, so the caller knows what the others did: `failure` is the 503
 * to answer when any call failed (logged), the answers then those of the objects that answered.
 */
async function eachObjectAnswers<Answer>(
  env: Env,
  tenant: Tenant,
  traces: RequestTrace[],
  ask: (object: DurableObjectStub<TraceRoutes>, group: RequestTrace[]) => Promise<Answer[]>,
): Promise<{ answers: Map<RequestTrace, Answer>; failure?: RelayError; objectsCalled: number }> {
  const calls = [...byShard(traces)].map(async ([shard, group]) => {
    const answers = await ask(traceRoutesObject(env, tenant, shard), group);
    return group.map((trace, i): [RequestTrace, Answer] => [trace, answers[i]!]);
  });
  const outcomes = await Promise.allSettled(calls);
  const answers = new Map(outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? outcome.value : [])));
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (!failed) return { answers, objectsCalled: calls.length };
  logEvent({ event: "trace_routes_failed", tenant: tenant.id, error: errorText(failed.reason) });
  const failure = new RelayError("unavailable", "the relay could not decide where the request's traces go: retry later", {
    retryAfterSeconds: TRANSIENT_RETRY_AFTER_SECONDS,
  });
  return { answers, failure, objectsCalled: calls.length };
}

function byShard<T extends { trace: string }>(traces: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const trace of traces) {
    const shard = shardOf(trace.trace);
    const group = groups.get(shard);
    if (group) group.push(trace);
    else groups.set(shard, [trace]);
  }
  return groups;
}

/**
 * One object's traces as its call reports them, their waiting spans, with every other object's of the
 * request, no more bytes in all than one object may hold: that keeps each call under Workers RPC's
 * limit (a request of more, with the body limits raised, would otherwise fail on every retry) and the
 * copies under the isolate's memory. Past that, a trace's part reports no spans to wait, so it is
 * decided at once by what is known, as a part too large to wait is. A part's size is bounded before
 * it is assembled, so one that does not fit is never built.
 */
function reportsOf(
  group: RequestTrace[],
  undecided: Map<RequestTrace, OutgoingSpan[]>,
  source: Uint8Array,
  room: { bytes: number },
): TraceReport[] {
  return group.map((trace) => {
    const report = reportOf(trace, undecided.get(trace), source, room.bytes);
    room.bytes -= report.waiting?.protobuf.byteLength ?? 0;
    return report;
  });
}

function reportOf(
  { trace, decided, parent, candidate }: RequestTrace,
  spans: OutgoingSpan[] | undefined,
  source: Uint8Array,
  room: number,
): TraceReport {
  const said = { trace, ...(candidate ? { candidate } : {}) };
  if (decided) return { ...said, decided: parent };
  // None of its spans kept (drop_non_ai_spans): what they said still counts.
  if (!spans) return { ...said, spanless: true };
  const size = sizeBound(spans);
  const overRoom = size > room ? `the request's parts to wait are over ${MAX_WAITING_BYTES_PER_OBJECT} bytes in all` : undefined;
  const reason = partOverRow(size) ?? overRoom;
  if (reason !== undefined) return { ...said, unwaited: { spans: spans.length, reason } };
  return { ...said, waiting: { protobuf: assembleRequest(source, spans), spans: spans.length } };
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
