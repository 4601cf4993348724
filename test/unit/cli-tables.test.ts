import { describe, expect, it } from "vitest";
import { lastErrorText, type TenantStats, tenantStatsOutput } from "../../scripts/lib/stats-table.js";
import { dollarsText } from "../../src/console/numbers.js";

describe("the CLI's tables", () => {
  it("show an upstream's last error whole and on one line: its own words, at the end, tell one refusal from another", () => {
    const reason = 'Braintrust answered 400: {"error": "Project archived",\n  "detail": "restore it to send spans before 2026-12-31"}';

    expect(lastErrorText(statsWithError({ at: "2026-12-03T09:00:00.000Z", status: 400, reason, spans_delivered_since: 0 }))).toBe(
      '2026-12-03T09:00:00.000Z 400: Braintrust answered 400: {"error": "Project archived", "detail": "restore it to send spans before 2026-12-31"}',
    );
    expect(lastErrorText(statsWithError(null))).toBe("none");
    // Nor a terminal's control codes: the words are an upstream's.
    expect(
      lastErrorText(
        statsWithError({ at: "2026-12-03T09:00:00.000Z", status: 400, reason: "\u001b[31mred\u001b[0m", spans_delivered_since: 0 }),
      ),
    ).toBe("2026-12-03T09:00:00.000Z 400: \ufffd[31mred\ufffd[0m");
  });

  it("say of an upstream's last error that the tenant got past it, as the console does, so a fixed key's 401 does not read as failing still", () => {
    const error = { at: "2026-12-03T09:00:00.000Z", status: 401, reason: "Braintrust answered 401", spans_delivered_since: 12 };

    expect(lastErrorText(statsWithError(error))).toBe("2026-12-03T09:00:00.000Z (spans delivered since) 401: Braintrust answered 401");
    expect(tenantStatsOutput(statsWithError(error))).toContain(
      "last upstream error         2026-12-03T09:00:00.000Z (spans delivered since) 401: Braintrust answered 401\n",
    );
    // Delivered after it in its own minute by another isolate, which spans_delivered_since does not count: past it all the same.
    const deliveredAfter = { ...statsWithError({ ...error, spans_delivered_since: 0 }), last_delivered_at: "2026-12-03T09:00:40.000Z" };
    expect(lastErrorText(deliveredAfter)).toBe("2026-12-03T09:00:00.000Z (spans delivered since) 401: Braintrust answered 401");
    expect(tenantStatsOutput(deliveredAfter)).toContain("last delivery               2026-12-03T09:00:40.000Z\n");
    const quiet = statsWithError({ ...error, spans_delivered_since: 0 });
    quiet.last_1h = { ...quiet.last_1h, upstream: { ...quiet.last_1h.upstream, errors: 0 } };
    expect(lastErrorText(quiet)).toBe("2026-12-03T09:00:00.000Z (none in the last hour) 401: Braintrust answered 401");
    // Unless spans wait for its retry, which backoff may put hours later: the console calls that failing still.
    expect(lastErrorText({ ...quiet, waiting_in_queue: 3 })).toBe("2026-12-03T09:00:00.000Z 401: Braintrust answered 401");
  });

  it("show a model's cost too small for six places as some, as the console does, not as a call that cost nothing", () => {
    // An embedding of a few tokens: the gateway's cost_in_usd of a golden trace (test/fixtures/gateway-shapes.ts).
    const usageRow = tenantStatsOutput(
      statsWith({ "text-embedding-3-small": { calls: 1, prompt_tokens: 2, completion_tokens: 0, cost_usd: 0.00000004 } }),
    )
      .split("\n")
      .at(-1)!;

    expect(usageRow).toMatch(/^text-embedding-3-small\s+1\s+2\s+0\s+<0\.000001$/);
    expect(usageRow.endsWith(dollarsText(0.00000004))).toBe(true);
  });

  it("show a model the gateway gave no cost for as unpriced, not as calls that cost nothing", () => {
    // TrueFoundry's cost of 0 for a model it has no price for: Braintrust prices those calls by the model's name.
    const rows = tenantStatsOutput(
      statsWith({
        "my-finetune": { calls: 2, prompt_tokens: 30, completion_tokens: 5, cost_usd: 0 },
        "gpt-4o": { calls: 1, prompt_tokens: 10, completion_tokens: 2, cost_usd: 0.00005 },
      }),
    ).split("\n");

    expect(rows.at(-2)).toMatch(/^my-finetune\s+2\s+30\s+5\s+unpriced$/);
    expect(rows.at(-1)).toMatch(/^gpt-4o\s+1\s+10\s+2\s+0\.000050$/);
  });

  it("show a model whose calls had no tokens (the provider refused them) as costing nothing, not as unpriced", () => {
    const row = tenantStatsOutput(statsWith({ "gpt-4o": { calls: 2, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 } }))
      .split("\n")
      .at(-1);

    expect(row).toMatch(/^gpt-4o\s+2\s+0\s+0\s+0\.000000$/);
  });

  it("show a model whose calls had no tokens as costing nothing, counted unpriced before that stopped or not", () => {
    const row = tenantStatsOutput(
      statsWith({ "gpt-4o": { calls: 2, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, unpriced_calls: 2 } }),
    )
      .split("\n")
      .at(-1);

    expect(row).toMatch(/^gpt-4o\s+2\s+0\s+0\s+0\.000000$/);
  });

  it("show a model the gateway priced some calls of with its cost and the calls that cost leaves out", () => {
    const row = tenantStatsOutput(
      statsWith({ "gpt-4o": { calls: 3, prompt_tokens: 30, completion_tokens: 6, cost_usd: 0.5, unpriced_calls: 2 } }),
    )
      .split("\n")
      .at(-1);

    expect(row).toMatch(/^gpt-4o\s+3\s+30\s+6\s+0\.500000 \+ 2 unpriced$/);
  });
});

function statsWith(usage: TenantStats["last_24h"]["llm_usage"]): TenantStats {
  const window = {
    requests: { "200": 1 },
    spans: {
      received: 2,
      accepted: 2,
      rejected: { invalid: 0, refused_upstream: 0, by_braintrust: 0 },
      delivered: 2,
      retried: 0,
      dead_lettered: 0,
    },
    upstream: { errors: 1, latency_ms: { p50: 5, p99: 5 } },
    llm_usage: usage,
  };
  const stats: TenantStats = {
    tenant: "acme",
    as_of: "2026-12-03T12:00:00.000Z",
    waiting_in_queue: 0,
    last_upstream_error: null,
    last_5m: window,
    last_1h: window,
    last_24h: window,
    total: window,
  };
  return stats;
}

function statsWithError(error: TenantStats["last_upstream_error"]): TenantStats {
  return { ...statsWith({}), last_upstream_error: error };
}
