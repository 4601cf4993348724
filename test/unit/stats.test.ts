import { describe, expect, it, type MockInstance, vi } from "vitest";
import { reportMaskedBy } from "../../src/process/mask-usage.js";
import {
  addCounts,
  addDelta,
  addModelUsage,
  type Counts,
  emptyCounts,
  MINUTE_MS,
  MODEL_NAME_LIMIT,
  MODELS_BY_NAME,
  type ModelUsageCounts,
  minuteOf,
  OTHER_MODELS,
  type UpstreamError,
} from "../../src/stats/counts.js";
import { latencyBucket, latencyQuantile } from "../../src/stats/latency.js";
import {
  countRequest,
  countSpans,
  countUpstreamAttempt,
  countUsage,
  restorePendingCounts,
  takePendingCounts,
} from "../../src/stats/recorder.js";
import type { TenantStatsReport } from "../../src/stats/store.js";
import { summarise } from "../../src/stats/summary.js";
import { RedactSchema } from "../../src/tenants/processing-schema.js";

/** A histogram of these latencies, as the recorder builds one. */
function histogramOf(latenciesMs: number[]): Record<string, number> {
  const histogram: Record<string, number> = {};
  for (const ms of latenciesMs) histogram[latencyBucket(ms)] = (histogram[latencyBucket(ms)] ?? 0) + 1;
  return histogram;
}

describe("latency quantiles", () => {
  it("read within 9% above the true quantile, never below it", () => {
    const latencies = Array.from({ length: 1000 }, (_, i) => 2 + i * 3.7);
    const sorted = [...latencies].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      const read = latencyQuantile(histogramOf(latencies), q)!;
      expect(read).toBeGreaterThanOrEqual(Math.floor(exact));
      expect(read).toBeLessThanOrEqual(Math.ceil(exact * 2 ** (1 / 8)));
    }
  });

  it("add up across isolates: two histograms merged read as one of all the attempts", () => {
    const a = [5, 7, 9, 250];
    const b = [6, 8, 300, 4000];
    const merged = addCounts({ ...emptyCounts(), latency: histogramOf(a) }, { ...emptyCounts(), latency: histogramOf(b) }).latency;
    expect(merged).toEqual(histogramOf([...a, ...b]));
    expect(latencyQuantile(merged, 0.5)).toBe(latencyQuantile(histogramOf([...a, ...b]), 0.5));
  });

  it("put a sub-millisecond answer in the lowest bucket, and say nothing for no attempts", () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(1)).toBe(0);
    expect(latencyQuantile(histogramOf([0, 0, 0]), 0.99)).toBe(1);
    expect(latencyQuantile({}, 0.5)).toBeNull();
  });
});

