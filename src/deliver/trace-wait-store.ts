import { hasColumn } from "../cloudflare/sql-columns.js";
import type { TraceCandidate } from "../process/route.js";

/**
 * One trace-routes object's SQLite storage (see trace-routes.ts): per trace, its decided parent or
 * the spans waiting for one, and running totals of what waits. Every method is synchronous, so each
 * call the object runs is applied whole, with no other call in between. Rows written are what
 * SQLite storage bills for, so each step writes as few as it can, and no call scans the decisions.
 */

/** What one ingest request left waiting of a trace, and what delivering it later needs. */
export interface WaitingPiece {
  id: number;
  trace: string;
  tenant: string;
  incarnation: string | undefined;
  sealedClientKey: string | undefined;
  clientKeyApiUrl: string | undefined;
  /** The digest of the redaction rules its spans were masked with; none when an older Worker sent them. */
  maskedWith: string | undefined;
  protobuf: Uint8Array;
  spans: number;
  receivedAt: number;
}

export interface WaitingTotals {
  traces: number;
  spans: number;
  bytes: number;
}

/**
 * A trace as stored: `parent` null while it waits; `spans` and `bytes` of it still waiting here. A
 * type, not an interface: SQL rows are read as records of column values.
 */
export type StoredTrace = {
  parent: string | null;
  spans: number;
  bytes: number;
  /** When a waiting trace stops waiting; null once decided. */
  due_at: number | null;
  /** The best parent a waiting trace's spans named so far, and its rank (process/route.ts): its parent when its wait ends. */
  candidate: string | null;
  candidate_rank: number | null;
  /** When the tenant's routes that named the candidate were saved (its `updated_at`); null when not known. */
  candidate_routes_at: string | null;
  /** The match of the route that named the candidate, as tenants/route-keys.ts keys it; null when not known. */
  candidate_route: string | null;
};

/** A trace's candidate as stored, in its row. */
export type StoredCandidate = Pick<StoredTrace, "candidate" | "candidate_rank" | "candidate_routes_at" | "candidate_route">;

/**
 * A candidate as a waiting trace keeps it: with when the routes that named it were saved, and the
 * key of the route's match (`route`), when known.
 */
export type KeptCandidate = TraceCandidate & { routesAt?: string | undefined; route?: string | undefined };

