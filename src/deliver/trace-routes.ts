import { DurableObject } from "cloudflare:workers";
import { errorText, logEvent } from "../log/events.js";
import type { DeliveryMessage } from "./message.js";
import { enqueueNew, messagesFor } from "./queue.js";
import { TraceWaitStore, type WaitingPiece, type WaitingTotals } from "./trace-wait-store.js";

/**
 * How long a decision is remembered: a day. Agent traces run for minutes, some for an hour, and an
 * exporter may send a span again much later; a decision is one small row, so a day costs nothing.
 */
export const DECISION_TTL_MS = 24 * 60 * 60 * 1000;

/** SQLite-backed objects keep a row, so a BLOB, under 2 MB; a request's part of one trace larger than this does not wait. */
export const MAX_WAITING_PIECE_BYTES = 1_900_000;
/** Bounds on what may wait, per trace and per object; past them a trace is decided by what is known (its default parent). */
export const MAX_WAITING_SPANS_PER_TRACE = 1_000;
export const MAX_WAITING_BYTES_PER_TRACE = 8_000_000;
export const MAX_WAITING_SPANS_PER_OBJECT = 5_000;
export const MAX_WAITING_BYTES_PER_OBJECT = 32_000_000;

/** How soon the alarm tries again when the queue did not take waiting spans. */
const RELEASE_RETRY_MS = 30_000;
/** Pieces handed to the queue per round of the alarm, so one round stays within its time. */
const RELEASE_BATCH = 50;

/** One trace of an ingest request, as the request knows it. */
export interface TraceReport {
  /** The trace id, hex. */
  trace: string;
  /** The parent the request's spans settle, when they do (see process/route.ts). */
  decided?: string;
  /** The trace's spans in the request, when they may wait; absent, an undecided trace is decided now by its default parent. */
  waiting?: { protobuf: Uint8Array; spans: number };
}

/** What every trace of one call shares: whose spans, how to deliver them later, how long they may wait. */
export interface SettleRequest {
  tenant: string;
  incarnation: string | undefined;
  defaultParent: string;
  /** Passthrough only: the client's key, sealed as queued messages carry it. */
  sealedClientKey: string | undefined;
  waitSeconds: number;
  traces: TraceReport[];
}

/** Per trace, in the order asked: where the request's spans go, or that the object keeps them. */
export type TraceSettlement = { parent: string } | { waiting: true };

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
    // All or nothing: a call that fails halfway leaves nothing behind for the client's retry to repeat.
    const settled = this.ctx.storage.transactionSync(() => request.traces.map((report) => this.settleOne(request, report, now)));
    await this.scheduleAlarm(now);
    return settled;
  }

  /** What waits here, for operators. */
  waiting(): WaitingTotals {
    return this.store.totals();
  }

  /** Decides traces whose wait is over, hands spans of decided traces to the queue, forgets old decisions. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.store.decideOverdue(now, now + DECISION_TTL_MS);
    let released = await this.release();
    while (released === RELEASE_BATCH) released = await this.release();
    this.store.forgetExpired(now);
    if (released < 0) await this.ctx.storage.setAlarm(now + RELEASE_RETRY_MS);
    else await this.scheduleAlarm(Date.now());
  }

  private settleOne(request: SettleRequest, report: TraceReport, now: number): TraceSettlement {
    const known = this.store.trace(report.trace);
    if (known?.parent) return { parent: known.parent };
    if (report.decided !== undefined) {
      this.store.decide(report.trace, report.decided, now + DECISION_TTL_MS);
      return { parent: report.decided };
    }
    const waiting = report.waiting;
    if (!waiting || !this.hasRoomFor(waiting, known)) {
      this.store.decide(report.trace, request.defaultParent, now + DECISION_TTL_MS);
      return { parent: request.defaultParent };
    }
    const piece = {
      trace: report.trace,
      tenant: request.tenant,
      incarnation: request.incarnation,
      sealedClientKey: request.sealedClientKey,
      protobuf: waiting.protobuf,
      spans: waiting.spans,
      receivedAt: now,
    };
    this.store.wait(piece, request.defaultParent, now + request.waitSeconds * 1000);
    return { waiting: true };
  }

  private hasRoomFor(waiting: NonNullable<TraceReport["waiting"]>, known: { spans: number; bytes: number } | undefined): boolean {
    const bytes = waiting.protobuf.byteLength;
    if (bytes > MAX_WAITING_PIECE_BYTES) return false;
    if ((known?.spans ?? 0) + waiting.spans > MAX_WAITING_SPANS_PER_TRACE) return false;
    if ((known?.bytes ?? 0) + bytes > MAX_WAITING_BYTES_PER_TRACE) return false;
    const totals = this.store.totals();
    return totals.spans + waiting.spans <= MAX_WAITING_SPANS_PER_OBJECT && totals.bytes + bytes <= MAX_WAITING_BYTES_PER_OBJECT;
  }

  /**
   * One batch of waiting spans whose trace is decided, each piece forgotten only once the queue
   * took it: how many went, or -1 when the queue refused one (the alarm then tries again).
   */
  private async release(): Promise<number> {
    const batch = this.store.releasable(RELEASE_BATCH);
    for (const { piece, parent } of batch) {
      try {
        await enqueueNew(
          this.env.DELIVERY_QUEUE,
          this.env.PAYLOADS,
          await messagesFor(template(piece, parent), piece.protobuf, piece.spans, this.env.PAYLOADS),
        );
      } catch (err) {
        logEvent({ event: "trace_release_failed", tenant: piece.tenant, trace: piece.trace, error: errorText(err) });
        return -1;
      }
      this.store.released([piece]);
    }
    return batch.length;
  }

  private async scheduleAlarm(now: number): Promise<void> {
    const next = this.store.nextWork(now);
    if (next === undefined) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next) await this.ctx.storage.setAlarm(next);
  }
}

/** A waiting piece as a queued delivery: no attempt made yet; its id stays the same however often the alarm runs. */
function template(piece: WaitingPiece, parent: string): Omit<DeliveryMessage, "payload" | "spans" | "bytes"> {
  return {
    id: `trace-${piece.trace}-${piece.id}`,
    tenant: piece.tenant,
    ...(piece.incarnation ? { incarnation: piece.incarnation } : {}),
    parent,
    ...(piece.sealedClientKey ? { sealedClientKey: piece.sealedClientKey } : {}),
    attempts: 0,
    serverErrors: 0,
    receivedAt: piece.receivedAt,
  };
}
