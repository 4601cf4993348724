import { describe, expect, it } from "vitest";
import type { TenantStats } from "../../src/console/answers.js";
import { concernsOf } from "../../src/console/health.js";
import { LastUpstreamError } from "../../src/console/stats-parts.js";
import { type Counts, emptyCounts } from "../../src/stats/counts.js";
import { summarise } from "../../src/stats/summary.js";

/**
 * A tenant's statistics: its last 5 minutes, its last hour (the last 5 minutes' counts within it), what
 * is queued, its last upstream error and the minutes that delivered a span.
 */
function statsOf(
  last5m: Partial<Counts>,
  options: { earlierInTheHour?: Partial<Counts>; queued?: number; lastError?: string; deliveredIn?: string[] } = {},
): TenantStats {
  const now = { ...emptyCounts(), ...last5m };
  const at = options.lastError;
  const earlier = { ...emptyCounts(), ...options.earlierInTheHour };
  const hour: Counts = {
    ...emptyCounts(),
    spans: { ...now.spans },
    requests: { ...now.requests },
    upstreamAttempts: now.upstreamAttempts + earlier.upstreamAttempts,
    upstreamErrors: now.upstreamErrors + earlier.upstreamErrors,
  };
  return {
    tenant: "acme",
    as_of: "2026-12-03T12:00:00.000Z",
    since: "2026-12-01T00:00:00.000Z",
    total: summarise(hour),
    last_5m: summarise(now),
    last_1h: summarise(hour),
    last_24h: summarise(hour),
    waiting_in_queue: options.queued ?? 0,
    last_delivered_at: (options.deliveredIn ?? []).at(-1) ?? null,
    last_upstream_error: at
      ? {
          at,
          status: 503,
          reason: "Braintrust answered 503",
          // As the tenant's object counts them: a span in each minute after the error's that delivered one.
          spans_delivered_since: (options.deliveredIn ?? []).filter((minute) => minute > at).length,
        }
      : null,
    per_minute: (options.deliveredIn ?? []).map((minute) => ({ minute, ...summarise({ ...emptyCounts(), spans: { delivered: 1 } }) })),
  };
}

const noDeadLetters = { count: 0, more: false };