describe("counts", () => {
  const counts = (over: Partial<Counts>): Counts => ({ ...emptyCounts(), ...over });

  it("add up field by field, whatever each side counted", () => {
    const sum = addCounts(
      counts({ spans: { received: 3, delivered: 3 }, requests: { "200": 1 }, upstreamAttempts: 1 }),
      counts({ spans: { received: 2, dead_lettered: 2 }, requests: { "200": 1, "401": 1 }, upstreamAttempts: 2, upstreamErrors: 2 }),
    );
    expect(sum).toEqual(
      counts({
        spans: { received: 5, delivered: 3, dead_lettered: 2 },
        requests: { "200": 2, "401": 1 },
        upstreamAttempts: 3,
        upstreamErrors: 2,
      }),
    );
  });

  it("merge deltas by minute, the later upstream error winning", () => {
    const early = { at: 1_000, status: 503, reason: "busy" };
    const late = { at: 2_000, status: 400, reason: "bad" };
    const merged = addDelta(
      { minutes: { "60000": counts({ requests: { "200": 1 } }) }, lastError: late },
      { minutes: { "60000": counts({ requests: { "200": 2 } }), "120000": counts({ requests: { "429": 1 } }) }, lastError: early },
    );
    expect(merged).toEqual({
      minutes: { "60000": counts({ requests: { "200": 3 } }), "120000": counts({ requests: { "429": 1 } }) },
      lastError: late,
    });
  });

  it("show the upstream error of the delta merged in when it is as late or later, or the other has none", () => {
    const givenBack = { at: 1_000, status: 503, reason: "busy" };
    const sameMillisecond = { at: 1_000, status: 429, reason: "slow down" };
    const later = { at: 2_000, status: 400, reason: "bad" };
    const delta = (lastError?: UpstreamError) => ({ minutes: {}, ...(lastError ? { lastError } : {}) });

    expect(addDelta(delta(givenBack), delta(later)).lastError).toEqual(later);
    // What a failed flush gives back is merged into, and what was counted since merged in: on a tie, that came last.
    expect(addDelta(delta(givenBack), delta(sameMillisecond)).lastError).toEqual(sameMillisecond);
    expect(addDelta(delta(), delta(later)).lastError).toEqual(later);
    expect(addDelta(delta(givenBack), delta()).lastError).toEqual(givenBack);
    // The same error told again, with spans delivered after it in its minute: both counts held.
    expect(addDelta(delta({ ...givenBack, deliveredInItsMinute: 2 }), delta({ ...givenBack, deliveredInItsMinute: 3 })).lastError).toEqual({
      ...givenBack,
      deliveredInItsMinute: 5,
    });
  });

  it("keep the later of two deltas' last delivery times, or the one either has", () => {
    const delta = (lastDeliveredAt?: number) => ({ minutes: {}, ...(lastDeliveredAt === undefined ? {} : { lastDeliveredAt }) });

    expect(addDelta(delta(2_000), delta(1_000)).lastDeliveredAt).toBe(2_000);
    expect(addDelta(delta(1_000), delta(2_000)).lastDeliveredAt).toBe(2_000);
    expect(addDelta(delta(), delta(1_000)).lastDeliveredAt).toBe(1_000);
    expect(addDelta(delta(1_000), delta()).lastDeliveredAt).toBe(1_000);
    expect(addDelta(delta(), delta())).not.toHaveProperty("lastDeliveredAt");
  });

  it("round a time down to its minute", () => {
    expect(minuteOf(Date.UTC(2026, 11, 1, 15, 27, 59, 999))).toBe(Date.UTC(2026, 11, 1, 15, 27));
  });
});

describe("LLM usage by model", () => {
  const call = { calls: 1, prompt_tokens: 10, completion_tokens: 2, cost_usd: 0.5 };

  it("adds up per model, across counts made before usage was kept too", () => {
    const into: Counts = { ...emptyCounts(), usage: { "gpt-4o": call } };
    addCounts(into, { ...emptyCounts(), usage: { "gpt-4o": call, "claude-sonnet-4": call } });
    addCounts(into, emptyCounts());

    expect(into.usage).toEqual({
      "gpt-4o": { calls: 2, prompt_tokens: 20, completion_tokens: 4, cost_usd: 1 },
      "claude-sonnet-4": call,
    });
    expect(addCounts(emptyCounts(), emptyCounts()).usage).toBeUndefined();
  });

  it("holds a sum at the largest number rather than pass it: Infinity would be stored as null, and read back as 0", () => {
    const costly = { calls: 1, prompt_tokens: 1e308, completion_tokens: 2, cost_usd: 1e308 };
    const into: Record<string, typeof call> = {};
    addModelUsage(into, "big", costly);
    addModelUsage(into, "big", costly);

    expect(into.big).toEqual({ calls: 2, prompt_tokens: Number.MAX_VALUE, completion_tokens: 4, cost_usd: Number.MAX_VALUE });
    expect(JSON.parse(JSON.stringify(into)).big.cost_usd).toBe(Number.MAX_VALUE);
  });

  it("takes any model name as a model, __proto__ and constructor included", () => {
    const into: Record<string, typeof call> = {};
    addModelUsage(into, "__proto__", call);
    addModelUsage(into, "__proto__", call);
    addModelUsage(into, "constructor", call);

    expect(Object.getPrototypeOf(into)).toBe(Object.prototype);
    expect(Object.keys(into)).toEqual(["__proto__", "constructor"]);
    expect(JSON.parse(JSON.stringify(into))).toEqual(
      JSON.parse(
        '{"__proto__":{"calls":2,"prompt_tokens":20,"completion_tokens":4,"cost_usd":1},"constructor":{"calls":1,"prompt_tokens":10,"completion_tokens":2,"cost_usd":0.5}}',
      ),
    );
  });
});

