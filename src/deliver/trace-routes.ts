import { DurableObject } from "cloudflare:workers";
import { errorText, logEvent } from "../log/events.js";
import type { TraceCandidate } from "../process/route.js";
import { flushStats } from "../stats/flush.js";
import { countSpans } from "../stats/recorder.js";
import { authoritativeTenant } from "../tenants/authoritative.js";
import { routeMatchKeys } from "../tenants/route-keys.js";
import { DECISION_TTL_MS } from "../tenants/routing.js";
import { isIncarnationOf, type Tenant } from "../tenants/schema.js";
import type { DeliveryMessage, MessageTemplate } from "./message.js";
import { EnqueueFailed, enqueue, messagesFor } from "./queue.js";
import { betterCandidate, currentCandidate, reweighedAt, storedCandidate } from "./trace-candidates.js";
import { incarnationOfObject, tenantOfObject } from "./trace-routes-name.js";
import {
  MAX_SPANLESS_TRACES_PER_OBJECT,
  MAX_WAITING_BYTES_PER_OBJECT,
  MAX_WAITING_BYTES_PER_TRACE,
  MAX_WAITING_SPANS_PER_OBJECT,
  MAX_WAITING_SPANS_PER_TRACE,
  partOverRow,
} from "./trace-wait-limits.js";
import { type StoredTrace, TraceWaitStore, type WaitingPiece, type WaitingTotals } from "./trace-wait-store.js";

/** How soon the alarm tries again when the queue did not take waiting spans, or its own storage failed. */
const RELEASE_RETRY_MS = 30_000;
/** Pieces read at a time while handing them to the queue, and the bytes of spans past which a batch takes no more. */
const RELEASE_BATCH = 50;
const RELEASE_BATCH_BYTES = 8_000_000;
/** How often the alarm forgets decisions past their day, while the object remembers any. */
const SWEEP_MS = 60 * 60 * 1000;

/** One trace of an ingest request, as the request knows it. */
export interface TraceReport {
  /** The trace id, hex. */
  trace: string;
  /** The parent the request's spans settle, when they do (see process/route.ts); a better candidate the object knows still wins. */
  decided?: string;
  /** `decided` is where the request's spans already went (a key Braintrust accepted on delivery): stored as it is. */
  delivered?: true;
  /** What the request's spans say for a parent other than the default, settled or not. */
  candidate?: TraceCandidate;
  /** The trace's spans in the request, when they may wait; absent, an undecided trace is decided now by what is known. */
  waiting?: { protobuf: Uint8Array; spans: number };
  /** The trace's spans in the request that may not wait, and why: the decision made for them is logged. */
  unwaited?: { spans: number; reason: string };
  /** The request has none of the trace's spans, only what its dropped spans said: an undecided trace keeps its candidate and waits on. */
  spanless?: true;
}

/** What every trace of one call shares: whose spans, how to deliver them later, how long they may wait. */
export interface SettleRequest {
  tenant: string;
  incarnation: string | undefined;
  defaultParent: string;
  /** Passthrough only: the client's key, sealed and bound to its api_url as queued messages carry it (client-key.ts). */
  sealedClientKey: string | undefined;
  clientKeyApiUrl: string | undefined;
  waitSeconds: number;
  /**
   * The parents of the tenant's routes, in their order, as the request read them: a candidate a
   * waiting span named is weighed by the routes as they are now. Absent from a Worker deployed before
   * it, whose candidates are weighed as they were named.
   */
  routeParents?: string[];
  /**
   * The key of each of those routes' match, in their order (tenants/route-keys.ts): a candidate follows
   * the route that named it to the parent it names now. Absent from a Worker deployed before it.
   */
  routeKeys?: string[];
  /** When those routes were saved (the tenant's `updated_at` as the request read it), to tell older routes from newer. */
  routesAt?: string;
  /** The digest of the redaction rules the waiting spans were masked with (MessageTemplate's maskedWith). Absent from a Worker deployed before it. */
  maskedWith?: string;
  traces: TraceReport[];
}

