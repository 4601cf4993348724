import { hasColumn } from "../cloudflare/sql-columns.js";
import { addCounts, type Counts, emptyCounts, laterError, MINUTE_MS, minuteOf, type StatsDelta, type UpstreamError } from "./counts.js";
import { type StatsSummary, summarise, summariseTraffic, type TrafficSummary } from "./summary.js";

/** The windows the admin API reports, by name, in minutes. */
const WINDOWS = { last_5m: 5, last_1h: 60, last_24h: 24 * 60 } as const;
export const KEPT_MINUTES = WINDOWS.last_24h;
const HOUR_MS = 60 * MINUTE_MS;

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
  /** When spans were last delivered upstream, as far as the isolates' flushes have told; null when never. */
  last_delivered_at: string | null;
  /**
   * `spans_delivered_since`: spans delivered in the minutes of the last hour after the error's, and those
   * the isolate that counted it delivered after it in its minute (another's in that minute show only in
   * `last_delivered_at`), so that it is behind the tenant.
   */
  last_upstream_error: { at: string; status: number | null; reason: string; spans_delivered_since: number } | null;
  /**
   * The last day (or as many minutes as asked for), one entry per minute that counted anything, oldest
   * first, without usage by model, which the windows sum; left out of the all-tenants overview.
   */
  per_minute?: Array<{ minute: string } & TrafficSummary>;
}

/**
 * A stored row's counts, added up afresh: a row written before usage kept a bounded number of models
 * (counts.ts), as large as SQLite's 2 MB, is then reported and written again within that bound. A
 * minute's row keeps its usage by model in a column of its own (`usage`), so that listing the minute's
 * traffic leaves it unread; a row written before then keeps it among its counts.
 */
function countsOf(stored: string, usage: string | null = null): Counts {
  const counts = JSON.parse(stored) as Counts;
  return addCounts(emptyCounts(), usage === null ? counts : { ...counts, usage: JSON.parse(usage) as Counts["usage"] });
}

function hourOf(minute: number): number {
  return minute - (minute % HOUR_MS);
}

/**
 * Where the day `last_24h` adds up starts, as of minute `current`: the minutes after `after` and
 * before `firstHour` are read from their minutes' rows, the hours from `firstHour` on by the hour (see
 * `day`). So a read past the first sums at most 59 minute rows, 23 hour rows and the hour under way,
 * where the day's 1,440 minute rows might each name 50 models.
 */
function dayOf(current: number): { after: number; firstHour: number } {
  const after = current - KEPT_MINUTES * MINUTE_MS;
  return { after, firstHour: Math.ceil((after + MINUTE_MS) / HOUR_MS) * HOUR_MS };
}

/** Adds counts up in order; a fresh sum. */
function sumOf(counts: Counts[]): Counts {
  return counts.reduce((sum, c) => addCounts(sum, c), emptyCounts());
}

/**
 * One tenant's counts in its Durable Object's SQLite storage: a row per minute for the last day, a
 * row per passed hour of it that a read has summed, and totals since counting began. Each flush is
 * applied in one synchronous step, which the object runs alone, so no two flushes interleave, and an
 * hour's row is always the sum of its minutes'.
 */