describe("LLM usage by model, as the tenant's value rules mask names now", () => {
  const call = { calls: 1, prompt_tokens: 10, completion_tokens: 2, cost_usd: 0.5 };
  const reportWith = (usage: Record<string, ModelUsageCounts>): TenantStatsReport => {
    const summary = summarise({ ...emptyCounts(), usage });
    return {
      ...{ as_of: "2026-12-07T00:00:00.000Z", since: null, waiting_in_queue: 0, last_delivered_at: null, last_upstream_error: null },
      ...{ total: summary, last_5m: summary, last_1h: summary, last_24h: summary },
    };
  };
  const rules = (pattern: string, replacement: string) => RedactSchema.parse({ values: [{ pattern, replacement }] });

  it("joins the names a rule masks alike, in every window, and leaves the relay's own name for the rest alone", () => {
    const report = reportWith({ "ft:acme-one": call, "ft:acme-two": call, "gpt-4o": call, [OTHER_MODELS]: call });
    const masked = reportMaskedBy(report, rules("acme-[a-z]+|other", "[client]"));

    const expected = {
      "ft:[client]": { ...call, calls: 2, prompt_tokens: 20, completion_tokens: 4, cost_usd: 1 },
      "gpt-4o": call,
      [OTHER_MODELS]: call,
    };
    for (const window of [masked.total, masked.last_5m, masked.last_1h, masked.last_24h]) expect(window.llm_usage).toEqual(expected);
  });

  it("leaves the report as counted when no value rule is set", () => {
    const report = reportWith({ "ft:acme-one": call });
    expect(reportMaskedBy(report, RedactSchema.parse({ keys: [{ pattern: "acme", action: "remove" }] }))).toBe(report);
  });
});

