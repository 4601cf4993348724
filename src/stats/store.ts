import { addCounts, type Counts, emptyCounts, MINUTE_MS, minuteOf, type StatsDelta, type UpstreamError } from "./counts.js";
import { type StatsSummary, summarise } from "./summary.js";

/** The windows the admin API reports, by name, in minutes. */
const WINDOWS = { last_5m: 5, last_1h: 60, last_24h: 24 * 60 } as const;
export const KEPT_MINUTES = WINDOWS.last_24h;

export interface TenantStatsReport {
  as_of: string;
  /** When the first count was made; null when none was. */
  since: string | null;
  total: StatsSummary;
  last_5m: StatsSummary;
  last_1h: StatsSummary;
  last_24h: StatsSummary;
  /** Spans put on the delivery queue and not yet taken off it for good. */
  waiting_in_queue: number;
  last_upstream_error: { at: string; status: number | null; reason: string } | null;
  /** The last day (or as many minutes as asked for), one entry per minute that counted anything, oldest first; left out of the all-tenants overview. */
  per_minute?: Array<{ minute: string } & StatsSummary>;
}

/**
 * A stored row's counts, added up afresh: a row written before usage kept a bounded number of models
 * (counts.ts), as large as SQLite's 2 MB, is then reported and written again within that bound.
 */
function countsOf(stored: string): Counts {
  return addCounts(emptyCounts(), JSON.parse(stored) as Counts);
}

/**
 * One tenant's counts in its Durable Object's SQLite storage: a row per minute for the last day,
 * and totals since counting began. Each flush is applied in one synchronous step, which the
 * object runs alone, so no two flushes interleave.
 */
export class TenantStatsStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS stats_minutes (minute INTEGER PRIMARY KEY, counts TEXT NOT NULL)");
    sql.exec(
      "CREATE TABLE IF NOT EXISTS stats_totals (id INTEGER PRIMARY KEY CHECK (id = 0), since INTEGER NOT NULL, counts TEXT NOT NULL, last_error TEXT)",
    );
  }

  add(delta: StatsDelta, now: number): void {
    const totals = this.totals();
    let since = totals?.since;
    const total = totals?.counts ?? emptyCounts();
    for (const [minuteText, counts] of Object.entries(delta.minutes)) {
      const minute = Number(minuteText);
      since = Math.min(since ?? minute, minute);
      addCounts(total, counts);
      const row = this.sql.exec<{ counts: string }>("SELECT counts FROM stats_minutes WHERE minute = ?", minute).toArray()[0];
      const merged = addCounts(row ? countsOf(row.counts) : emptyCounts(), counts);
      this.sql.exec("INSERT OR REPLACE INTO stats_minutes (minute, counts) VALUES (?, ?)", minute, JSON.stringify(merged));
    }
    const lastError =
      !totals?.lastError || (delta.lastError && delta.lastError.at >= totals.lastError.at) ? delta.lastError : totals.lastError;
    this.sql.exec(
      "INSERT OR REPLACE INTO stats_totals (id, since, counts, last_error) VALUES (0, ?, ?, ?)",
      since ?? minuteOf(now),
      JSON.stringify(total),
      lastError ? JSON.stringify(lastError) : null,
    );
    this.sql.exec("DELETE FROM stats_minutes WHERE minute <= ?", minuteOf(now) - KEPT_MINUTES * MINUTE_MS);
  }

  /** `perMinuteFor`: how many of the last minutes `per_minute` lists (up to a day); 0 leaves it out. */
  report(now: number, perMinuteFor: number): TenantStatsReport {
    const totals = this.totals();
    const current = minuteOf(now);
    const minutes = this.sql
      .exec<{ minute: number; counts: string }>(
        "SELECT minute, counts FROM stats_minutes WHERE minute > ? ORDER BY minute",
        current - KEPT_MINUTES * MINUTE_MS,
      )
      .toArray()
      .map((row) => ({ minute: row.minute, counts: countsOf(row.counts) }));
    const windowOf = (length: number) =>
      summarise(minutes.filter((m) => m.minute > current - length * MINUTE_MS).reduce((sum, m) => addCounts(sum, m.counts), emptyCounts()));
    const total = totals?.counts ?? emptyCounts();
    const lastError = totals?.lastError;
    return {
      as_of: new Date(now).toISOString(),
      since: totals ? new Date(totals.since).toISOString() : null,
      total: summarise(total),
      last_5m: windowOf(WINDOWS.last_5m),
      last_1h: windowOf(WINDOWS.last_1h),
      last_24h: windowOf(WINDOWS.last_24h),
      waiting_in_queue: Math.max(0, (total.spans.queued ?? 0) - (total.spans.left_queue ?? 0)),
      last_upstream_error: lastError
        ? { at: new Date(lastError.at).toISOString(), status: lastError.status, reason: lastError.reason }
        : null,
      ...(perMinuteFor > 0
        ? {
            per_minute: minutes
              .filter((m) => m.minute > current - perMinuteFor * MINUTE_MS)
              .map((m) => ({ minute: new Date(m.minute).toISOString(), ...summarise(m.counts) })),
          }
        : {}),
    };
  }

  /** Forgets everything: the tenant was deleted. */
  clear(): void {
    this.sql.exec("DELETE FROM stats_minutes");
    this.sql.exec("DELETE FROM stats_totals");
  }

  private totals(): { since: number; counts: Counts; lastError: UpstreamError | undefined } | undefined {
    const row = this.sql
      .exec<{ since: number; counts: string; last_error: string | null }>("SELECT since, counts, last_error FROM stats_totals WHERE id = 0")
      .toArray()[0];
    if (!row) return undefined;
    return {
      since: row.since,
      counts: countsOf(row.counts),
      lastError: row.last_error ? (JSON.parse(row.last_error) as UpstreamError) : undefined,
    };
  }
}