/**
 * Per trace, in the order asked: where the request's spans go, or that the object keeps them
 * (`again`: kept already, from the same request sent before).
 */
export type TraceSettlement = { parent: string } | { waiting: true; again?: true };

/**
 * Where each trace of a routing tenant goes, decided once across all the requests that carry its
 * spans (README, "Routing by trace"). One object per tenant and trace-id shard
 * (ingest/settle-traces.ts). The first decisive evidence wins and is remembered for a day;
 * spans of a trace not decided yet wait here, durably, until a span decides it or the wait
 * ends, then leave through the delivery queue like any other spans. Calls only touch SQLite, so
 * each is applied whole; the alarm, which awaits the queue, only hands over spans of traces
 * already decided, which no call changes any more.
 */
export class TraceRoutes extends DurableObject<Env> {
  private readonly store = new TraceWaitStore(this.ctx.storage.sql);

  async settle(request: SettleRequest): Promise<TraceSettlement[]> {
    const now = Date.now();
    let alarmAt = Number.POSITIVE_INFINITY;
    const early: EarlyDecision[] = [];
    // All or nothing: a call that fails halfway leaves nothing behind for the client's retry to repeat.
    const settled = this.ctx.storage.transactionSync(() =>
      request.traces.map((report) => {
        const { settlement, workAt, decidedEarly } = this.settleOne(request, report, now);
        alarmAt = Math.min(alarmAt, workAt ?? now + SWEEP_MS);
        if (decidedEarly) early.push(decidedEarly);
        return settlement;
      }),
    );
    // Once the decisions are stored: a call rolled back would have its retry say them again.
    for (const decision of early) logEvent({ event: "trace_decided_early", tenant: request.tenant, ...decision });
    if (Number.isFinite(alarmAt)) await this.alarmBy(alarmAt);
    return settled;
  }

  /**
   * The parents already decided for these traces (null: none yet), in the order asked, changing
   * nothing: all a request whose key Braintrust has not accepted may learn here (ingest/settle-traces.ts).
   */
  decisions(traces: string[]): Array<string | null> {
    return traces.map((trace) => this.store.trace(trace)?.parent ?? null);
  }

  /** What waits here, for operators. */
  waiting(): WaitingTotals {
    return this.store.totals();
  }

  /**
   * Decides traces whose wait is over, hands spans of decided traces to the queue, and now and then
   * forgets decisions past their day. Whatever fails (a queue that refuses, the object's own storage)
   * is tried again in 30 s, for as long as it takes: the alarm is set anew rather than thrown, since
   * Cloudflare gives up on an alarm that throws six times, and spans would then wait until a request
   * of the tenant's reached this object. Only an alarm that cannot even be set is thrown, for
   * Cloudflare to run the alarm again.
   */
  override async alarm(): Promise<void> {
    try {
      await this.decideAndRelease();
    } catch (err) {
      logEvent({ event: "trace_routes_failed", tenant: this.tenantId(), error: errorText(err) });
      await this.alarmBy(Date.now() + RELEASE_RETRY_MS);
    }
  }

  private async decideAndRelease(): Promise<void> {
    // Traces still waiting go, when their wait ends, to the tenant's default parent as it is now, not
    // as it was when their first spans came: spans follow an operator who moves a tenant elsewhere.
    // Asked of the tenant's object only when a wait is over: most runs only release or sweep.
    const due = this.store.nextDue();
    if (due !== undefined && due <= Date.now()) {
      const owner = await this.owner();
      if (owner) {
        const routeKeys = await routeMatchKeys(owner.routes);
        this.store.setDefaultParent(owner.parent);
        // Likewise by its routes as they are now: a candidate of a route removed since is no longer
        // one, and one of a route whose parent changed names the new parent.
        this.reweighCandidates(
          owner.routes.map((route) => route.parent),
          routeKeys,
          owner.updated_at,
        );
      }
    }
    const now = Date.now();
    this.store.decideOverdue(now, now + DECISION_TTL_MS);
    const handedOver = await this.releaseAll();
    // Released spans count as queued, as the consumer will count them leaving the queue; an alarm has
    // no request to flush later, so they go to the tenant's statistics now (a failure there is only logged).
    await flushStats(this.env);
    this.store.forgetExpired(now, SWEEP_MS);
    if (!handedOver) return this.alarmBy(Date.now() + RELEASE_RETRY_MS);
    const next = Math.min(
      this.store.nextDue() ?? Number.POSITIVE_INFINITY,
      this.store.remembersAny() ? now + SWEEP_MS : Number.POSITIVE_INFINITY,
    );
    if (Number.isFinite(next)) await this.alarmBy(next);
  }