describe("LLM usage by model, from spans that make names up", () => {
  const call = { calls: 1, prompt_tokens: 10, completion_tokens: 2, cost_usd: 0.5 };
  const sumOf = (usage: Record<string, ModelUsageCounts>) =>
    Object.values(usage).reduce(
      (sum, u) => ({
        calls: sum.calls + u.calls,
        prompt_tokens: sum.prompt_tokens + u.prompt_tokens,
        completion_tokens: sum.completion_tokens + u.completion_tokens,
        cost_usd: sum.cost_usd + u.cost_usd,
      }),
      { calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 },
    );
  const madeUp = (i: number) => `m${i}-${"x".repeat(2000)}`;
  /** The name a made-up model is kept by: its first characters and an ellipsis. */
  const kept = (i: number) => `${madeUp(i).slice(0, MODEL_NAME_LIMIT - 1)}…`;
  const keptNames = (n: number) => Array.from({ length: n }, (_, i) => kept(i));

  it("keeps a few models by name as they are, a name of the longest kept whole", () => {
    const longest = "a".repeat(MODEL_NAME_LIMIT);
    const into: Record<string, ModelUsageCounts> = {};
    for (const model of ["gpt-4.1-mini", "claude-sonnet-4", longest, "gpt-4.1-mini"]) addModelUsage(into, model, call);

    expect(into).toEqual({
      "gpt-4.1-mini": { calls: 2, prompt_tokens: 20, completion_tokens: 4, cost_usd: 1 },
      "claude-sonnet-4": call,
      [longest]: call,
    });
  });

  it("cuts a longer name to its first characters and an ellipsis, never between the halves of a character", () => {
    const into: Record<string, ModelUsageCounts> = {};
    addModelUsage(into, `${"a".repeat(200)}-one`, call);
    addModelUsage(into, `${"a".repeat(200)}-two`, call);
    addModelUsage(into, `${"b".repeat(MODEL_NAME_LIMIT - 2)}🙂🙂`, call);

    expect(Object.keys(into)).toEqual([`${"a".repeat(MODEL_NAME_LIMIT - 1)}…`, `${"b".repeat(MODEL_NAME_LIMIT - 2)}…`]);
    expect(into[`${"a".repeat(MODEL_NAME_LIMIT - 1)}…`]?.calls).toBe(2);
  });

  it("keeps a character of two halves whole where it ends right at the cut, or comes before it", () => {
    const into: Record<string, ModelUsageCounts> = {};
    addModelUsage(into, `${"c".repeat(MODEL_NAME_LIMIT - 3)}🙂${"c".repeat(10)}`, call);
    addModelUsage(into, `🙂${"d".repeat(200)}`, call);

    expect(Object.keys(into)).toEqual([`${"c".repeat(MODEL_NAME_LIMIT - 3)}🙂…`, `🙂${"d".repeat(MODEL_NAME_LIMIT - 3)}…`]);
  });

  it("keeps at most 50 models by name and the rest together, every call still in the sums", () => {
    const into: Record<string, ModelUsageCounts> = {};
    for (let i = 0; i < 2_000; i++) addModelUsage(into, madeUp(i), call);

    expect(Object.keys(into)).toHaveLength(MODELS_BY_NAME + 1);
    expect(into["(other models)"]?.calls).toBe(2_000 - MODELS_BY_NAME);
    expect(sumOf(into)).toEqual({ calls: 2_000, prompt_tokens: 20_000, completion_tokens: 4_000, cost_usd: 1_000 });
    expect(JSON.stringify(into).length).toBeLessThan(15_000);
  });

  it("names a model used at least as much in place of the least used one, which joins the others", () => {
    const into: Record<string, ModelUsageCounts> = {};
    for (let i = 0; i < MODELS_BY_NAME; i++) addModelUsage(into, madeUp(i), { ...call, calls: 2 });
    addModelUsage(into, madeUp(0), call);
    addModelUsage(into, "rarely-used", call);
    addModelUsage(into, "gpt-5", { ...call, calls: 3 });
    addModelUsage(into, OTHER_MODELS, call);

    const named = Object.keys(into).filter((m) => m !== OTHER_MODELS);
    expect(named).toHaveLength(MODELS_BY_NAME);
    expect(named).toContain("gpt-5");
    expect(named).not.toContain("rarely-used");
    expect(named).not.toContain(kept(1));
    expect(named).toContain(kept(0));
    expect(named).toContain(kept(MODELS_BY_NAME - 1));
    // madeUp(1), the first of the fewest calls, made room: it, rarely-used and what was added as OTHER_MODELS count there.
    expect(into[OTHER_MODELS]).toEqual({ calls: 2 + 1 + 1, prompt_tokens: 30, completion_tokens: 6, cost_usd: 1.5 });
    expect(sumOf(into).calls).toBe(MODELS_BY_NAME * 2 + 1 + 1 + 3 + 1);
  });

  it("keeps every name for a model used less than each named one, which joins the others", () => {
    const into: Record<string, ModelUsageCounts> = {};
    for (let i = 0; i < MODELS_BY_NAME; i++) addModelUsage(into, madeUp(i), { ...call, calls: 2 });
    addModelUsage(into, "rarely-used", call);

    expect(Object.keys(into)).toEqual([...keptNames(MODELS_BY_NAME), OTHER_MODELS]);
    expect(into[OTHER_MODELS]).toEqual(call);
  });

  it("names the models used after a burst of names used once, each in place of the oldest of them", () => {
    const into: Record<string, ModelUsageCounts> = {};
    for (let i = 0; i < MODELS_BY_NAME; i++) addModelUsage(into, madeUp(i), call);
    addModelUsage(into, "gpt-5", call);
    addModelUsage(into, "claude-sonnet-4", call);

    const named = Object.keys(into).filter((m) => m !== OTHER_MODELS);
    expect(named).toHaveLength(MODELS_BY_NAME);
    expect(named).toContain("gpt-5");
    expect(named).toContain("claude-sonnet-4");
    expect(named).not.toContain(kept(0));
    expect(named).not.toContain(kept(1));
    expect(into[OTHER_MODELS]?.calls).toBe(2);
  });

  it("adds another map's other models to its own, never in place of a named model", () => {
    const total: Counts = { ...emptyCounts(), usage: {} };
    for (let i = 0; i < MODELS_BY_NAME; i++) addModelUsage(total.usage!, madeUp(i), { ...call, calls: 2 });
    addCounts(total, { ...emptyCounts(), usage: { [OTHER_MODELS]: { ...call, calls: 5 } } });

    expect(Object.keys(total.usage!)).toEqual([...keptNames(MODELS_BY_NAME), OTHER_MODELS]);
    expect(total.usage![OTHER_MODELS]?.calls).toBe(5);
  });

  it("add up bounded across minutes, isolates and the totals alike", () => {
    const minutes = Array.from({ length: 20 }, (_, m) => {
      const usage: Record<string, ModelUsageCounts> = {};
      for (let i = 0; i < 200; i++) addModelUsage(usage, madeUp(m * 200 + i), call);
      return { ...emptyCounts(), usage };
    });
    const total = minutes.reduce((sum, counts) => addCounts(sum, counts), emptyCounts());

    expect(Object.keys(total.usage ?? {})).toHaveLength(MODELS_BY_NAME + 1);
    expect(sumOf(total.usage ?? {}).calls).toBe(20 * 200);
  });
});

