import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { randomId } from "../scripts/lib/traces.js";
import { traceRoutesObject } from "../src/deliver/trace-route-shards.js";
import { TraceWaitStore, type WaitingPiece } from "../src/deliver/trace-wait-store.js";
import { hex } from "../src/encoding/bytes.js";
import { DECISION_TTL_MS } from "../src/tenants/routing.js";
import { recordingCursors } from "./support/bindings.js";
import { uniqueTenantId } from "./support/relay.js";

/**
 * The trace-routes object's SQLite store, driven directly on a real object's storage. Through the
 * relay, the orders of calls these tests make (a trace decided while its spans wait, a candidate
 * named by a request whose spans were all dropped, a tenant's parent changed between two parts of
 * a trace) need requests and waits timed against each other; here each step is one call, and what
 * the store keeps after it is read back exactly.
 */

const TENANT = "store-tenant";
const DEFAULT_PARENT = "project_name:default";
const NOW = 1_750_000_000_000;
const DUE = NOW + 30_000;

/** A request's part of a trace as the object keeps it: `spans` spans in `bytes` bytes. */
function part(trace: string, spans: number, bytes: number): Omit<WaitingPiece, "id"> {
  return {
    trace,
    tenant: TENANT,
    incarnation: "incarnation-1",
    sealedClientKey: undefined,
    clientKeyApiUrl: undefined,
    maskedWith: undefined,
    protobuf: crypto.getRandomValues(new Uint8Array(bytes)),
    spans,
    receivedAt: NOW,
  };
}

/** Runs `body` on the store of a trace-routes object no other test uses. */
function onFreshStore(body: (store: TraceWaitStore, sql: SqlStorage) => void): Promise<void> {
  const object = traceRoutesObject(env, { id: uniqueTenantId("store") }, "0");
  return runInDurableObject(object, (_instance, state) => body(new TraceWaitStore(state.storage.sql), state.storage.sql));
}

/** A batch's bytes without bound, for the tests of what leaves rather than how much at a time. */
const ALL_BYTES = Number.POSITIVE_INFINITY;

/** Where each piece ready to leave goes, as trace, spans and parent. */
function departures(store: TraceWaitStore): Array<{ trace: string; spans: number; parent: string }> {
  return store.releasable(50, ALL_BYTES).map(({ piece, parent }) => ({ trace: piece.trace, spans: piece.spans, parent }));
}