describe("a tenant's health on the console's overview", () => {
  it("is ok for a tenant delivering, however many errors it had before the last 5 minutes", () => {
    expect(
      concernsOf(
        statsOf({ spans: { delivered: 30 }, upstreamAttempts: 3 }, { earlierInTheHour: { upstreamAttempts: 9, upstreamErrors: 9 } }),
        noDeadLetters,
      ),
    ).toEqual([]);
  });

  it("says Braintrust took nothing when every attempt of the last 5 minutes failed, but not when some delivered", () => {
    expect(concernsOf(statsOf({ upstreamAttempts: 4, upstreamErrors: 4 }), noDeadLetters)).toEqual([
      { level: "bad", text: "Braintrust took nothing in 5 min: 4 attempts failed" },
    ]);
    expect(concernsOf(statsOf({ spans: { delivered: 1 }, upstreamAttempts: 4, upstreamErrors: 3 }), noDeadLetters)).toEqual([]);
  });

  it("says so too between an outage's retries, which backoff puts more than 5 minutes apart: spans wait, the last attempt failed", () => {
    const at = "2026-12-03T11:50:00.000Z";
    const between = statsOf({}, { earlierInTheHour: { upstreamAttempts: 9, upstreamErrors: 9 }, queued: 4, lastError: at });

    expect(concernsOf(between, noDeadLetters)).toEqual([
      { level: "bad", text: "Braintrust took nothing in 5 min: its last attempt failed, and spans wait for the next" },
      { level: "watch", text: "4 spans in the queue" },
    ]);
    // Delivered since the error, longer ago than a retry may wait, or nothing waiting: spans that merely wait.
    const deliveredSince = statsOf(
      {},
      { earlierInTheHour: { upstreamErrors: 1 }, queued: 4, lastError: at, deliveredIn: ["2026-12-03T11:52:00.000Z"] },
    );
    const pastAnyRetry = statsOf({}, { queued: 4, lastError: "2026-12-02T23:59:59.000Z" });
    const nothingWaits = statsOf({}, { earlierInTheHour: { upstreamErrors: 1 }, lastError: at });
    expect(concernsOf(deliveredSince, noDeadLetters)).toEqual([{ level: "watch", text: "4 spans in the queue" }]);
    expect(concernsOf(pastAnyRetry, noDeadLetters)).toEqual([{ level: "watch", text: "4 spans in the queue" }]);
    expect(concernsOf(nothingWaits, noDeadLetters)).toEqual([]);
  });

  it("says so hours after the last attempt while a retry waits out a long backoff (Braintrust's Retry-After, or RETRY_MAX_DELAY_SECONDS, up to 12 h)", () => {
    // No error in the last hour: the retry Braintrust's Retry-After: 7200 put off has not come yet.
    for (const lastError of ["2026-12-03T10:00:00.000Z", "2026-12-03T00:00:00.000Z"]) {
      expect(concernsOf(statsOf({}, { queued: 4, lastError }), noDeadLetters)).toEqual([
        { level: "bad", text: "Braintrust took nothing in 5 min: its last attempt failed, and spans wait for the next" },
        { level: "watch", text: "4 spans in the queue" },
      ]);
    }
  });

  it("names refused requests, dead letters and spans in the queue, worst first", () => {
    const stats = statsOf({ requests: { "200": 5, "401": 2, "429": 1 }, spans: { delivered: 5 } }, { queued: 1 });

    expect(concernsOf(stats, { count: 1000, more: true })).toEqual([
      { level: "bad", text: "3 requests refused in 5 min" },
      { level: "bad", text: "1,000+ dead letters to replay or delete" },
      { level: "watch", text: "1 span in the queue" },
    ]);
  });

  it("names requests refused because the relay is misconfigured apart from the others, first, and says where to look", () => {
    const stats = statsOf({ requests: { "401": 1, "503": 3 }, misconfigured: 2 });

    expect(concernsOf(stats, noDeadLetters)).toEqual([
      { level: "bad", text: "2 requests refused in 5 min because the relay is misconfigured: its log lines (code misconfigured) say how" },
      { level: "bad", text: "2 other requests refused in 5 min" },
    ]);
    expect(concernsOf(statsOf({ requests: { "503": 1 }, misconfigured: 1 }), noDeadLetters)).toEqual([
      { level: "bad", text: "1 request refused in 5 min because the relay is misconfigured: its log lines (code misconfigured) say how" },
    ]);
  });

  it("names spans Braintrust rejected in a partial success, and statistics the tenant's object did not answer for", () => {
    expect(concernsOf(statsOf({ spans: { delivered: 1, rejected_by_braintrust: 2 } }), noDeadLetters)).toEqual([
      { level: "bad", text: "2 spans rejected by Braintrust in 5 min" },
    ]);
    expect(concernsOf(undefined, { count: 1, more: false })).toEqual([
      { level: "bad", text: "statistics unavailable: its Durable Object did not answer" },
      { level: "bad", text: "1 dead letter to replay or delete" },
    ]);
  });

  it("shows a last upstream error muted, saying why, once the last hour had none or spans were delivered in a later minute", async () => {
    const at = "2026-12-03T11:58:30.000Z";
    const shown = async (stats: TenantStats) => String(await LastUpstreamError({ stats }));
    const failed = { upstreamAttempts: 1, upstreamErrors: 1 };

    const current = await shown(statsOf(failed, { lastError: at, deliveredIn: ["2026-12-03T11:58:00.000Z"] }));
    const deliveredSince = await shown(statsOf(failed, { lastError: at, deliveredIn: ["2026-12-03T11:59:00.000Z"] }));
    const longAgo = await shown(statsOf({ spans: { delivered: 3 }, upstreamAttempts: 1 }, { lastError: "2026-12-03T09:00:00.000Z" }));

    // Delivered in the error's own minute says nothing of which came first.
    expect(current).toContain('<span class="last-error">');
    expect(current).not.toContain("(");
    expect(deliveredSince).toContain('<span class="last-error past">');
    expect(deliveredSince).toContain("(spans delivered since) 503: Braintrust answered 503");
    expect(longAgo).toContain('<span class="last-error past">');
    expect(longAgo).toContain("(none in the last hour) 503: Braintrust answered 503");
  });

  it("shows a last upstream error hours old as current while spans wait out a long backoff for its retry, as the health says", async () => {
    const waiting = statsOf({}, { queued: 4, lastError: "2026-12-03T09:00:00.000Z" });
    const shown = String(await LastUpstreamError({ stats: waiting }));

    expect(concernsOf(waiting, noDeadLetters)[0]).toMatchObject({ level: "bad" });
    expect(shown).toContain('<span class="last-error">');
    expect(shown).not.toContain("(");
    // Past any retry's delay, or nothing waiting: behind the tenant.
    for (const behind of [
      statsOf({}, { queued: 4, lastError: "2026-12-02T23:59:59.000Z" }),
      statsOf({}, { lastError: "2026-12-03T09:00:00.000Z" }),
    ])
      expect(String(await LastUpstreamError({ stats: behind }))).toContain("(none in the last hour)");
  });
});