describe("an isolate's counts waiting for a flush", () => {
  const call = { calls: 1, prompt_tokens: 10, completion_tokens: 2, cost_usd: 0.5 };
  const acme = { tenant: "acme", incarnation: "incarnation-1" };

  /**
   * Counts for acme an upstream 503 five seconds into a minute, then runs `rest` with that minute and the
   * clock, which it may move; the clock and a clean slate of pending counts are the test's own.
   */
  function withUpstreamErrorCounted(rest: (minute: number, clock: MockInstance<() => number>) => void): void {
    takePendingCounts();
    const minute = Date.UTC(2026, 11, 1, 15, 27, 0);
    const clock = vi.spyOn(Date, "now").mockReturnValue(minute + 5_000);
    try {
      countUpstreamAttempt(acme, 20, { status: 503, reason: "busy" });
      rest(minute, clock);
    } finally {
      clock.mockRestore();
    }
  }

  it("stay bounded however many long model names requests bring", () => {
    takePendingCounts();
    // One minute's bound is what is checked: the minute turning during the loop (it takes ~0.5 s) would make two.
    const clock = vi.spyOn(Date, "now").mockReturnValue(Date.UTC(2026, 11, 1, 15, 27, 30));
    try {
      for (let request = 0; request < 20; request++)
        countUsage(acme, Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`m${request}-${i}-${"x".repeat(2000)}`, call])));
    } finally {
      clock.mockRestore();
    }

    const pending = takePendingCounts();
    expect(JSON.stringify(pending).length).toBeLessThan(15_000);
    const usage = pending.flatMap(({ delta }) => Object.values(delta.minutes).flatMap((counts) => Object.values(counts.usage ?? {})));
    expect(usage.reduce((sum, u) => sum + u.calls, 0)).toBe(20 * 500);
  });

  it("keep an hour of minutes a failing flush gives back, no more", () => {
    takePendingCounts();
    const now = minuteOf(Date.now());
    const received = { ...emptyCounts(), spans: { received: 1 } };
    restorePendingCounts({
      tenant: "acme",
      delta: {
        minutes: { [now - 90 * MINUTE_MS]: received, [now - 60 * MINUTE_MS]: received, [now - 30 * MINUTE_MS]: received, [now]: received },
      },
    });

    const [restored, ...others] = takePendingCounts();
    expect(others).toEqual([]);
    expect(Object.keys(restored!.delta.minutes).map(Number)).toEqual([now - 30 * MINUTE_MS, now]);
  });

  it("tell the spans delivered after an upstream error in its minute with it, though a flush took the error in between", () => {
    withUpstreamErrorCounted((minute, clock) => {
      countSpans(acme, "delivered", 2);
      const [first] = takePendingCounts();
      clock.mockReturnValue(minute + 30_000);
      countSpans(acme, "delivered", 3);
      const [second] = takePendingCounts();
      // Next minute: what the minutes after the error show, told with no error.
      clock.mockReturnValue(minute + 65_000);
      countSpans(acme, "delivered", 4);
      const [third] = takePendingCounts();

      expect(second!.delta.lastError).toEqual({ at: minute + 5_000, status: 503, reason: "busy", deliveredInItsMinute: 3 });
      expect(third!.delta.lastError).toBeUndefined();
      // As the tenant's object adds them up (laterError): the error once, with all five spans delivered after it in its minute.
      const held = addDelta(addDelta(first!.delta, second!.delta), third!.delta);
      expect(held.lastError).toEqual({ at: minute + 5_000, status: 503, reason: "busy", deliveredInItsMinute: 5 });
    });
  });

  it("give a failed flush's counts back with those counted while it was under way, its upstream error and last delivery kept", () => {
    withUpstreamErrorCounted((minute, clock) => {
      countSpans(acme, "delivered", 2);
      const [taken] = takePendingCounts();
      // Counted while the flush that took the rest waited on the tenant's object, which then failed.
      clock.mockReturnValue(minute + 20_000);
      countSpans(acme, "received", 3);
      restorePendingCounts(taken!);

      const [restored, ...others] = takePendingCounts();
      expect(others).toEqual([]);
      expect(restored!.delta.minutes[String(minute)]).toMatchObject({ spans: { delivered: 2, received: 3 }, upstreamErrors: 1 });
      expect(restored!.delta.lastError).toMatchObject({ at: minute + 5_000, status: 503, reason: "busy" });
      expect(restored!.delta.lastDeliveredAt).toBe(minute + 5_000);
    });
  });

  it("tell with an upstream error only the spans delivered after it in its own minute: later minutes' tell themselves", () => {
    withUpstreamErrorCounted((minute, clock) => {
      countSpans(acme, "delivered", 1);
      clock.mockReturnValue(minute + 65_000);
      countSpans(acme, "delivered", 2);

      const [pending] = takePendingCounts();
      expect(pending!.delta.lastError).toEqual({ at: minute + 5_000, status: 503, reason: "busy", deliveredInItsMinute: 1 });
      expect(pending!.delta.minutes[String(minute + MINUTE_MS)]?.spans).toEqual({ delivered: 2 });
    });
  });

  it("are kept apart by incarnation: a tenant deleted and created again under its id never adds up with its predecessor", () => {
    takePendingCounts();
    const again = { tenant: "acme", incarnation: "incarnation-2" };
    const recordedBeforeIncarnations = { tenant: "acme" };
    countSpans(acme, "queued", 3);
    countRequest(acme, 200, false);
    countSpans(again, "queued", 5);
    countSpans(recordedBeforeIncarnations, "queued", 7);

    const pending = takePendingCounts();
    const queuedBy = (counts: typeof pending) =>
      counts.map(({ tenant, delta }) => [
        tenant,
        delta.incarnation,
        Object.values(delta.minutes).reduce((n, c) => n + (c.spans.queued ?? 0), 0),
      ]);
    expect(queuedBy(pending)).toEqual([
      ["acme", "incarnation-1", 3],
      ["acme", "incarnation-2", 5],
      ["acme", undefined, 7],
    ]);
    // A flush that failed gives each back under its own incarnation, and later counts join the right one.
    for (const counted of pending) restorePendingCounts(counted);
    countSpans(again, "queued", 1);
    expect(queuedBy(takePendingCounts())).toEqual([
      ["acme", "incarnation-1", 3],
      ["acme", "incarnation-2", 6],
      ["acme", undefined, 7],
    ]);
  });
});