  /**
   * Whose traces these are, as the object's name says: Cloudflare gives an object reached by name
   * (as the relay reaches every one) that name, in its alarm too; "(unknown)" stands for none.
   */
  private tenantId(): string {
    const name = this.ctx.id.name;
    return name === undefined ? "(unknown)" : tenantOfObject(name);
  }

  /**
   * The tenant this object serves (one incarnation of one), from its own object, not KV's copy, which
   * may still show one deleted and created again. Named by a waiting piece, else by the object's name:
   * a trace whose spans were all dropped waits with its candidate alone, which is weighed by the
   * routes as they are now all the same. Undefined when nothing names it, once it is deleted (created
   * again, it is another incarnation, with objects of its own), or when it cannot be read (logged):
   * waiting traces then keep the default parent and candidates they came with.
   */
  private async owner(): Promise<Tenant | undefined> {
    const name = this.ctx.id.name;
    const tenantId = this.store.waitingTenantId() ?? (name === undefined ? undefined : tenantOfObject(name));
    if (tenantId === undefined) return undefined;
    try {
      const tenant = await authoritativeTenant(this.env, tenantId);
      return isIncarnationOf(tenant, name === undefined ? undefined : incarnationOfObject(name)) ? tenant : undefined;
    } catch (err) {
      logEvent({ event: "trace_routes_failed", tenant: tenantId, error: errorText(err) });
      return undefined;
    }
  }

  /**
   * Weighs every waiting trace's candidate by the tenant's routes as they are now (an alarm's, read
   * from the tenant's own object, newer than any request's); writes only those whose parent changes.
   */
  private reweighCandidates(routeParents: string[], routeKeys: string[], routesAt: string): void {
    for (const row of this.store.waitingCandidates()) {
      const stored = storedCandidate(row);
      const now = reweighedAt(stored, currentCandidate(stored, routeParents, routeKeys), routesAt);
      if (now?.parent !== stored?.parent) this.store.setCandidate(row.trace, now);
    }
  }

