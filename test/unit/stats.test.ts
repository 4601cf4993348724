import { describe, expect, it } from "vitest";
import { addCounts, addDelta, addModelUsage, type Counts, emptyCounts, minuteOf } from "../../src/stats/counts.js";
import { latencyBucket, latencyQuantile } from "../../src/stats/latency.js";
import { summarise } from "../../src/stats/summary.js";

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

describe("a summary", () => {
  it("groups refused requests by why, from their status", () => {
    const summary = summarise({
      ...emptyCounts(),
      requests: { "200": 5, "400": 1, "415": 1, "413": 2, "401": 3, "403": 1, "429": 4, "503": 1, "500": 1 },
    });
    expect(summary.rejected_requests).toEqual({ invalid: 2, over_limit: 2, unauthorised: 4, rate_limited: 4, unavailable: 1 });
  });

  it("shows every span counter, zero when nothing was counted", () => {
    expect(summarise(emptyCounts()).spans).toEqual({
      received: 0,
      accepted: 0,
      rejected: { invalid: 0, refused_upstream: 0 },
      delivered: 0,
      retried: 0,
      dead_lettered: 0,
      queued: 0,
      left_queue: 0,
    });
  });
});