export class TraceWaitStore {
  constructor(private readonly sql: SqlStorage) {
    // decided_until: when a decision is forgotten; due_at: when a waiting trace stops waiting, null
    // once decided. WITHOUT ROWID: the trace id is the table, so a decision is one row written, not
    // two; the partial index holds waiting traces only, so decisions cost no index write.
    sql.exec(
      "CREATE TABLE IF NOT EXISTS trace_routes (trace TEXT PRIMARY KEY, parent TEXT, default_parent TEXT NOT NULL, due_at INTEGER, decided_until INTEGER, spans INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    );
    sql.exec("CREATE INDEX IF NOT EXISTS trace_routes_due ON trace_routes (due_at) WHERE due_at IS NOT NULL");
    sql.exec(
      "CREATE TABLE IF NOT EXISTS waiting_pieces (id INTEGER PRIMARY KEY AUTOINCREMENT, trace TEXT NOT NULL, tenant TEXT NOT NULL, incarnation TEXT, sealed_client_key TEXT, protobuf BLOB NOT NULL, spans INTEGER NOT NULL, received_at INTEGER NOT NULL, client_key_api_url TEXT, masked_with TEXT)",
    );
    // For `holds`, which a client's retry asks of every trace it brings again: without it, each read every piece waiting.
    sql.exec("CREATE INDEX IF NOT EXISTS waiting_pieces_trace ON waiting_pieces (trace)");
    // An object made before a client's key was bound to its api_url gains the column; its pieces have none.
    if (!hasColumn(sql, "waiting_pieces", "client_key_api_url")) sql.exec("ALTER TABLE waiting_pieces ADD COLUMN client_key_api_url TEXT");
    // One made before spans named the rules they were masked with gains the column; its pieces have none.
    if (!hasColumn(sql, "waiting_pieces", "masked_with")) sql.exec("ALTER TABLE waiting_pieces ADD COLUMN masked_with TEXT");
    // One made before waiting traces kept the best parent their spans named gains the columns; its traces have none.
    if (!hasColumn(sql, "trace_routes", "candidate")) {
      sql.exec("ALTER TABLE trace_routes ADD COLUMN candidate TEXT");
      sql.exec("ALTER TABLE trace_routes ADD COLUMN candidate_rank INTEGER");
    }
    // One made before candidates kept the time of the routes that named them gains it; its candidates have none.
    if (!hasColumn(sql, "trace_routes", "candidate_routes_at")) sql.exec("ALTER TABLE trace_routes ADD COLUMN candidate_routes_at TEXT");
    // One made before candidates kept their route's match gains it; its candidates have none.
    if (!hasColumn(sql, "trace_routes", "candidate_route")) sql.exec("ALTER TABLE trace_routes ADD COLUMN candidate_route TEXT");
    // spanless: waiting traces none of whose spans wait (all dropped so far), kept only for their candidate.
    sql.exec(
      "CREATE TABLE IF NOT EXISTS waiting_totals (id INTEGER PRIMARY KEY CHECK (id = 0), traces INTEGER NOT NULL, spans INTEGER NOT NULL, bytes INTEGER NOT NULL, spanless INTEGER NOT NULL DEFAULT 0)",
    );
    sql.exec("INSERT OR IGNORE INTO waiting_totals (id, traces, spans, bytes) VALUES (0, 0, 0, 0)");
    // One made before they were counted gains the count. Counted again whenever the object starts (a
    // waiting row with no spans is one; the waiting rows are at most a few thousand, read by their
    // index): code from before the count, run after a rollback, keeps and decides them uncounted.
    if (!hasColumn(sql, "waiting_totals", "spanless"))
      sql.exec("ALTER TABLE waiting_totals ADD COLUMN spanless INTEGER NOT NULL DEFAULT 0");
    // Written only when it was wrong: an object starts for every alarm, and rows written are billed.
    sql.exec(
      `WITH counted AS (SELECT COUNT(*) AS n FROM trace_routes WHERE due_at IS NOT NULL AND spans = 0)
       UPDATE waiting_totals SET spanless = (SELECT n FROM counted) WHERE spanless != (SELECT n FROM counted)`,
    );
    // When the decisions were last swept: a sweep reads every one the object remembers.
    sql.exec("CREATE TABLE IF NOT EXISTS sweeps (id INTEGER PRIMARY KEY CHECK (id = 0), swept_at INTEGER NOT NULL)");
  }

  trace(trace: string): StoredTrace | undefined {
    return this.sql
      .exec<StoredTrace>(
        "SELECT parent, spans, bytes, due_at, candidate, candidate_rank, candidate_routes_at, candidate_route FROM trace_routes WHERE trace = ?",
        trace,
      )
      .toArray()[0];
  }

  /** Records the decision; spans still waiting stay until `released` says the queue took them. `known`: the trace as stored before. */
  decide(trace: string, parent: string, decidedUntil: number, known: StoredTrace | undefined): void {
    if (isSpanless(known)) this.addSpanless(-1);
    this.sql.exec(
      `INSERT INTO trace_routes (trace, parent, default_parent, decided_until) VALUES (?1, ?2, ?2, ?3)
       ON CONFLICT (trace) DO UPDATE SET parent = ?2, decided_until = ?3, due_at = NULL`,
      trace,
      parent,
      decidedUntil,
    );
  }

  /**
   * Keeps the best candidate of an undecided trace none of whose spans wait yet (its spans so far
   * were dropped): it waits, without spans, as a trace with spans does, and is decided by what is
   * known when its wait is over. Older code reads such a row as a waiting trace too.
   */
  remember(trace: string, defaultParent: string, best: KeptCandidate, dueAt: number, known: StoredTrace | undefined): void {
    if (known === undefined) this.addSpanless(1);
    this.sql.exec(
      `INSERT INTO trace_routes (trace, default_parent, due_at, candidate, candidate_rank, candidate_routes_at, candidate_route) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
       ON CONFLICT (trace) DO UPDATE SET candidate = ?4, candidate_rank = ?5, candidate_routes_at = ?6, candidate_route = ?7`,
      trace,
      defaultParent,
      dueAt,
      best.parent,
      best.rank,
      best.routesAt ?? null,
      best.route ?? null,
    );
  }

  /**
   * Adds a request's part of an undecided trace; its wait runs from its first part. `best`: the best
   * candidate the trace's requests named, this one's included (the caller weighs them).
   */
  wait(
    piece: Omit<WaitingPiece, "id">,
    defaultParent: string,
    dueAt: number,
    known: StoredTrace | undefined,
    best: KeptCandidate | undefined,
  ): void {
    const bytes = piece.protobuf.byteLength;
    this.sql.exec(
      `INSERT INTO trace_routes (trace, default_parent, due_at, spans, bytes, candidate, candidate_rank, candidate_routes_at, candidate_route) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
       ON CONFLICT (trace) DO UPDATE SET default_parent = ?2, spans = spans + ?4, bytes = bytes + ?5, candidate = ?6, candidate_rank = ?7, candidate_routes_at = ?8, candidate_route = ?9`,
      piece.trace,
      defaultParent,
      dueAt,
      piece.spans,
      bytes,
      best?.parent ?? null,
      best?.rank ?? null,
      best?.routesAt ?? null,
      best?.route ?? null,
    );
    this.sql.exec(
      "INSERT INTO waiting_pieces (trace, tenant, incarnation, sealed_client_key, client_key_api_url, masked_with, protobuf, spans, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      piece.trace,
      piece.tenant,
      piece.incarnation ?? null,
      piece.sealedClientKey ?? null,
      piece.clientKeyApiUrl ?? null,
      piece.maskedWith ?? null,
      piece.protobuf,
      piece.spans,
      piece.receivedAt,
    );
    this.addToTotals(known && known.spans > 0 ? 0 : 1, piece.spans, bytes);
    if (isSpanless(known)) this.addSpanless(-1);
  }

  /**
   * Whether these very bytes already wait for the trace: a client's retry of a request that an
   * object of another shard failed brings them again. Reads the trace's own pieces, by their index.
   */
  holds(trace: string, protobuf: Uint8Array): boolean {
    return this.sql.exec("SELECT 1 FROM waiting_pieces WHERE trace = ? AND protobuf = ? LIMIT 1", trace, protobuf).toArray().length > 0;
  }

  /** Whose spans wait here (an object serves one tenant), when any do. */
  waitingTenantId(): string | undefined {
    return this.sql.exec<{ tenant: string }>("SELECT tenant FROM waiting_pieces LIMIT 1").toArray()[0]?.tenant;
  }

  /** The default parent of every trace still waiting; rows already right are not written. */
  setDefaultParent(parent: string): void {
    this.sql.exec("UPDATE trace_routes SET default_parent = ?1 WHERE due_at IS NOT NULL AND default_parent != ?1", parent);
  }

  /** The waiting traces that have a candidate, with it, for weighing them by the tenant's routes as they are now. */
  waitingCandidates(): Array<StoredCandidate & { trace: string }> {
    return this.sql
      .exec<StoredCandidate & { trace: string }>(
        "SELECT trace, candidate, candidate_rank, candidate_routes_at, candidate_route FROM trace_routes WHERE due_at IS NOT NULL AND candidate IS NOT NULL",
      )
      .toArray();
  }

  /** A waiting trace's candidate as weighed anew; none forgets it. */
  setCandidate(trace: string, candidate: KeptCandidate | undefined): void {
    this.sql.exec(
      "UPDATE trace_routes SET candidate = ?, candidate_rank = ?, candidate_routes_at = ?, candidate_route = ? WHERE trace = ?",
      candidate?.parent ?? null,
      candidate?.rank ?? null,
      candidate?.routesAt ?? null,
      candidate?.route ?? null,
      trace,
    );
  }

  /** Traces whose wait is over are decided by the best parent their spans named, else their default parent. */
  decideOverdue(now: number, decidedUntil: number): void {
    const decided = this.sql.exec<{ spans: number }>(
      "UPDATE trace_routes SET parent = COALESCE(candidate, default_parent), decided_until = ?, due_at = NULL WHERE due_at <= ? RETURNING spans",
      decidedUntil,
      now,
    );
    let spanless = 0;
    for (const { spans } of decided) if (spans === 0) spanless++;
    if (spanless > 0) this.addSpanless(-spanless);
  }

  /**
   * Spans of decided traces still here, with the parent each goes to, a bounded batch at a time: at
   * most `limit` pieces, and no more once they hold `maxBytes` (the first always comes). The rows are
   * read one at a time, so a batch's spans are all it holds in memory, not the 32 MB an object may
   * keep waiting: the alarm copies them again into messages, and objects may share an isolate.
   */
  releasable(limit: number, maxBytes: number): Array<{ piece: WaitingPiece; parent: string }> {
    const rows = this.sql.exec<{
      id: number;
      trace: string;
      tenant: string;
      incarnation: string | null;
      sealed_client_key: string | null;
      client_key_api_url: string | null;
      masked_with: string | null;
      protobuf: ArrayBuffer;
      spans: number;
      received_at: number;
      parent: string;
    }>(
      `SELECT p.id, p.trace, p.tenant, p.incarnation, p.sealed_client_key, p.client_key_api_url, p.masked_with, p.protobuf, p.spans, p.received_at, t.parent
         FROM waiting_pieces p JOIN trace_routes t ON t.trace = p.trace WHERE t.parent IS NOT NULL ORDER BY p.id LIMIT ?`,
      limit,
    );
    const batch: Array<{ piece: WaitingPiece; parent: string }> = [];
    let bytes = 0;
    for (const row of rows) {
      batch.push({
        parent: row.parent,
        piece: {
          id: row.id,
          trace: row.trace,
          tenant: row.tenant,
          incarnation: row.incarnation ?? undefined,
          sealedClientKey: row.sealed_client_key ?? undefined,
          clientKeyApiUrl: row.client_key_api_url ?? undefined,
          maskedWith: row.masked_with ?? undefined,
          protobuf: new Uint8Array(row.protobuf),
          spans: row.spans,
          receivedAt: row.received_at,
        },
      });
      bytes += row.protobuf.byteLength;
      if (bytes >= maxBytes) break;
    }
    return batch;
  }

  /** Forgets a piece the queue has taken. */
  released(piece: WaitingPiece): void {
    const bytes = piece.protobuf.byteLength;
    this.sql.exec("DELETE FROM waiting_pieces WHERE id = ?", piece.id);
    const left = this.sql
      .exec<{ spans: number }>(
        "UPDATE trace_routes SET spans = spans - ?, bytes = bytes - ? WHERE trace = ? RETURNING spans",
        piece.spans,
        bytes,
        piece.trace,
      )
      .one();
    this.addToTotals(left.spans === 0 ? -1 : 0, -piece.spans, -bytes);
  }

  /**
   * Forgets decisions past their time, once nothing of the trace waits, unless the last sweep was
   * less than `every` ms ago. Run by the alarm, which runs about once for each trace that waited; a
   * sweep reads every decision the object remembers (a day of a busy tenant's traces: an index on
   * their time would add a row written to each), so it runs only now and then.
   */
  forgetExpired(now: number, every: number): void {
    const last = this.sql.exec<{ swept_at: number }>("SELECT swept_at FROM sweeps WHERE id = 0").toArray()[0]?.swept_at;
    if (last !== undefined && now - last < every) return;
    this.sql.exec("DELETE FROM trace_routes WHERE decided_until <= ? AND spans = 0", now);
    this.sql.exec("INSERT OR REPLACE INTO sweeps (id, swept_at) VALUES (0, ?)", now);
  }

  /** How many waiting traces none of whose spans wait (`remember`). */
  spanlessWaiting(): number {
    return this.sql.exec<{ spanless: number }>("SELECT spanless FROM waiting_totals WHERE id = 0").one().spanless;
  }

  totals(): WaitingTotals {
    return this.sql
      .exec<{ traces: number; spans: number; bytes: number }>("SELECT traces, spans, bytes FROM waiting_totals WHERE id = 0")
      .one();
  }

  /** When the earliest wait ends; undefined when nothing waits. */
  nextDue(): number | undefined {
    return (
      this.sql.exec<{ at: number | null }>("SELECT MIN(due_at) AS at FROM trace_routes WHERE due_at IS NOT NULL").one().at ?? undefined
    );
  }

  /** Whether any trace, decided or waiting, is remembered here. */
  remembersAny(): boolean {
    return this.sql.exec("SELECT 1 FROM trace_routes LIMIT 1").toArray().length > 0;
  }

  private addSpanless(traces: number): void {
    this.sql.exec("UPDATE waiting_totals SET spanless = spanless + ? WHERE id = 0", traces);
  }

  private addToTotals(traces: number, spans: number, bytes: number): void {
    this.sql.exec("UPDATE waiting_totals SET traces = traces + ?, spans = spans + ?, bytes = bytes + ? WHERE id = 0", traces, spans, bytes);
  }
}

/** Whether a stored trace waits without spans: kept by `remember` for its candidate alone. */
function isSpanless(known: StoredTrace | undefined): boolean {
  return known !== undefined && known.due_at !== null && known.spans === 0;
}