  /** Where the request's spans of one trace go, and when the alarm has work because of it (undefined: only the sweep). */
  private settleOne(
    request: SettleRequest,
    report: TraceReport,
    now: number,
  ): { settlement: TraceSettlement; workAt?: number; decidedEarly?: EarlyDecision } {
    const known = this.store.trace(report.trace);
    // Spans still here of a trace decided already leave within a release's retry: the call that decided
    // it may have committed and then failed to set the alarm (answered 503), and this is its retry. Not
    // at once: spans the queue refused wait as long, and each later span of the trace would send again.
    if (known?.parent) return { settlement: { parent: known.parent }, ...(known.spans > 0 ? { workAt: now + RELEASE_RETRY_MS } : {}) };
    const spansWait = known !== undefined && known.spans > 0;
    // Spans that waited for this decision leave at once.
    const workAt = spansWait ? now : undefined;
    // What any request of the trace said for a parent: the best wins, whichever request settles it.
    // A stored candidate this request's routes do not name counts only when they are older than the
    // routes that named it (a route just added, still on its way to this request's isolate); when
    // newer, or either's time is unknown, its route was removed since.
    const stored = storedCandidate(known);
    const older = request.routesAt !== undefined && known?.candidate_routes_at != null && request.routesAt < known.candidate_routes_at;
    // Routes older than the candidate's do not know where its route sends it now.
    const current = currentCandidate(stored, request.routeParents, older ? undefined : request.routeKeys);
    const standing = reweighedAt(stored, current, request.routesAt) ?? (older ? stored : undefined);
    const named = report.candidate && {
      ...report.candidate,
      routesAt: request.routesAt,
      route: request.routeKeys?.[report.candidate.rank],
    };
    const best = betterCandidate(standing, named);
    if (report.decided !== undefined) {
      // Spans already delivered at a parent decide for it: another would split the trace.
      const parent = report.delivered ? report.decided : (best?.parent ?? report.decided);
      this.store.decide(report.trace, parent, now + DECISION_TTL_MS, known);
      return { settlement: { parent }, ...(workAt !== undefined ? { workAt } : {}) };
    }
    // The wait runs from the trace's first part.
    const dueAt = known?.due_at ?? now + request.waitSeconds * 1000;
    if (report.spanless) {
      // Nothing of it to deliver: its later spans weigh this candidate until the wait is over.
      if (!best) return { settlement: { waiting: true } };
      // Past the bound, a new one is decided by what it named: it holds no spans, only a row that every alarm would weigh again.
      if (known === undefined && this.store.spanlessWaiting() >= MAX_SPANLESS_TRACES_PER_OBJECT) {
        const reason = `over ${MAX_SPANLESS_TRACES_PER_OBJECT} traces whose spans were all dropped would wait in its object`;
        this.store.decide(report.trace, best.parent, now + DECISION_TTL_MS, known);
        return { settlement: { parent: best.parent }, decidedEarly: { trace: report.trace, parent: best.parent, spans: 0, reason } };
      }
      this.store.remember(report.trace, request.defaultParent, best, dueAt, known);
      return { settlement: { waiting: true }, workAt: dueAt };
    }
    const waiting = report.waiting;
    // Already here, from the same request sent again: kept once. Its due time is asked for again: the
    // call that kept it may have failed to set the alarm after it committed, and was answered 503.
    if (waiting && spansWait && this.store.holds(report.trace, waiting.protobuf))
      return { settlement: { waiting: true, again: true }, ...(known.due_at === null ? {} : { workAt: known.due_at }) };
    const noRoom = waiting ? this.noRoomFor(waiting, known) : undefined;
    if (!waiting || noRoom !== undefined) {
      const parent = best?.parent ?? request.defaultParent;
      this.store.decide(report.trace, parent, now + DECISION_TTL_MS, known);
      // Decided before its top span could say otherwise: an operator may see the trace at a parent its routes did not mean.
      const unwaited = waiting && noRoom !== undefined ? { spans: waiting.spans, reason: noRoom } : report.unwaited;
      return {
        settlement: { parent },
        ...(workAt !== undefined ? { workAt } : {}),
        ...(unwaited ? { decidedEarly: { trace: report.trace, parent, ...unwaited } } : {}),
      };
    }
    const piece = {
      trace: report.trace,
      tenant: request.tenant,
      incarnation: request.incarnation,
      sealedClientKey: request.sealedClientKey,
      clientKeyApiUrl: request.clientKeyApiUrl,
      maskedWith: request.maskedWith,
      protobuf: waiting.protobuf,
      spans: waiting.spans,
      receivedAt: now,
    };
    this.store.wait(piece, request.defaultParent, dueAt, known, best);
    return { settlement: { waiting: true }, workAt: dueAt };
  }

  /** Why these spans may not wait here, past which bound; undefined when they may. */
  private noRoomFor(waiting: NonNullable<TraceReport["waiting"]>, known: StoredTrace | undefined): string | undefined {
    const bytes = waiting.protobuf.byteLength;
    const overRow = partOverRow(bytes);
    if (overRow !== undefined) return overRow;
    if ((known?.spans ?? 0) + waiting.spans > MAX_WAITING_SPANS_PER_TRACE)
      return `over ${MAX_WAITING_SPANS_PER_TRACE} of its spans would wait`;
    if ((known?.bytes ?? 0) + bytes > MAX_WAITING_BYTES_PER_TRACE) return `over ${MAX_WAITING_BYTES_PER_TRACE} bytes of it would wait`;
    const totals = this.store.totals();
    if (totals.spans + waiting.spans > MAX_WAITING_SPANS_PER_OBJECT)
      return `over ${MAX_WAITING_SPANS_PER_OBJECT} spans would wait in its object, its tenant's traces of one sixteenth`;
    if (totals.bytes + bytes > MAX_WAITING_BYTES_PER_OBJECT) return `over ${MAX_WAITING_BYTES_PER_OBJECT} bytes would wait in its object`;
    return undefined;
  }