export class TenantStatsStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS stats_minutes (minute INTEGER PRIMARY KEY, counts TEXT NOT NULL, usage TEXT)");
    sql.exec("CREATE TABLE IF NOT EXISTS stats_hours (hour INTEGER PRIMARY KEY, counts TEXT NOT NULL)");
    sql.exec(
      "CREATE TABLE IF NOT EXISTS stats_totals (id INTEGER PRIMARY KEY CHECK (id = 0), since INTEGER NOT NULL, counts TEXT NOT NULL, last_error TEXT, last_delivered_at INTEGER)",
    );
    // A store kept before a minute's usage had a column of its own: its minutes keep their usage among
    // their other counts until they are next written, and countsOf reads both.
    if (!hasColumn(sql, "stats_minutes", "usage")) sql.exec("ALTER TABLE stats_minutes ADD COLUMN usage TEXT");
    if (!hasColumn(sql, "stats_totals", "last_delivered_at")) sql.exec("ALTER TABLE stats_totals ADD COLUMN last_delivered_at INTEGER");
    if (!hasColumn(sql, "stats_totals", "queue_settled")) sql.exec("ALTER TABLE stats_totals ADD COLUMN queue_settled INTEGER");
  }

  add(delta: StatsDelta, now: number): void {
    const totals = this.totals();
    let since = totals?.since;
    const total = totals?.counts ?? emptyCounts();
    const hours = new Map<number, Counts>();
    for (const [minuteText, counts] of Object.entries(delta.minutes)) {
      const minute = Number(minuteText);
      since = Math.min(since ?? minute, minute);
      addCounts(total, counts);
      this.addToMinute(minute, counts);
      hours.set(hourOf(minute), addCounts(hours.get(hourOf(minute)) ?? emptyCounts(), counts));
    }
    // An hour gets its row once a read sums it whole (day()); a late flush into it keeps that row its minutes' sum.
    for (const [hour, counts] of hours) {
      const row = this.sql.exec<{ counts: string }>("SELECT counts FROM stats_hours WHERE hour = ?", hour).toArray()[0];
      if (!row) continue;
      const merged = addCounts(countsOf(row.counts), counts);
      this.sql.exec("UPDATE stats_hours SET counts = ? WHERE hour = ?", JSON.stringify(merged), hour);
    }
    const lastError = laterError(totals?.lastError, delta.lastError);
    const lastDeliveredAt = Math.max(totals?.lastDeliveredAt ?? 0, delta.lastDeliveredAt ?? 0) || null;
    this.sql.exec(
      "INSERT OR REPLACE INTO stats_totals (id, since, counts, last_error, last_delivered_at, queue_settled) VALUES (0, ?, ?, ?, ?, ?)",
      since ?? minuteOf(now),
      JSON.stringify(total),
      lastError ? JSON.stringify(lastError) : null,
      lastDeliveredAt,
      totals?.queueSettled ?? null,
    );
    const day = dayOf(minuteOf(now));
    this.sql.exec("DELETE FROM stats_minutes WHERE minute <= ?", day.after);
    this.sql.exec("DELETE FROM stats_hours WHERE hour < ?", day.firstHour);
  }

  /** `perMinuteFor`: how many of the last minutes `per_minute` lists (up to a day); 0 leaves it out. */
  report(now: number, perMinuteFor: number): TenantStatsReport {
    const totals = this.totals();
    const current = minuteOf(now);
    const lastHour = this.minutes(current - WINDOWS.last_1h * MINUTE_MS);
    const windowOf = (length: number) =>
      summarise(sumOf(lastHour.filter((m) => m.minute > current - length * MINUTE_MS).map((m) => m.counts)));
    const total = totals?.counts ?? emptyCounts();
    const lastError = totals?.lastError;
    const day = this.day(current);
    return {
      as_of: new Date(now).toISOString(),
      since: totals ? new Date(totals.since).toISOString() : null,
      total: summarise(total),
      last_5m: windowOf(WINDOWS.last_5m),
      last_1h: windowOf(WINDOWS.last_1h),
      last_24h: summarise(day),
      waiting_in_queue: this.waitingInQueue(total, day, totals?.queueSettled ?? 0),
      last_delivered_at: totals?.lastDeliveredAt ? new Date(totals.lastDeliveredAt).toISOString() : null,
      last_upstream_error: lastError
        ? {
            at: new Date(lastError.at).toISOString(),
            status: lastError.status,
            reason: lastError.reason,
            spans_delivered_since:
              (sumOf(lastHour.filter((m) => m.minute > minuteOf(lastError.at)).map((m) => m.counts)).spans.delivered ?? 0) +
              (lastError.deliveredInItsMinute ?? 0),
          }
        : null,
      ...(perMinuteFor > 0 ? { per_minute: this.traffic(current - perMinuteFor * MINUTE_MS) } : {}),
    };
  }

  /**
   * Spans put on the queue and not yet off it: `queued` less `left_queue`, since the queue was last
   * found empty. The two are counted by different isolates, so a count lost (an isolate evicted before
   * its flush, a flush failing past an hour) would otherwise show spans waiting, or hide as many, for
   * good. A span on the queue is counted again at least every 12 hours (each retry is scheduled, and
   * no delay is longer), so a day without any span queued, retried or leaving the queue means none is
   * on it: what the totals then say is where the count starts from. (Not quite: a consumer that does
   * not run for a day, or the dead-letter queue's day of R2 outage, holds spans unseen; the count is
   * then low until the next such day.)
   */
  private waitingInQueue(total: Counts, day: Counts, settled: number): number {
    const onQueue = (total.spans.queued ?? 0) - (total.spans.left_queue ?? 0);
    const quiet = !day.spans.queued && !day.spans.retried && !day.spans.left_queue;
    if (quiet && onQueue !== settled) {
      this.sql.exec("UPDATE stats_totals SET queue_settled = ? WHERE id = 0", onQueue);
      return 0;
    }
    return Math.max(0, onQueue - settled);
  }

  /** Forgets everything: the tenant was deleted. */
  clear(): void {
    this.sql.exec("DELETE FROM stats_minutes");
    this.sql.exec("DELETE FROM stats_hours");
    this.sql.exec("DELETE FROM stats_totals");
  }

  private addToMinute(minute: number, counts: Counts): void {
    const row = this.sql
      .exec<{ counts: string; usage: string | null }>("SELECT counts, usage FROM stats_minutes WHERE minute = ?", minute)
      .toArray()[0];
    const { usage, ...traffic } = addCounts(row ? countsOf(row.counts, row.usage) : emptyCounts(), counts);
    this.sql.exec(
      "INSERT OR REPLACE INTO stats_minutes (minute, counts, usage) VALUES (?, ?, ?)",
      minute,
      JSON.stringify(traffic),
      usage ? JSON.stringify(usage) : null,
    );
  }

  /** The minutes after `after` and before `before`, oldest first, usage by model included. */
  private minutes(after: number, before = Number.MAX_SAFE_INTEGER): Array<{ minute: number; counts: Counts }> {
    return this.sql
      .exec<{ minute: number; counts: string; usage: string | null }>(
        "SELECT minute, counts, usage FROM stats_minutes WHERE minute > ? AND minute < ? ORDER BY minute",
        after,
        before,
      )
      .toArray()
      .map((row) => ({ minute: row.minute, counts: countsOf(row.counts, row.usage) }));
  }

  /**
   * The last day's counts: the minutes before its first whole hour, then each hour's, from its row
   * when it has one, else from its minutes; an hour that has passed then keeps that sum as its row,
   * so the next read takes one row where it took sixty (an hour without minutes keeps none). The hour
   * under way is summed from its minutes and any after it.
   */
  private day(current: number): Counts {
    const { after, firstHour } = dayOf(current);
    const rows = this.sql.exec<{ hour: number; counts: string }>("SELECT hour, counts FROM stats_hours WHERE hour >= ?", firstHour);
    const kept = new Map(rows.toArray().map((row) => [row.hour, countsOf(row.counts)]));
    const sums = this.minutes(after, firstHour).map((m) => m.counts);
    for (let hour = firstHour; hour <= current; hour += HOUR_MS) {
      let counts = kept.get(hour);
      if (!counts) {
        const passed = hour + HOUR_MS <= current;
        // The hour under way takes the minutes after it too, as last_1h does: those an isolate's clock, ahead of this object's, counted in.
        const minutes = this.minutes(hour - MINUTE_MS, passed ? hour + HOUR_MS : undefined);
        counts = sumOf(minutes.map((m) => m.counts));
        if (minutes.length > 0 && passed) {
          this.sql.exec("INSERT INTO stats_hours (hour, counts) VALUES (?, ?)", hour, JSON.stringify(counts));
        }
      }
      sums.push(counts);
    }
    return sumOf(sums);
  }

  /** The minutes after `after` as `per_minute` lists them, their usage left unread: it is the bulk of a minute's row. */
  private traffic(after: number): Array<{ minute: string } & TrafficSummary> {
    return this.sql
      .exec<{ minute: number; counts: string }>("SELECT minute, counts FROM stats_minutes WHERE minute > ? ORDER BY minute", after)
      .toArray()
      .map((row) => ({ minute: new Date(row.minute).toISOString(), ...summariseTraffic(countsOf(row.counts)) }));
  }

  private totals():
    | {
        since: number;
        counts: Counts;
        lastError: UpstreamError | undefined;
        lastDeliveredAt: number | undefined;
        /** `queued` less `left_queue` when the queue was last found empty (waitingInQueue). */
        queueSettled: number | undefined;
      }
    | undefined {
    const row = this.sql
      .exec<{ since: number; counts: string; last_error: string | null; last_delivered_at: number | null; queue_settled: number | null }>(
        "SELECT since, counts, last_error, last_delivered_at, queue_settled FROM stats_totals WHERE id = 0",
      )
      .toArray()[0];
    if (!row) return undefined;
    return {
      since: row.since,
      counts: countsOf(row.counts),
      lastError: row.last_error ? (JSON.parse(row.last_error) as UpstreamError) : undefined,
      lastDeliveredAt: row.last_delivered_at ?? undefined,
      queueSettled: row.queue_settled ?? undefined,
    };
  }
}