describe("trace wait store", () => {
  it("a trace decided while its spans wait is not decided again when its wait ends", async () => {
    await onFreshStore((store) => {
      const trace = hex(randomId(16));
      store.wait(part(trace, 2, 40), DEFAULT_PARENT, DUE, undefined, undefined);
      // Its top span came and named its parent.
      store.decide(trace, "project_name:from-top-span", NOW + DECISION_TTL_MS, store.trace(trace));

      expect(store.nextDue()).toBeUndefined();
      store.decideOverdue(DUE + 1, DUE + 1 + DECISION_TTL_MS);

      expect(store.trace(trace)).toEqual({
        parent: "project_name:from-top-span",
        spans: 2,
        bytes: 40,
        due_at: null,
        candidate: null,
        candidate_rank: null,
        candidate_routes_at: null,
        candidate_route: null,
      });
      expect(departures(store)).toEqual([{ trace, spans: 2, parent: "project_name:from-top-span" }]);
    });
  });

  it("a waiting trace goes, when its wait ends, to the better candidate a later request named without spans", async () => {
    await onFreshStore((store) => {
      const trace = hex(randomId(16));
      store.wait(part(trace, 3, 60), DEFAULT_PARENT, DUE, undefined, { parent: "experiment_id:exp-second", rank: 1 });
      // A later request's spans of the trace were all dropped, but named a route ranked first.
      const first = { parent: "experiment_id:exp-first", rank: 0, routesAt: "2026-12-05T10:00:00.000Z", route: "0f1e2d3c4b5a6978" };
      store.remember(trace, DEFAULT_PARENT, first, DUE, store.trace(trace));

      expect(store.trace(trace)).toEqual({
        parent: null,
        spans: 3,
        bytes: 60,
        due_at: DUE,
        candidate: "experiment_id:exp-first",
        candidate_rank: 0,
        candidate_routes_at: "2026-12-05T10:00:00.000Z",
        candidate_route: "0f1e2d3c4b5a6978",
      });
      store.decideOverdue(DUE, DUE + DECISION_TTL_MS);

      expect(store.trace(trace)?.parent).toBe("experiment_id:exp-first");
      expect(departures(store)).toEqual([{ trace, spans: 3, parent: "experiment_id:exp-first" }]);
    });
  });

  it("a trace first known only by a candidate counts as one waiting trace once its spans wait, and as none once they leave", async () => {
    await onFreshStore((store) => {
      const trace = hex(randomId(16));
      const candidate = { parent: "experiment_id:exp-eval", rank: 0 };
      store.remember(trace, DEFAULT_PARENT, candidate, DUE, store.trace(trace));
      expect(store.totals()).toEqual({ traces: 0, spans: 0, bytes: 0 });

      store.wait(part(trace, 3, 30), DEFAULT_PARENT, DUE, store.trace(trace), candidate);
      expect(store.totals()).toEqual({ traces: 1, spans: 3, bytes: 30 });

      store.decideOverdue(DUE, DUE + DECISION_TTL_MS);
      for (const { piece } of store.releasable(50, ALL_BYTES)) store.released(piece);
      expect(store.totals()).toEqual({ traces: 0, spans: 0, bytes: 0 });
    });
  });

  it("counts the traces waiting without spans until spans of theirs wait, a request decides them, or their wait ends", async () => {
    await onFreshStore((store) => {
      const [gainsSpans, decided, overdue] = [0, 1, 2].map(() => hex(randomId(16))) as [string, string, string];
      const candidate = { parent: "experiment_id:exp-eval", rank: 0 };
      for (const trace of [gainsSpans, decided, overdue]) store.remember(trace, DEFAULT_PARENT, candidate, DUE, store.trace(trace));
      // Named again by a later request, still one trace.
      store.remember(overdue, DEFAULT_PARENT, candidate, DUE, store.trace(overdue));
      expect(store.spanlessWaiting()).toBe(3);

      store.wait(part(gainsSpans, 1, 10), DEFAULT_PARENT, DUE, store.trace(gainsSpans), candidate);
      expect(store.spanlessWaiting()).toBe(2);
      store.decide(decided, candidate.parent, NOW + DECISION_TTL_MS, store.trace(decided));
      expect(store.spanlessWaiting()).toBe(1);
      store.decideOverdue(DUE, DUE + DECISION_TTL_MS);
      expect(store.spanlessWaiting()).toBe(0);
      expect(store.totals()).toEqual({ traces: 1, spans: 1, bytes: 10 });
    });
  });

  it("counts the traces waiting without spans again when it opens, whatever code before it kept or decided uncounted", async () => {
    const object = traceRoutesObject(env, { id: uniqueTenantId("store") }, "0");
    await runInDurableObject(object, (_instance, state) => {
      const candidate = { parent: "experiment_id:exp-eval", rank: 0 };
      const store = new TraceWaitStore(state.storage.sql);
      for (let i = 0; i < 3; i++) store.remember(hex(randomId(16)), DEFAULT_PARENT, candidate, DUE, undefined);
      // A rollback: the Worker before the count decides them, and keeps two more, as it wrote each.
      state.storage.sql.exec(
        "UPDATE trace_routes SET parent = COALESCE(candidate, default_parent), decided_until = ?, due_at = NULL WHERE due_at <= ?",
        DUE + DECISION_TTL_MS,
        DUE,
      );
      for (let i = 0; i < 2; i++)
        state.storage.sql.exec(
          "INSERT INTO trace_routes (trace, default_parent, due_at, candidate, candidate_rank) VALUES (?, ?, ?, ?, ?)",
          hex(randomId(16)),
          DEFAULT_PARENT,
          DUE + 1,
          candidate.parent,
          candidate.rank,
        );

      const reopened = new TraceWaitStore(state.storage.sql);
      expect(reopened.spanlessWaiting()).toBe(2);
      reopened.decideOverdue(DUE + 1, DUE + 1 + DECISION_TTL_MS);
      expect(reopened.spanlessWaiting()).toBe(0);

      // Opened with the count right, as an object is for every alarm, it writes no row: rows written are billed.
      const opened = recordingCursors(state.storage.sql);
      new TraceWaitStore(state.storage.sql);
      for (const cursor of opened) cursor.toArray();
      expect(opened.reduce((rows, cursor) => rows + cursor.rowsWritten, 0)).toBe(0);
    });
  });

  it("an object made before traces without spans were counted counts those it holds when it opens", async () => {
    const object = traceRoutesObject(env, { id: uniqueTenantId("store") }, "0");
    await runInDurableObject(object, (_instance, state) => {
      const before = new TraceWaitStore(state.storage.sql);
      const candidate = { parent: "experiment_id:exp-eval", rank: 0 };
      for (const trace of [hex(randomId(16)), hex(randomId(16))]) before.remember(trace, DEFAULT_PARENT, candidate, DUE, undefined);
      before.wait(part(hex(randomId(16)), 1, 10), DEFAULT_PARENT, DUE, undefined, undefined);
      const decided = hex(randomId(16));
      before.remember(decided, DEFAULT_PARENT, candidate, DUE, undefined);
      before.decide(decided, candidate.parent, NOW + DECISION_TTL_MS, before.trace(decided));
      state.storage.sql.exec("ALTER TABLE waiting_totals DROP COLUMN spanless");

      expect(new TraceWaitStore(state.storage.sql).spanlessWaiting()).toBe(2);
    });
  });

  it("finds a part a client sent again by reading the trace's own parts, not every part that waits", async () => {
    const object = traceRoutesObject(env, { id: uniqueTenantId("store") }, "0");
    await runInDurableObject(object, (_instance, state) => {
      const store = new TraceWaitStore(state.storage.sql);
      for (let i = 0; i < 2_000; i++) store.wait(part(hex(randomId(16)), 1, 100), DEFAULT_PARENT, DUE, undefined, undefined);
      const again = part(hex(randomId(16)), 1, 100);
      store.wait(again, DEFAULT_PARENT, DUE, undefined, undefined);
      const opened = recordingCursors(state.storage.sql);

      expect(store.holds(again.trace, again.protobuf)).toBe(true);
      expect(store.holds(again.trace, crypto.getRandomValues(new Uint8Array(100)))).toBe(false);
      expect(opened.reduce((rows, cursor) => rows + cursor.rowsRead, 0)).toBeLessThan(10);
    });
  });

  it("a trace counts as waiting until its last part leaves, and other waiting traces stay counted exactly", async () => {
    await onFreshStore((store) => {
      const trace = hex(randomId(16));
      const other = hex(randomId(16));
      store.wait(part(trace, 2, 20), DEFAULT_PARENT, DUE, undefined, undefined);
      store.wait(part(trace, 3, 30), DEFAULT_PARENT, DUE, store.trace(trace), undefined);
      store.wait(part(other, 1, 5), DEFAULT_PARENT, DUE + 1_000, undefined, undefined);
      expect(store.totals()).toEqual({ traces: 2, spans: 6, bytes: 55 });

      store.decide(trace, "project_name:from-top-span", NOW + DECISION_TTL_MS, store.trace(trace));
      const [first, second] = store.releasable(50, ALL_BYTES);
      expect([first?.piece.spans, second?.piece.spans]).toEqual([2, 3]);

      store.released(first!.piece);
      expect(store.totals()).toEqual({ traces: 2, spans: 4, bytes: 35 });
      store.released(second!.piece);
      expect(store.totals()).toEqual({ traces: 1, spans: 1, bytes: 5 });
      expect(store.trace(trace)).toMatchObject({ spans: 0, bytes: 0 });

      store.decide(other, DEFAULT_PARENT, NOW + DECISION_TTL_MS, store.trace(other));
      const [last] = store.releasable(50, ALL_BYTES);
      store.released(last!.piece);
      expect(store.totals()).toEqual({ traces: 0, spans: 0, bytes: 0 });
    });
  });

  it("hands over decided spans a batch at a time, no more once a batch holds its bytes, and reads no piece past that", async () => {
    await onFreshStore((store, sql) => {
      const traces = Array.from({ length: 10 }, () => hex(randomId(16)));
      for (const trace of traces) {
        store.wait(part(trace, 1, 60_000), DEFAULT_PARENT, DUE, undefined, undefined);
        store.decide(trace, DEFAULT_PARENT, NOW + DECISION_TTL_MS, store.trace(trace));
      }
      const cursors = recordingCursors(sql);

      const first = store.releasable(50, 150_000);

      // The third piece takes the batch past its bytes: it comes, the seven after it stay unread (a
      // piece read is a row of each table: all ten would be twenty).
      expect(first.map(({ piece }) => piece.trace)).toEqual(traces.slice(0, 3));
      expect(cursors.reduce((rows, cursor) => rows + cursor.rowsRead, 0)).toBeLessThan(10);
      for (const { piece } of first) store.released(piece);
      expect(store.releasable(50, 150_000).map(({ piece }) => piece.trace)).toEqual(traces.slice(3, 6));
      // One piece larger than a batch's bytes still comes, alone.
      expect(store.releasable(50, 1).map(({ piece }) => piece.trace)).toEqual(traces.slice(3, 4));
    });
  });

  it("a decided trace whose spans have not left yet is kept past its decision's day, so they still leave for its parent", async () => {
    await onFreshStore((store) => {
      const trace = hex(randomId(16));
      const waiting = part(trace, 2, 20);
      store.wait(waiting, DEFAULT_PARENT, DUE, undefined, undefined);
      store.decide(trace, "project_name:from-top-span", NOW + DECISION_TTL_MS, store.trace(trace));

      // The queue refused the spans all day.
      store.forgetExpired(NOW + DECISION_TTL_MS + 1, 0);

      const ready = store.releasable(50, ALL_BYTES);
      expect(ready).toEqual([{ piece: { ...waiting, id: expect.any(Number) }, parent: "project_name:from-top-span" }]);
      // Once they left, the decision past its day is forgotten.
      store.released(ready[0]!.piece);
      store.forgetExpired(NOW + DECISION_TTL_MS + 2, 0);
      expect(store.trace(trace)).toBeUndefined();
      expect(store.remembersAny()).toBe(false);
    });
  });

  it("sweeps decisions past their day at most once in the time asked, since a sweep reads every decision remembered", async () => {
    const HOUR = 60 * 60 * 1000;
    await onFreshStore((store) => {
      const [first, second] = [hex(randomId(16)), hex(randomId(16))];
      store.decide(first, DEFAULT_PARENT, NOW + 1, store.trace(first));
      store.forgetExpired(NOW + 2, HOUR);
      expect(store.trace(first)).toBeUndefined();

      store.decide(second, DEFAULT_PARENT, NOW + 3, store.trace(second));
      store.forgetExpired(NOW + 4, HOUR);
      expect(store.trace(second)).toMatchObject({ parent: DEFAULT_PARENT });
      store.forgetExpired(NOW + 2 + HOUR, HOUR);
      expect(store.trace(second)).toBeUndefined();
    });
  });

  it("a waiting trace whose tenant's parent changed between its parts goes to the latest parent when its wait ends", async () => {
    await onFreshStore((store) => {
      const trace = hex(randomId(16));
      store.wait(part(trace, 1, 10), "project_name:before", DUE, undefined, undefined);
      store.wait(part(trace, 2, 20), "project_name:after", DUE, store.trace(trace), undefined);

      store.decideOverdue(DUE, DUE + DECISION_TTL_MS);

      expect(departures(store)).toEqual([
        { trace, spans: 1, parent: "project_name:after" },
        { trace, spans: 2, parent: "project_name:after" },
      ]);
    });
  });

  it("a batch that holds exactly its bytes takes no more pieces", async () => {
    await onFreshStore((store) => {
      const traces = Array.from({ length: 3 }, () => hex(randomId(16)));
      for (const trace of traces) {
        store.wait(part(trace, 1, 100), DEFAULT_PARENT, DUE, undefined, undefined);
        store.decide(trace, DEFAULT_PARENT, NOW + DECISION_TTL_MS, store.trace(trace));
      }

      expect(store.releasable(50, 200).map(({ piece }) => piece.trace)).toEqual(traces.slice(0, 2));
    });
  });
});