  /**
   * Hands every waiting span of a decided trace to the queue, a batch of pieces at a time in as few
   * sends as the queue's limits allow (one awaited send a piece would bound how fast a busy tenant's
   * decided traces can leave), each piece forgotten only once the queue took all of its messages;
   * false when the queue refused some.
   */
  private async releaseAll(): Promise<boolean> {
    for (;;) {
      const batch = this.store.releasable(RELEASE_BATCH, RELEASE_BATCH_BYTES);
      if (batch.length === 0) return true;
      const messages: DeliveryMessage[] = [];
      const ends: number[] = [];
      // A piece whose messages cannot be made (its payload not stored in R2) stops the batch there; those before it still go.
      let unmade: { at: number; error: unknown } | undefined;
      for (const [at, { piece, parent }] of batch.entries()) {
        try {
          // A piece's ids are made again by every release of it, one interrupted after the queue took it too.
          const made = await messagesFor(
            template(this.ctx.id.toString(), piece, parent),
            piece.protobuf,
            piece.spans,
            this.env.PAYLOADS,
            "repeated",
          );
          messages.push(...made);
        } catch (error) {
          unmade = { at, error };
          break;
        }
        ends.push(messages.length);
      }
      let taken = messages.length;
      let failure = unmade?.error;
      try {
        await enqueue(this.env.DELIVERY_QUEUE, messages);
      } catch (err) {
        if (!(err instanceof EnqueueFailed)) throw err;
        taken = err.queued.length;
        failure = err;
      }
      for (const [i, { piece }] of batch.entries()) {
        if (i === unmade?.at || ends[i]! > taken) {
          this.releaseFailed(piece, failure);
          return false;
        }
        this.store.released(piece);
        // For the incarnation the spans came for: once it is deleted, the tenant's object drops the
        // count, so a tenant created again under its id never shows them as waiting in the queue.
        countSpans(piece, "queued", piece.spans);
      }
    }
  }

  private releaseFailed(piece: WaitingPiece, err: unknown): void {
    logEvent({ event: "trace_release_failed", tenant: piece.tenant, trace: piece.trace, spans: piece.spans, error: errorText(err) });
  }

  /** Sets the alarm to `at` unless it is already due sooner (a call may have asked for sooner while the alarm ran). */
  private async alarmBy(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}

/** A trace decided while spans of it could not wait, for its `trace_decided_early` line. */
interface EarlyDecision {
  trace: string;
  parent: string;
  spans: number;
  reason: string;
}

/**
 * A waiting piece as a queued delivery: no attempt made yet. Its id stays the same however often the
 * alarm runs, and no other delivery has it: this object's id (one per tenant and shard) and the
 * piece's row, which SQLite's AUTOINCREMENT never gives twice.
 */
function template(objectId: string, piece: WaitingPiece, parent: string): MessageTemplate {
  return {
    id: `${objectId}-${piece.id}`,
    tenant: piece.tenant,
    ...(piece.incarnation ? { incarnation: piece.incarnation } : {}),
    parent,
    ...(piece.sealedClientKey ? { sealedClientKey: piece.sealedClientKey } : {}),
    ...(piece.clientKeyApiUrl ? { clientKeyApiUrl: piece.clientKeyApiUrl } : {}),
    attempts: 0,
    serverErrors: 0,
    receivedAt: piece.receivedAt,
    ...(piece.maskedWith ? { maskedWith: piece.maskedWith } : {}),
  };
}