describe("a summary", () => {
  it("groups refused and failed requests by why, from their status", () => {
    const summary = summarise({
      ...emptyCounts(),
      requests: { "200": 5, "400": 1, "415": 1, "413": 2, "401": 3, "403": 1, "429": 4, "503": 1, "500": 1 },
    });
    expect(summary.rejected_requests).toEqual({
      invalid: 2,
      over_limit: 2,
      unauthorised: 4,
      rate_limited: 4,
      unavailable: 1,
      misconfigured: 0,
      failed: 1,
    });
  });

  it("tells the 503s of a misconfigured relay from an outage's, in counts added up from isolates and minutes", () => {
    const isolate = { ...emptyCounts(), requests: { "200": 1, "503": 3 }, misconfigured: 2 };
    const another = { ...emptyCounts(), requests: { "503": 2 }, misconfigured: 1 };
    const recordedBeforeMisconfigured = { ...emptyCounts(), requests: { "503": 4 } };

    const sum = [isolate, another, recordedBeforeMisconfigured].reduce((into, c) => addCounts(into, c), emptyCounts());

    expect(sum.requests).toEqual({ "200": 1, "503": 9 });
    expect(summarise(sum).rejected_requests).toMatchObject({ unavailable: 6, misconfigured: 3 });
    expect(summarise(recordedBeforeMisconfigured).rejected_requests).toMatchObject({ unavailable: 4, misconfigured: 0 });
  });

  it("shows every span counter, zero when nothing was counted", () => {
    expect(summarise(emptyCounts()).spans).toEqual({
      received: 0,
      accepted: 0,
      rejected: { invalid: 0, refused_upstream: 0, by_braintrust: 0 },
      delivered: 0,
      retried: 0,
      dead_lettered: 0,
      queued: 0,
      left_queue: 0,
    });
  });
});
