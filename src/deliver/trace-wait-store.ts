/**
 * One trace-routes object's SQLite storage (see trace-routes.ts): per trace, its decided parent or
 * the spans waiting for one. Every method is synchronous, so each call the object runs is applied
 * whole, with no other call in between.
 */

/** What one ingest request left waiting of a trace, and what delivering it later needs. */
export interface WaitingPiece {
  id: number;
  trace: string;
  tenant: string;
  incarnation: string | undefined;
  sealedClientKey: string | undefined;
  protobuf: Uint8Array;
  spans: number;
  receivedAt: number;
}

export interface WaitingTotals {
  traces: number;
  spans: number;
  bytes: number;
}

interface TraceRow extends Record<string, SqlStorageValue> {
  parent: string | null;
  default_parent: string;
  spans: number;
  bytes: number;
}

export class TraceWaitStore {
  constructor(private readonly sql: SqlStorage) {
    // parent: null while the trace waits; decided_until: when a decided trace is forgotten; due_at: when a waiting one stops waiting.
    // WITHOUT ROWID: the trace id is the table's only key, so a decision costs one billed row write, not two.
    sql.exec(
      "CREATE TABLE IF NOT EXISTS trace_routes (trace TEXT PRIMARY KEY, parent TEXT, default_parent TEXT NOT NULL, due_at INTEGER, decided_until INTEGER, spans INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    );
    sql.exec(
      "CREATE TABLE IF NOT EXISTS waiting_pieces (id INTEGER PRIMARY KEY AUTOINCREMENT, trace TEXT NOT NULL, tenant TEXT NOT NULL, incarnation TEXT, sealed_client_key TEXT, protobuf BLOB NOT NULL, spans INTEGER NOT NULL, received_at INTEGER NOT NULL)",
    );
    sql.exec("CREATE INDEX IF NOT EXISTS waiting_pieces_by_trace ON waiting_pieces (trace)");
  }

  /** The trace's decided parent, or what waits of it; undefined when the object knows nothing of it. */
  trace(trace: string): TraceRow | undefined {
    return this.sql.exec<TraceRow>("SELECT parent, default_parent, spans, bytes FROM trace_routes WHERE trace = ?", trace).toArray()[0];
  }

  /** Records the decision; spans still waiting stay until `release` has handed them to the queue. */
  decide(trace: string, parent: string, decidedUntil: number): void {
    this.sql.exec(
      `INSERT INTO trace_routes (trace, parent, default_parent, decided_until) VALUES (?1, ?2, ?2, ?3)
       ON CONFLICT (trace) DO UPDATE SET parent = ?2, decided_until = ?3, due_at = NULL`,
      trace,
      parent,
      decidedUntil,
    );
  }

  /** Adds a request's part of an undecided trace; the wait runs from its first part. */
  wait(piece: Omit<WaitingPiece, "id">, defaultParent: string, dueAt: number): void {
    this.sql.exec(
      `INSERT INTO trace_routes (trace, default_parent, due_at, spans, bytes) VALUES (?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (trace) DO UPDATE SET default_parent = ?2, spans = spans + ?4, bytes = bytes + ?5`,
      piece.trace,
      defaultParent,
      dueAt,
      piece.spans,
      piece.protobuf.byteLength,
    );
    this.sql.exec(
      "INSERT INTO waiting_pieces (trace, tenant, incarnation, sealed_client_key, protobuf, spans, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      piece.trace,
      piece.tenant,
      piece.incarnation ?? null,
      piece.sealedClientKey ?? null,
      piece.protobuf,
      piece.spans,
      piece.receivedAt,
    );
  }

  /** Traces whose wait is over: decided now by their default parent. */
  decideOverdue(now: number, decidedUntil: number): void {
    this.sql.exec(
      "UPDATE trace_routes SET parent = default_parent, decided_until = ?, due_at = NULL WHERE parent IS NULL AND due_at <= ?",
      decidedUntil,
      now,
    );
  }

  /** Spans of decided traces still here, with the parent each goes to, a bounded batch at a time. */
  releasable(limit: number): Array<{ piece: WaitingPiece; parent: string }> {
    return this.sql
      .exec<{
        id: number;
        trace: string;
        tenant: string;
        incarnation: string | null;
        sealed_client_key: string | null;
        protobuf: ArrayBuffer;
        spans: number;
        received_at: number;
        parent: string;
      }>(
        `SELECT p.id, p.trace, p.tenant, p.incarnation, p.sealed_client_key, p.protobuf, p.spans, p.received_at, t.parent
         FROM waiting_pieces p JOIN trace_routes t ON t.trace = p.trace WHERE t.parent IS NOT NULL ORDER BY p.id LIMIT ?`,
        limit,
      )
      .toArray()
      .map((row) => ({
        parent: row.parent,
        piece: {
          id: row.id,
          trace: row.trace,
          tenant: row.tenant,
          incarnation: row.incarnation ?? undefined,
          sealedClientKey: row.sealed_client_key ?? undefined,
          protobuf: new Uint8Array(row.protobuf),
          spans: row.spans,
          receivedAt: row.received_at,
        },
      }));
  }

  /** Forgets pieces the queue has taken. */
  released(pieces: WaitingPiece[]): void {
    for (const piece of pieces) {
      this.sql.exec("DELETE FROM waiting_pieces WHERE id = ?", piece.id);
      this.sql.exec(
        "UPDATE trace_routes SET spans = spans - ?, bytes = bytes - ? WHERE trace = ?",
        piece.spans,
        piece.protobuf.byteLength,
        piece.trace,
      );
    }
  }

  /** Forgets decisions past their time, once nothing of the trace waits. */
  forgetExpired(now: number): void {
    this.sql.exec("DELETE FROM trace_routes WHERE parent IS NOT NULL AND decided_until <= ? AND spans = 0", now);
  }

  /** What waits here, for bounds and for operators. */
  totals(): WaitingTotals {
    const row = this.sql
      .exec<{ traces: number; spans: number | null; bytes: number | null }>(
        "SELECT COUNT(*) AS traces, SUM(spans) AS spans, SUM(bytes) AS bytes FROM trace_routes WHERE spans > 0",
      )
      .one();
    return { traces: row.traces, spans: row.spans ?? 0, bytes: row.bytes ?? 0 };
  }

  /** When the alarm next has work: the earliest wait to end, decision to forget, or now when spans of decided traces are still here. */
  nextWork(now: number): number | undefined {
    if (
      this.sql.exec("SELECT 1 FROM waiting_pieces p JOIN trace_routes t ON t.trace = p.trace WHERE t.parent IS NOT NULL LIMIT 1").toArray()
        .length > 0
    )
      return now;
    const row = this.sql
      .exec<{ at: number | null }>("SELECT MIN(CASE WHEN parent IS NULL THEN due_at ELSE decided_until END) AS at FROM trace_routes")
      .one();
    return row.at ?? undefined;
  }
}
